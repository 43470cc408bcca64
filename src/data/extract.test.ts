import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxedAnswers, extractAnswer, goldFromGsm8kAnswer, lastBoxed, stripCalculatorAnnotations, type ExtractionRule } from './extract.js';

// [completion, expected answer, expected rule] — each row is a way models really end a solution.
const cases: Array<[string, string | null, ExtractionRule | null]> = [
  // boxed, brace matched
  ['So she makes 9 * 2 = $18.\n\\boxed{18}', '18', 'boxed'],
  ['$\\boxed{\\frac{3}{4}}$', '\\frac{3}{4}', 'boxed'],
  ['\\boxed{\\dfrac{1}{\\sqrt{2}}}', '\\dfrac{1}{\\sqrt{2}}', 'boxed'],
  ['nested: \\boxed{\\boxed{5}}', '5', 'boxed'],
  ['first \\boxed{3}, on reflection \\boxed{4}.', '4', 'boxed'],
  ['\\boxed{\\{1, 2\\}}', '\\{1, 2\\}', 'boxed'],
  ['\\boxed { 12 }', '12', 'boxed'],
  ['The answer is $\\boxed 5$.', '5', 'boxed'],
  ['\\boxed 42', '42', 'boxed'],
  ['\\fbox{7}', '7', 'boxed'],
  ['final: boxed{9}', '9', 'boxed'],
  ['\\boxed{18 \\text{ dollars}}', '18 \\text{ dollars}', 'boxed'],
  ['\\boxed{-3}', '-3', 'boxed'],
  ['\\boxed{1,000.}', '1,000', 'boxed'],
  // a box echoed from the instruction, or cut off by the token budget, does not count
  ['put the answer in \\boxed{}. She has 5 apples.', '5', 'last-number'],
  ['so the total is \\boxed{12', '12', 'last-number'],
  ['\\boxed{6} ... wait, \\boxed{', '6', 'boxed'],
  // "The answer is"
  ['The answer is 18.', '18', 'answer-is'],
  ['Step 1: 3 + 4 = 7. The answer is: 7', '7', 'answer-is'],
  ['The final answer is $1,250. Hope it helps, 2 of us.', '$1,250', 'answer-is'],
  ['The answer is 3.5.', '3.5', 'answer-is'],
  ['The answer is -4 degrees.', '-4 degrees', 'answer-is'], // a clause that normalises to a number is kept as written
  ['The answer is 18 dollars per day, or 126 a week.', '18', 'answer-is'],
  ['The answer is \\frac{3}{4} cups.', '\\frac{3}{4} cups', 'answer-is'],
  ['The answer is\n\n42\n\nExplanation: 6 * 7', '42', 'answer-is'],
  ['the answer is 10. Then the answer is 12.', '12', 'answer-is'],
  // "The answer is" with no number falls through to the last number
  ['The answer is below. 6 * 7 = 42', '42', 'last-number'],
  // last number
  ['She has 3 apples and 4 pears, so 7 fruits.', '7', 'last-number'],
  ['In total 1,234,567 people.', '1234567', 'last-number'],
  ['The temperature is -3', '-3', 'last-number'],
  ['Pages 10-15', '15', 'last-number'],
  ['She pays $0.75 each', '0.75', 'last-number'],
  ['that is 3/4 of the cake', '3/4', 'last-number'],
  ['It costs .5 dollars', '.5', 'last-number'],
  ['#### 72', '72', 'last-number'],
  // nothing
  ['I do not know.', null, null],
  ['', null, null],
];

for (const [completion, answer, rule] of cases) {
  test(`extracts ${JSON.stringify(answer)} by ${rule ?? 'no rule'} from ${JSON.stringify(completion)}`, () => {
    assert.deepEqual(extractAnswer(completion), { answer, rule });
  });
}

test('calculator annotations are removed before extraction, so the number after them is the answer', () => {
  assert.equal(stripCalculatorAnnotations('She makes 9 * 2 = $<<9*2=18>>18 every day.'), 'She makes 9 * 2 = $18 every day.');
  assert.deepEqual(extractAnswer('16 - 3 - 4 = <<16-3-4=9>>9 eggs, and 9 * 2 = <<9*2=18>>18'), { answer: '18', rule: 'last-number' });
});

test('lastBoxed skips empty and unclosed boxes and returns null when no box remains', () => {
  assert.equal(lastBoxed('\\boxed{} and \\boxed{'), null);
  assert.equal(lastBoxed('no box'), null);
  assert.equal(lastBoxed('\\boxed{a{b}c}'), 'a{b}c');
});

test('boxedAnswers lists the boxes lastBoxed accepts, in order, each with where it ends', () => {
  const text = 'a \\boxed{} b \\boxed{3} c \\boxed 4$ d \\boxed{\\boxed{5}} e \\boxed{6';
  const after = (s: string): number => text.indexOf(s) + s.length;
  assert.deepEqual(boxedAnswers(text), [
    { answer: '3', end: after('\\boxed{3}') },
    { answer: '4', end: after('\\boxed 4') },
    { answer: '\\boxed{5}', end: after('\\boxed{\\boxed{5}}') },
    { answer: '5', end: after('\\boxed{5}') },
  ]);
});

test('goldFromGsm8kAnswer takes the text after the last #### and removes commas', () => {
  assert.equal(goldFromGsm8kAnswer('Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs.\n#### 18'), '18');
  assert.equal(goldFromGsm8kAnswer('... #### 1,080'), '1080');
  assert.equal(goldFromGsm8kAnswer('#### -3 '), '-3');
  assert.equal(goldFromGsm8kAnswer('no marker, 18'), null);
});
