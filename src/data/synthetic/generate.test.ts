import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../util/errors.js';
import type { Difficulty } from './difficulty.js';
import { generateProblems, type SyntheticProblem } from './generate.js';
import { canonicalExpression, evaluateProgram, type Operand } from './program.js';
import { splitOf } from './split.js';
import { TEMPLATE_IDS } from './templates/index.js';

/**
 * Facts a reader is expected to know, written out here independently of the generator's lexicon:
 * the word in the question, and the number it stands for.
 */
const KNOWN_FACTS: Readonly<Record<string, number>> = {
  hour: 60, week: 7, dozen: 12, twice: 2, half: 2, 'a third': 3, 'a quarter': 4, 'a fifth': 5, '50%': 2, '25%': 4, '20%': 5,
};

const EQUATION = /(\d+) ([-+*/]) (\d+) = (\d+)/g;

/** The numerals a question states (a percentage's number is a cue, not a quantity). */
function questionNumbers(question: string): number[] {
  return (question.replace(/\d+%/g, '').match(/\d+/g) ?? []).map(Number);
}

/**
 * Check a worked solution from its text alone: every line holds exactly one equation "a op b = c"
 * and no other digits; the arithmetic is right; each operand is a number the question states, an
 * earlier line's result, or a known fact whose word the question uses; every stated number is used;
 * every result but the last is used later; "#### N" is the last result. Returns N.
 */
function checkSolutionText(question: string, answer: string): number {
  const lines = answer.split('\n');
  const final = /^#### (\d+)$/.exec(lines.pop() ?? '');
  assert.ok(final, `last line of the answer is "#### N": ${answer}`);
  assert.ok(lines.length > 0, 'the answer has worked steps');
  const stated = questionNumbers(question);
  const facts = Object.entries(KNOWN_FACTS).filter(([cue]) => question.toLowerCase().includes(cue)).map(([, v]) => v);
  const results: number[] = [];
  const operands: number[] = [];
  for (const line of lines) {
    const eqs = [...line.matchAll(EQUATION)];
    assert.equal(eqs.length, 1, `one equation per line: ${line}`);
    const [whole, as, sym, bs, cs] = eqs[0]!;
    assert.ok(!/\d/.test(line.replace(whole, '')), `no digits outside the equation: ${line}`);
    const [a, b, c] = [Number(as), Number(bs), Number(cs)];
    const expected = sym === '+' ? a + b : sym === '-' ? a - b : sym === '*' ? a * b : a / b;
    assert.equal(c, expected, `arithmetic: ${line}`);
    assert.ok(Number.isInteger(c) && c >= 0, `whole non-negative result: ${line}`);
    for (const x of [a, b]) {
      assert.ok(stated.includes(x) || results.includes(x) || facts.includes(x), `operand ${x} of "${line}" comes from nowhere in: ${question}`);
      operands.push(x);
    }
    results.push(c);
  }
  for (const n of stated) assert.ok(operands.includes(n), `the question's ${n} is never used: ${question}\n${answer}`);
  results.slice(0, -1).forEach((r) => assert.ok(operands.includes(r), `result ${r} is a dead end: ${answer}`));
  assert.equal(Number(final[1]), results[results.length - 1], '#### N is the last result');
  return Number(final[1]);
}

/** The structured program agrees with the text, line by line, and with the stated answer. */
function checkProgram(p: SyntheticProblem): void {
  const value = evaluateProgram(p.program);
  assert.equal(value, p.answerValue);
  assert.equal(p.program.steps.length, p.solutionLines.length);
  assert.equal(p.answer, `${p.solutionLines.join('\n')}\n#### ${p.answerValue}`);
  const results: number[] = [];
  const valueOf = (o: Operand): number => (o.kind === 'step' ? results[o.index]! : o.value);
  p.program.steps.forEach((s, i) => {
    const [, as, , bs, cs] = [...p.solutionLines[i]!.matchAll(EQUATION)][0]!;
    assert.deepEqual([Number(as), Number(bs), Number(cs)], [valueOf(s.left), valueOf(s.right), s.result]);
    for (const o of [s.left, s.right]) {
      if (o.kind === 'given') assert.ok(questionNumbers(p.question).includes(o.value), `given ${o.value} is in the question`);
      if (o.kind === 'fact') {
        assert.equal(KNOWN_FACTS[o.cue], o.value, `fact "${o.cue}" is ${o.value}`);
        assert.ok(p.question.toLowerCase().includes(o.cue), `cue "${o.cue}" is in the question`);
      }
    }
    results.push(s.result);
  });
}

