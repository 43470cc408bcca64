import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { stripCalculatorAnnotations } from '../data/extract.js';
import { gsm8kSkip, gsm8kTest } from '../testing/gsm8k.js';
import { completionFormat, firstAnswerEnd, formatFormatChange, formatFormatSummary, startsNewProblem, summarizeFormats, type Finish, type FormatInput } from './formats.js';

// Hand-made completions, each with the format it must be read as:
// [what it is, completion, finish, boxed, runs on, stops after the answer, hits the budget, well-formed]
type Row = [string, string, Finish | null, boolean, boolean, boolean | null, boolean | null, boolean | null];
const rows: Row[] = [
  ['boxed, stops', 'Step 1: 3 + 4 = 7.\n\\boxed{7}', 'stop', true, false, true, false, true],
  ['boxed, then a new "Question:" that it answers', '3 + 4 = 7, so \\boxed{7}.\n\nQuestion: Tom has 5 pens and buys 2 more. How many pens does he have?\nAnswer: 5 + 2 = \\boxed{7}', 'stop', true, true, false, false, false],
  ['cut by the budget mid-sentence', 'Let me think. 3 + 4 = 7, then 7 * 2 = 1', 'length', false, false, false, true, false],
  ['a box cut by the budget', 'so the total is \\boxed{12', 'length', false, false, false, true, false],
  ['"The answer is 7." only', 'The answer is 7.', 'stop', false, false, true, false, false],
  ['no answer at all', 'I do not know how to solve this.', 'stop', false, false, false, false, false],
  ['an empty box echoed from the instruction is no answer', 'Put it in \\boxed{}. So 3 + 4 = 7', 'stop', false, false, false, false, false],
  ['boxed, finish not recorded', '\\boxed{7}', null, true, false, null, null, null],
  ['#### then "Problem 2." until the context window', '4 * 3 = 12\n#### 12\n\nProblem 2. A farmer has 3 cows and buys 4. How many cows', 'context', false, true, false, true, false],
  ['"Answer:" then a new chat turn', 'Answer: 12 apples\nuser\nWhat is 2 + 3', 'stop', false, true, false, false, false],
  ['"the answer is" then a new question ending in "?"', 'The answer is 9. Sam has 4 apples and eats one; how many are left?', 'stop', false, true, false, false, false],
  ['boxed, then a remark that starts no problem', '\\boxed{7}\n\nThis problem was about addition.', 'stop', true, false, true, false, true],
  ['a question before the answer is not a run-on', 'Question: how many in all? 3 + 4 = 7.\n\\boxed{7}', 'stop', true, false, true, false, true],
  ['"Q3." after the answer', 'The final answer is $12.\nQ3. Mia reads 10 pages a day', 'length', false, true, false, true, false],
  ['the chat turn as raw text', '\\boxed{5}<|im_end|>\n<|im_start|>user\nAnother one', 'stop', true, true, false, false, false],
];

test('each hand-made completion is read as the format it has', () => {
  for (const [what, completion, finish, boxed, runsOn, stops, budget, wellFormed] of rows) {
    const f = completionFormat(completion, finish);
    assert.deepEqual(
      { boxed: f.boxed, runsOn: f.runsOn, stopsAfterAnswer: f.stopsAfterAnswer, hitsBudget: f.hitsBudget, wellFormed: f.wellFormed },
      { boxed, runsOn, stopsAfterAnswer: stops, hitsBudget: budget, wellFormed },
      what,
    );
  }
});

test('the answer statement ends after the first box, the "answer is" sentence, or the #### / Answer: line', () => {
  assert.equal(firstAnswerEnd('so \\boxed{7}. Done'), 'so \\boxed{7}'.length);
  assert.equal(firstAnswerEnd('The answer is 7. Then more'), 'The answer is 7.'.length);
  assert.equal(firstAnswerEnd('The answer is 7\nnext line'), 'The answer is 7'.length);
  assert.equal(firstAnswerEnd('The answer is below. The answer is 3.5.'), 'The answer is below. The answer is 3.5.'.length);
  assert.equal(firstAnswerEnd('The answer is \\boxed{4}. Next'), 'The answer is \\boxed{4}.'.length);
  assert.equal(firstAnswerEnd('x\n#### 1,200\nQuestion'), 'x\n#### 1,200'.length);
  assert.equal(firstAnswerEnd('x\n**Answer:** 5 cats\nmore'), 'x\n**Answer:** 5 cats'.length);
  assert.equal(firstAnswerEnd('Answer: none of these'), null);
  assert.equal(firstAnswerEnd('3 + 4 = 7'), null);
});

test('a new problem starts with a problem header, a chat turn or a question; other text does not', () => {
  for (const rest of ['\n\nQuestion 2: Jo has', '\n## Problem\nA', '\n**Exercise 4.** Find', '\nQ: Who', '\n2. Question: x', '\nUser: next', '\nhuman\nhi', 'Is it right? Yes.', ' How many are "left?"']) {
    assert.equal(startsNewProblem(rest), true, JSON.stringify(rest));
  }
  for (const rest of ['', '.', '\n\nThis problem was easy.', '\nQuestions like this are common', '\nThe user wanted 7.', '\nQuick check: 3 + 4 = 7.', '\n\\boxed{7}', 'https://x.org/a?b=1']) {
    assert.equal(startsNewProblem(rest), false, JSON.stringify(rest));
  }
});

