import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractAnswer } from '../extract.js';
import { generateProblems } from '../synthetic/generate.js';
import { canonicalExpression } from '../synthetic/program.js';
import { splitOf } from '../synthetic/split.js';
import { UserError } from '../../util/errors.js';
import { generateGeneralDocuments } from './general.js';
import { ANSWER_FORMATS, LAYOUTS, PROBLEMS_PER_DOCUMENT, formatSolution, generateMathDocuments } from './math.js';

const docs = generateMathDocuments({ count: 400, seed: 11 });
const problems = docs.flatMap((d) => d.problems);

test('the same seed gives the same math documents, a shorter count a prefix', () => {
  const again = generateMathDocuments({ count: 400, seed: 11 });
  assert.deepEqual(again.map((d) => d.text), docs.map((d) => d.text));
  assert.deepEqual(generateMathDocuments({ count: 40, seed: 11 }).map((d) => d.text), docs.slice(0, 40).map((d) => d.text));
});

test('math documents state several problems in a row, each followed by its solution and exact answer', () => {
  for (const d of docs) {
    assert.ok(d.problems.length >= PROBLEMS_PER_DOCUMENT.min && d.problems.length <= PROBLEMS_PER_DOCUMENT.max, d.id);
    let at = 0;
    for (const p of d.problems) {
      // In order: the question, then its steps, then its final answer line.
      const q = d.text.indexOf(p.question, at);
      assert.ok(q >= at, `${d.id}: question of ${p.id} missing or out of order`);
      at = q + p.question.length;
      for (const line of p.solutionLines) {
        const l = d.text.indexOf(line, at);
        assert.ok(l >= at, `${d.id}: solution line "${line}" missing or out of order`);
        at = l + line.length;
      }
      // The answer line right after the last step, and the project's extractor reads the right number from it.
      const rest = d.text.slice(at).split('\n\n')[0]!;
      const answerLine = rest.split('\n')[1]!;
      assert.match(answerLine, new RegExp(`^(#### ${p.answerValue}|The answer is ${p.answerValue}\\.|Answer: ${p.answerValue}|The final answer is \\\\boxed\\{${p.answerValue}\\}\\.)$`), `${d.id}: ${answerLine}`);
      if (!answerLine.startsWith('####') && !answerLine.startsWith('Answer:')) assert.equal(extractAnswer(answerLine).answer, String(p.answerValue));
    }
  }
});

test('every answer format and layout occurs, \\boxed the rarest format, and some documents mix formats', () => {
  const text = docs.map((d) => d.text).join('\n');
  const counts = {
    gsm8k: (text.match(/^#### \d+$/gm) ?? []).length,
    answerIs: (text.match(/^The answer is \d+\.$/gm) ?? []).length,
    colon: (text.match(/^Answer: \d+$/gm) ?? []).length,
    boxed: (text.match(/^The final answer is \\boxed\{\d+\}\.$/gm) ?? []).length,
  };
  assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), problems.length, JSON.stringify(counts));
  for (const f of ANSWER_FORMATS) assert.ok(counts[f] > 0.08 * problems.length, `${f}: ${counts[f]}`);
  assert.ok(counts.boxed < Math.min(counts.gsm8k, counts.answerIs, counts.colon), JSON.stringify(counts));
  for (const l of LAYOUTS) assert.ok(docs.some((d) => d.kind.startsWith(`${l}/`)), l);
  assert.ok(docs.filter((d) => d.kind.endsWith('/mixed')).length > 40);
});

test('formatSolution writes the steps then the answer in the asked format', () => {
  const p = problems[0]!;
  assert.equal(formatSolution(p, 'gsm8k'), p.answer);
  assert.equal(formatSolution(p, 'boxed'), `${p.solutionLines.join('\n')}\nThe final answer is \\boxed{${p.answerValue}}.`);
});

test('no dev or test problem, nor its computation, appears in either corpus', () => {
  // Every corpus problem is a train problem, each used once.
  for (const p of problems) assert.equal(splitOf(p.program), 'train', p.id);
  assert.equal(new Set(problems.map((p) => p.question)).size, problems.length);
  const corpusExpressions = new Set(problems.map((p) => canonicalExpression(p.program)));
  const mathText = docs.map((d) => d.text).join('\n');
  const generalText = generateGeneralDocuments({ count: 500, seed: 3 }).map((d) => d.text).join('\n');
  // The held-out problems as the demo and the sweeps draw them (seeds 1 and 7), and the pre-registered ones (seed 1).
  for (const split of ['dev', 'test'] as const) {
    for (const seed of [1, 7]) {
      for (const h of generateProblems({ split, count: 300, seed })) {
        assert.ok(!corpusExpressions.has(canonicalExpression(h.program)), `${h.id} poses a corpus problem's computation`);
        assert.ok(!mathText.includes(h.question), `${h.id} is in the math corpus`);
        assert.ok(!generalText.includes(h.question), `${h.id} is in the general corpus`);
      }
    }
  }
});

test('bad math corpus options are refused with the value named', () => {
  assert.throws(() => generateMathDocuments({ count: 1.5, seed: 1 }), (e: unknown) => e instanceof UserError && /count .* 1\.5/.test(e.message));
  assert.throws(() => generateMathDocuments({ count: 1, seed: -1 }), (e: unknown) => e instanceof UserError && /seed/.test(e.message));
});
