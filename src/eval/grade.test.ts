import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readQuestions, requireValidQuestions } from '../data/questions.js';
import { UserError } from '../util/errors.js';
import { compareResults, formatComparison, formatSummary, gradePrediction, requireGold, summarizeResults } from './grade.js';
import { summarizeFormats } from './formats.js';
import { gsm8kSkip, gsm8kTest } from '../testing/gsm8k.js';
import type { GoldQuestion } from '../data/questions.js';

// ---------------------------------------------------------------------------------------------
// The grader on every real GSM8K test answer
// ---------------------------------------------------------------------------------------------

const skip = gsm8kSkip;

// Ways a model writes a final answer. `v` is the number as the gold writes it, `c` with thousands separators.
const phrasings: Array<[string, (v: string, c: string) => string]> = [
  ['boxed after reasoning', (v) => `Let me add it up: 9 * 2 = 18 and 18 + 4 = 22.\n\nSo the final result is $\\boxed{${v}}$.`],
  ['"The answer is N."', (v) => `She sells 9 eggs for $2 each.\nThe answer is ${v}.`],
  ['last sentence, number last', (v) => `First 3 + 4 = 7, then 7 * 2 = 14, so in the end she has ${v}.`],
  ['boxed with separators', (_v, c) => `\\boxed{${c}}`],
  ['last number with separators and a unit', (_v, c) => `Adding the 2 parts, the total comes to ${c} dollars.`],
  ['"The answer is $N." with separators', (_v, c) => `The answer is $${c}.`],
  ['boxed \\$', (v) => `\\boxed{\\$${v}}`],
  ['boxed with \\text unit', (v) => `\\boxed{${v} \\text{ dollars}}`],
  ['"The answer is N units."', (v) => `The answer is ${v} apples.`],
  ['boxed with trailing .00', (v) => `\\boxed{${v}.00}`],
  ['GSM8K style with calculator annotations', (v) => `She pays 2 * 3 = <<2*3=6>>6 and in total <<6+1=${v}>>${v}\n#### ${v}`],
];

const separated = (n: number): string => n.toLocaleString('en-US');

test('every GSM8K test answer, written as a model would, grades correct, and a nearby wrong number grades wrong', { skip }, () => {
  const read = readQuestions(gsm8kTest!);
  const questions = requireGold(requireValidQuestions(read), gsm8kTest!);
  assert.equal(questions.length, 1319);
  assert.equal(questions[0]!.gold, '18'); // Janet's ducks
  let checked = 0;
  for (const q of questions) {
    assert.match(q.gold, /^-?\d+$/, `gold of line ${q.line}`);
    const gold = Number(q.gold);
    // The toolkit's tolerance is relative 1e-4, so gold + 1 counts as right above 10,000: step 0.1% away.
    const wrong = gold + Math.max(1, Math.ceil(Math.abs(gold) * 1e-3));
    for (const [name, write] of phrasings) {
      const right = gradePrediction(q, { id: q.id, completion: write(String(gold), separated(gold)) });
      assert.ok(right.correct, `line ${q.line} gold ${q.gold}, ${name}: extracted ${JSON.stringify(right.extracted)} by ${right.extractedBy}`);
      const bad = gradePrediction(q, { id: q.id, completion: write(String(wrong), separated(wrong)) });
      assert.ok(!bad.correct, `line ${q.line} gold ${q.gold}, ${name}: ${wrong} graded correct (extracted ${JSON.stringify(bad.extracted)})`);
      checked += 2;
    }
  }
  assert.equal(checked, 1319 * phrasings.length * 2);
});

test('every GSM8K reference solution, annotations and all, grades correct against its own gold', { skip }, () => {
  const questions = requireGold(requireValidQuestions(readQuestions(gsm8kTest!)), gsm8kTest!);
  const solutions = readFileSync(gsm8kTest!, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { answer: string }).answer);
  assert.equal(solutions.length, questions.length);
  questions.forEach((q, i) => {
    const r = gradePrediction(q, { id: q.id, completion: solutions[i]! });
    assert.ok(r.correct, `line ${q.line}: extracted ${JSON.stringify(r.extracted)}, gold ${q.gold}`);
  });
});

// ---------------------------------------------------------------------------------------------
// Grading, summaries, comparisons
// ---------------------------------------------------------------------------------------------

const q = (id: string, gold: string): GoldQuestion => ({ id, line: 1, question: `question ${id}`, gold });