// The summary over the rows: correctness chosen so that accuracy when well-formed is not 0 or 1.
const correct = new Set([0, 1, 4, 11]);
const inputs: FormatInput[] = rows.map(([, completion, finish], i) => ({ completion, finish, correct: correct.has(i) }));

test('the shares over a run count each category exactly, over the completions whose finish is known', () => {
  const s = summarizeFormats(inputs);
  assert.equal(s.completions, 15);
  assert.equal(s.finishKnown, 14);
  // boxed: rows 0, 1, 7, 11, 12, 14; runs on: 1, 8, 9, 10, 13, 14; stops after the answer: 0, 4, 11, 12;
  // hits the budget: 2, 3, 8, 13; well-formed: 0, 11, 12, of which 0 and 11 are correct.
  assert.deepEqual(s.boxed, { count: 6, of: 15, share: 6 / 15 });
  assert.deepEqual(s.runsOn, { count: 6, of: 15, share: 6 / 15 });
  assert.deepEqual(s.stopsAfterAnswer, { count: 4, of: 14, share: 4 / 14 });
  assert.deepEqual(s.hitsBudget, { count: 4, of: 14, share: 4 / 14 });
  assert.deepEqual(s.wellFormed, { count: 3, of: 14, share: 3 / 14 });
  assert.deepEqual(s.wellFormedAccuracy, { count: 2, of: 3, share: 2 / 3 });
});

test('with no finish reason and no completions the shares that need them are empty, not zero', () => {
  const s = summarizeFormats([{ completion: '\\boxed{1}', correct: true }]);
  assert.deepEqual([s.boxed.share, s.stopsAfterAnswer, s.wellFormedAccuracy], [1, { count: 0, of: 0, share: null }, { count: 0, of: 0, share: null }]);
  assert.match(formatFormatSummary(s), /stops after the answer\s+- \(0\/0\)/);
  assert.match(formatFormatSummary(s), /the finish reason was not recorded/);
  assert.equal(summarizeFormats([]).boxed.share, null);
});

test('the printout gives each share with its count, and a comparison shows before → after', () => {
  const s = summarizeFormats(inputs);
  const text = formatFormatSummary(s, '  ');
  assert.match(text, /^ {2}\\boxed\{\} answer\s+40\.00% \(6\/15\)$/m);
  assert.match(text, /^ {2}stops after the answer\s+28\.57% \(4\/14\)$/m);
  assert.match(text, /^ {2}runs on into a new problem\s+40\.00% \(6\/15\)$/m);
  assert.match(text, /^ {2}hits the token budget\s+28\.57% \(4\/14\)$/m);
  assert.match(text, /^ {2}well-formed \(boxed, stops\)\s+21\.43% \(3\/14\)$/m);
  assert.match(text, /^ {2}accuracy when well-formed\s+66\.67% \(2\/3\)$/m);
  assert.match(text, /finish reason is known for 14 of 15 completions/);
  const after = summarizeFormats(inputs.map((r) => ({ ...r, completion: '\\boxed{7}', finish: 'stop' })));
  const change = formatFormatChange(s, after);
  assert.match(change, /^runs on into a new problem\s+40\.00% \(6\/15\) +→ 0\.00% \(0\/15\)$/m);
  assert.match(change, /^accuracy when well-formed\s+66\.67% \(2\/3\) +→ 26\.67% \(4\/15\)$/m);
  assert.match(change, /\(A: the finish reason is known for 14 of 15/);
  assert.doesNotMatch(change, /\(B:/);
});

test('on real GSM8K solutions: each stops after its #### answer, and runs on when the next problem follows', { skip: gsm8kSkip }, () => {
  const rows = readFileSync(gsm8kTest!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { question: string; answer: string });
  let bare = 0;
  rows.forEach((r, i) => {
    const solution = r.answer, next = rows[(i + 1) % rows.length]!.question, id = `line ${i + 1}`;
    const alone = completionFormat(solution, 'stop');
    assert.ok(alone.stopsAfterAnswer && !alone.runsOn && alone.answerEnd === stripCalculatorAnnotations(solution).trimEnd().length, `${id}: ${solution.slice(-80)}`);
    assert.equal(completionFormat(`${solution}\n\nQuestion: ${next}`, 'stop').runsOn, true, id);
    // With no header, only a question mark gives the next problem away (the limit the README states).
    const runsOn = completionFormat(`${solution}\n\n${next}`, 'stop').runsOn;
    assert.equal(runsOn, /\?/.test(next), `${id}: ${next}`);
    if (runsOn) bare++;
  });
  assert.ok(bare > 0.9 * rows.length, `${bare} of ${rows.length} bare next questions end in "?"`);
});
