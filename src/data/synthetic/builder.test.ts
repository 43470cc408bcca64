import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgramBuilder, Reject } from './builder.js';
import { resolveDifficulty } from './difficulty.js';

const difficulty = resolveDifficulty({ maxDigits: 2, maxMultiplier: 9, maxResult: 999 });

test('steps write "a op b = c" into their sentence and record the matching program', () => {
  const b = new ProgramBuilder(difficulty);
  const total = b.step('mul', b.given(3), b.given(12), (eq) => `Tom has ${eq} apples.`);
  const left = b.step('sub', total, b.given(5), (eq) => `He keeps ${eq}.`);
  b.step('mul', b.fact(2, 'twice'), left, (eq) => `Ann has ${eq}.`);
  const d = b.finish('test', 'question');
  assert.deepEqual(d.lines, ['Tom has 3 * 12 = 36 apples.', 'He keeps 36 - 5 = 31.', 'Ann has 2 * 31 = 62.']);
  assert.deepEqual(d.program.steps.map((s) => [s.op, s.result]), [['mul', 36], ['sub', 31], ['mul', 62]]);
  assert.deepEqual(d.program.steps[1]!.left, { kind: 'step', index: 0 });
  assert.deepEqual(d.program.steps[2]!.left, { kind: 'fact', value: 2, cue: 'twice' });
});

test('draws that break a limit are rejected', () => {
  const b = new ProgramBuilder(difficulty);
  assert.throws(() => b.given(100), Reject, 'a three-digit number with maxDigits 2');
  assert.throws(() => b.given(1), Reject, 'numbers start at 2');
  assert.throws(() => b.step('div', b.given(37), b.given(4), String), Reject, 'a remainder');
  assert.throws(() => b.step('sub', b.given(9), b.given(12), String), Reject, 'a negative difference');
  assert.throws(() => b.step('sub', b.given(9), b.given(9), String), Reject, 'nothing left');
  assert.throws(() => b.step('mul', b.given(12), b.given(15), String), Reject, 'no factor at most maxMultiplier');
  assert.throws(() => b.step('div', b.given(60), b.given(12), String), Reject, 'divisor above maxMultiplier');
  assert.throws(() => b.step('mul', b.given(9), b.fact(120, 'x'), String), Reject, 'a three-digit factor');
  assert.throws(() => b.step('div', b.fact(200, 'x'), b.given(2), String), Reject, 'a three-digit quotient');
  const wide = new ProgramBuilder(resolveDifficulty({ maxDigits: 3, maxResult: 999 }));
  assert.throws(() => wide.step('mul', wide.given(9), wide.given(120), String), Reject, 'result above maxResult');
  const noMul = new ProgramBuilder(resolveDifficulty({ ops: ['add', 'sub'] }));
  assert.throws(() => noMul.step('mul', noMul.given(2), noMul.given(3), String), Reject, 'operation not allowed');
  assert.equal(b.stepCount, 0, 'rejected steps leave no trace');
});

test('a step whose result is never used is a template bug, not a draw to retry', () => {
  const b = new ProgramBuilder(difficulty);
  b.step('add', b.given(2), b.given(3), String);
  b.step('add', b.given(4), b.given(5), String);
  assert.throws(() => b.finish('test', 'q'), (e: unknown) => !(e instanceof Reject) && /step 0 is never used/.test(String(e)));
});