test('gradePrediction records the extraction, the rule, the gold and the verdict', () => {
  const r = gradePrediction(q('a', '1018'), { id: 'a', completion: 'so 1,000 + 18 = \\boxed{1,018}', completionTokens: 12 });
  assert.deepEqual(r, {
    id: 'a', question: 'question a', completion: 'so 1,000 + 18 = \\boxed{1,018}',
    extracted: '1,018', extractedBy: 'boxed', gold: '1018', correct: true, firstAnswerCorrect: true, completionTokens: 12,
  });
  const none = gradePrediction(q('b', '5'), { id: 'b', completion: 'no idea' });
  assert.equal(none.extracted, null);
  assert.equal(none.correct, false);
  assert.equal('completionTokens' in none, false);
});

test('a doubly braced box is graded as the Qwen2.5-Math toolkit grades it: \\boxed{{7}} is 7', () => {
  const r = gradePrediction(q('a', '7'), { id: 'a', completion: 'So the answer is $\\boxed{{7}}$.' });
  assert.equal(r.extracted, '{7}');
  assert.equal(r.correct, true);
  assert.equal(gradePrediction(q('a', '8'), { id: 'a', completion: '\\boxed{{7}}' }).correct, false);
});

test('gradePrediction honours percentScaling: false', () => {
  assert.equal(gradePrediction(q('a', '75'), { id: 'a', completion: '\\boxed{0.75}' }).correct, true);
  assert.equal(gradePrediction(q('a', '75'), { id: 'a', completion: '\\boxed{0.75}' }, { percentScaling: false }).correct, false);
});

test('requireGold names the lines that have no answer', () => {
  assert.throws(() => requireGold([{ id: 'x', line: 4, question: 'q' }, q('y', '1')], 'test.jsonl'),
    (e: unknown) => e instanceof UserError && /test\.jsonl: 1 of 2 problems have no gold answer/.test(e.message) && /test\.jsonl:4:/.test(e.message));
});

test('summary: accuracy, the Wilson interval of a published case, mean tokens over results that have them', () => {
  // 81 of 263 correct: Newcombe (1998) gives the Wilson interval 0.2553–0.3662.
  const results = Array.from({ length: 263 }, (_, i) => ({ completion: '', correct: i < 81, completionTokens: i % 2 === 0 ? 10 : undefined }));
  const s = summarizeResults(results, { tokens: 500, seconds: 4 });
  assert.equal(s.count, 263);
  assert.equal(s.correct, 81);
  assert.equal(s.accuracy, 81 / 263);
  assert.ok(Math.abs(s.wilson95[0] - 0.2553) < 5e-5 && Math.abs(s.wilson95[1] - 0.3662) < 5e-5);
  assert.equal(s.meanCompletionTokens, 10);
  assert.equal(s.tokensPerSecond, 125);
  const bare = summarizeResults([{ completion: '', correct: true }]);
  assert.equal(bare.meanCompletionTokens, null);
  assert.equal('tokensPerSecond' in bare, false);
});

test('compareResults pairs by id, counts the four cells and runs McNemar on the discordant ones', () => {
  // 5 both right, 2 only A, 10 only B, 3 neither; plus one problem only in A and two only in B.
  const cells: Array<[boolean, boolean, number]> = [[true, true, 5], [true, false, 2], [false, true, 10], [false, false, 3]];
  // A states its answers in prose; B boxes them and stops. Unpaired problems, boxed in both, are left out of the shares.
  type R = { id: string; correct: boolean; completion: string; finish: 'stop' };
  const a: R[] = [];
  const b: R[] = [];
  let k = 0;
  for (const [ra, rb, count] of cells) {
    for (let i = 0; i < count; i++, k++) {
      a.push({ id: `p${k}`, correct: ra, completion: 'The answer is 1.', finish: 'stop' });
      b.push({ id: `p${k}`, correct: rb, completion: '\\boxed{1}', finish: 'stop' });
    }
  }
  a.push({ id: 'onlyInA', correct: true, completion: '\\boxed{1}', finish: 'stop' });
  b.unshift({ id: 'onlyInB1', correct: false, completion: 'The answer is 1.', finish: 'stop' }, { id: 'onlyInB2', correct: true, completion: 'The answer is 1.', finish: 'stop' });
  b.reverse(); // pairing is by id, not by position
  const c = compareResults(a, b);
  assert.deepEqual({ n: c.n, bothCorrect: c.bothCorrect, onlyA: c.onlyA, onlyB: c.onlyB, neither: c.neither, unpairedA: c.unpairedA, unpairedB: c.unpairedB },
    { n: 20, bothCorrect: 5, onlyA: 2, onlyB: 10, neither: 3, unpairedA: 1, unpairedB: 2 });
  assert.equal(c.accuracyA, 7 / 20);
  assert.equal(c.accuracyB, 15 / 20);
  assert.ok(Math.abs(c.difference - 0.4) < 1e-12);
  assert.ok(Math.abs(c.pValue - 158 / 4096) < 1e-12); // 2·P(Bin(12, ½) ≤ 2)
  const text = formatComparison(c, 'base.jsonl', 'tuned.jsonl');
  assert.match(text, /base\.jsonl\s+35\.00% \(7\/20\)/);
  assert.match(text, /tuned\.jsonl\s+75\.00% \(15\/20\)/);
  assert.match(text, /\+40\.00 points over 20 paired problems/);
  assert.match(text, /right only in A: 2\s+right only in B: 10/);
  assert.match(text, /p = 0\.0386 .*significant at 0\.05/);
  assert.match(text, /1 problems only in A and 2 only in B were left out/);
  assert.deepEqual([c.formats.a.boxed, c.formats.b.boxed], [{ count: 0, of: 20, share: 0 }, { count: 20, of: 20, share: 1 }]);
  assert.deepEqual(c.formats.b.wellFormedAccuracy, { count: 15, of: 20, share: 0.75 });
  assert.match(text, /\\boxed\{\} answer\s+0\.00% \(0\/20\)\s+→ 100\.00% \(20\/20\)/);
  assert.match(text, /accuracy when well-formed\s+- \(0\/0\)\s+→ 75\.00% \(15\/20\)/);
});