/** The knobs hold for one problem. */
function checkDifficulty(p: SyntheticProblem, d: Difficulty): void {
  const steps = p.program.steps;
  assert.ok(steps.length >= d.minOps && steps.length <= d.maxOps, `${steps.length} steps outside ${d.minOps}-${d.maxOps}`);
  for (const n of p.question.match(/\d+/g) ?? []) assert.ok(Number(n) < 10 ** d.maxDigits, `${n} has more than ${d.maxDigits} digits: ${p.question}`);
  const results: number[] = [];
  const valueOf = (o: Operand): number => (o.kind === 'step' ? results[o.index]! : o.value);
  for (const s of steps) {
    assert.ok(d.ops.includes(s.op), `${s.op} not among ${d.ops.join(',')}`);
    assert.ok(s.result <= d.maxResult, `result ${s.result} above ${d.maxResult}`);
    const [a, b] = [valueOf(s.left), valueOf(s.right)];
    if (s.op === 'mul') {
      assert.ok(Math.min(a, b) <= d.maxMultiplier, `${a} * ${b} has no factor <= ${d.maxMultiplier}`);
      assert.ok(Math.max(a, b) < 10 ** d.maxDigits, `${a} * ${b} has a factor with more than ${d.maxDigits} digits`);
    }
    if (s.op === 'div') {
      assert.ok(b <= d.maxMultiplier, `divisor ${b} above ${d.maxMultiplier}`);
      assert.ok(s.result < 10 ** d.maxDigits, `quotient ${s.result} has more than ${d.maxDigits} digits`);
    }
    results.push(s.result);
  }
  assert.ok(d.templates.includes(p.template));
}

test('the same split, seed and difficulty give identical problems; other seeds give other problems', () => {
  const a = generateProblems({ split: 'train', count: 200, seed: 5 });
  const b = generateProblems({ split: 'train', count: 200, seed: 5 });
  assert.deepEqual(a, b);
  const c = generateProblems({ split: 'train', count: 200, seed: 6 });
  const shared = c.filter((p) => a.some((q) => q.question === p.question)).length;
  assert.ok(shared < 10, `${shared} of 200 questions shared between seeds 5 and 6`);
});

test('a smaller count gives a prefix of a larger one', () => {
  const long = generateProblems({ split: 'dev', count: 120, seed: 9 });
  assert.deepEqual(generateProblems({ split: 'dev', count: 30, seed: 9 }), long.slice(0, 30));
});

test('every worked solution is right, checked from its text and against its program', () => {
  for (const split of ['train', 'test'] as const) {
    for (const p of generateProblems({ split, count: 1500, seed: 21 })) {
      assert.equal(checkSolutionText(p.question, p.answer), p.answerValue, p.question);
      checkProgram(p);
    }
  }
});

test('splits share no question and no computation, whatever the seeds', () => {
  const train = generateProblems({ split: 'train', count: 3000, seed: 1 });
  const dev = generateProblems({ split: 'dev', count: 1000, seed: 1 });
  const test1 = generateProblems({ split: 'test', count: 1000, seed: 1 });
  const test2 = generateProblems({ split: 'test', count: 1000, seed: 2 });
  const all = { train, dev, test: [...test1, ...test2] };
  const owner = new Map<string, string>();
  const exprOwner = new Map<string, string>();
  for (const [split, ps] of Object.entries(all)) {
    for (const p of ps) {
      assert.equal(p.split, split);
      assert.equal(splitOf(p.program), split, 'split membership is a function of the program');
      const o = owner.get(p.question);
      assert.ok(o === undefined || o === split, `question in ${o} and ${split}: ${p.question}`);
      owner.set(p.question, split);
      const e = canonicalExpression(p.program);
      const eo = exprOwner.get(e);
      assert.ok(eo === undefined || eo === split, `computation ${e} in ${eo} and ${split}`);
      exprOwner.set(e, split);
    }
  }
});