test('compareResults refuses two result sets with no problem in common', () => {
  assert.throws(() => compareResults([{ id: 'a', correct: true, completion: '' }], [{ id: 'b', correct: true, completion: '' }]), UserError);
});

test('formatSummary shows accuracy, the interval and token figures', () => {
  const formats = summarizeFormats([]);
  const text = formatSummary({ count: 4, correct: 3, accuracy: 0.75, wilson95: [0.3, 0.95], meanCompletionTokens: 212.25, tokensPerSecond: 40, formats });
  assert.match(text, /75\.00% \(3\/4\)\s+95% CI 30\.00% – 95\.00% \(Wilson\)/);
  assert.match(text, /mean 212\.3 per completion\s+40\.0 tokens\/s/);
  assert.doesNotMatch(formatSummary({ count: 1, correct: 1, accuracy: 1, wilson95: [0.2, 1], meanCompletionTokens: null, formats }), /tokens/);
});

test('first answer correct grades the answer of the first answer statement, so a run-on graded wrong on its last box still shows it solved the question', () => {
  const q: GoldQuestion = { id: 'q', line: 1, question: 'Eli has 73 candies and gives 55 away. How many are left?', gold: '18' };
  const grade = (completion: string, finish: 'stop' | 'length' = 'stop') => gradePrediction(q, { id: 'q', completion, finish });
  // Solved, then a new problem answered: the toolkit grades the last box (wrong); the first answer is right.
  const runOn = grade('73 - 55 = 18.\nThe final answer is \\boxed{18}.\n\nA factory builds 7 chairs a day for 4 days. How many chairs?\n7 * 4 = 28.\nThe final answer is \\boxed{28}.');
  assert.deepEqual([runOn.extracted, runOn.correct, runOn.firstAnswerCorrect], ['28', false, true]);
  // Wrong first answer, right by chance later: correct, but not first-answer correct.
  const lucky = grade('73 - 55 = 17.\n#### 17\n\nQuestion: what is 9 + 9?\n9 + 9 = 18\n#### 18');
  assert.deepEqual([lucky.correct, lucky.firstAnswerCorrect], [true, false]);
  // A well-formed right answer is both; no answer statement at all is neither.
  assert.deepEqual([grade('73 - 55 = 18 so \\boxed{18}').correct, grade('73 - 55 = 18 so \\boxed{18}').firstAnswerCorrect], [true, true]);
  const none = grade('73 - 55 = 18 candies are left', 'length');
  assert.deepEqual([none.correct, none.firstAnswerCorrect], [true, false], 'the last-number fallback grades it; there is no answer statement');
  // The share over a run: 2 of these 4 have a right first answer; results without the field are left out of it.
  const s = summarizeResults([runOn, lucky, grade('\\boxed{18}'), none, { correct: true, completion: '\\boxed{18}' }]);
  assert.deepEqual(s.formats.firstAnswerCorrect, { count: 2, of: 4, share: 0.5 });
  assert.match(formatSummary(s), /first answer correct\s+50\.00% \(2\/4\)/);
});