test('splits stay disjoint when the settings leave few problems to draw from', () => {
  // One operation on one-digit numbers: only a few hundred computations exist, so seeds collide
  // constantly and only the hash partition keeps test out of train.
  const difficulty = { minOps: 1, maxOps: 1, maxDigits: 1 };
  const train = generateProblems({ split: 'train', count: 400, seed: 1, difficulty });
  const test = generateProblems({ split: 'test', count: 60, seed: 1, difficulty });
  const trainQ = new Set(train.map((p) => p.question));
  const trainE = new Set(train.map((p) => canonicalExpression(p.program)));
  for (const p of test) {
    assert.ok(!trainQ.has(p.question));
    assert.ok(!trainE.has(canonicalExpression(p.program)));
  }
});

test('questions are unique within a generated list, and so are ids', () => {
  const ps = generateProblems({ split: 'train', count: 2000, seed: 3 });
  assert.equal(new Set(ps.map((p) => p.question)).size, ps.length);
  assert.equal(new Set(ps.map((p) => p.id)).size, ps.length);
  assert.match(ps[0]!.id, /^synth-train-3-0$/);
});

test('difficulty knobs are respected and every template contributes', () => {
  const settings: Partial<Difficulty>[] = [
    {},
    { minOps: 1, maxOps: 1 },
    { minOps: 5, maxOps: 5 },
    { maxDigits: 1, maxMultiplier: 5, maxResult: 99 },
    { maxDigits: 3, maxMultiplier: 12, maxResult: 5000 },
    { ops: ['add', 'sub'] },
    { ops: ['mul', 'div'], maxOps: 3 },
    { templates: ['compare'], ops: ['add'], minOps: 3, maxOps: 3 },
    { templates: ['time', 'fraction'] },
  ];
  for (const difficulty of settings) {
    const ps = generateProblems({ split: 'train', count: 300, seed: 4, difficulty });
    const d = { minOps: 2, maxOps: 4, maxDigits: 2, maxMultiplier: 9, maxResult: 999, ops: ['add', 'sub', 'mul', 'div'], templates: [...TEMPLATE_IDS], ...difficulty } as Difficulty;
    for (const p of ps) {
      checkDifficulty(p, d);
      assert.equal(checkSolutionText(p.question, p.answer), p.answerValue);
    }
    const counts = new Set(ps.map((p) => p.program.steps.length));
    for (let n = d.minOps; n <= d.maxOps; n++) assert.ok(counts.has(n), `${JSON.stringify(difficulty)}: no problem with ${n} steps`);
  }
  const mix = generateProblems({ split: 'train', count: 700, seed: 4 });
  for (const id of TEMPLATE_IDS) {
    const n = mix.filter((p) => p.template === id).length;
    assert.ok(n >= 50, `template ${id} gave ${n} of 700 problems`);
  }
  for (const kind of ['add', 'sub', 'mul', 'div']) {
    assert.ok(mix.some((p) => p.program.steps.some((s) => s.op === kind)), `no ${kind} step`);
  }
});

test('the default numbers make carries and borrows, and every default problem has 2-4 steps', () => {
  const ps = generateProblems({ split: 'train', count: 500, seed: 8 });
  let carries = 0;
  let borrows = 0;
  for (const p of ps) {
    for (const line of p.solutionLines) {
      const [, as, sym, bs] = [...line.matchAll(EQUATION)][0]!;
      const [a, b] = [Number(as), Number(bs)];
      if (sym === '+' && (a % 10) + (b % 10) >= 10) carries++;
      if (sym === '-' && a % 10 < b % 10) borrows++;
    }
  }
  assert.ok(carries > 100 && borrows > 100, `carries ${carries}, borrows ${borrows}`);
  assert.ok(ps.every((p) => p.program.steps.length >= 2 && p.program.steps.length <= 4));
});

test('settings that allow no problem fail with a UserError, not a hang', () => {
  assert.throws(
    () => generateProblems({ split: 'train', count: 5, seed: 1, difficulty: { templates: ['fraction'], ops: ['add'] } }),
    (e: unknown) => e instanceof UserError && /made only 0 of 5/.test(e.message),
  );
});

test('bad split, count and seed are refused by name', () => {
  assert.throws(() => generateProblems({ split: 'val' as 'dev', count: 1, seed: 1 }), /split must be one of train, dev, test/);
  assert.throws(() => generateProblems({ split: 'dev', count: -1, seed: 1 }), /count must be/);
  assert.throws(() => generateProblems({ split: 'dev', count: 1, seed: 2 ** 32 }), /seed must be/);
  assert.deepEqual(generateProblems({ split: 'dev', count: 0, seed: 1 }), []);
});
