import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyOp, canonicalExpression, evaluateProgram, type Program } from './program.js';

const g = (value: number) => ({ kind: 'given' as const, value });
const s = (index: number) => ({ kind: 'step' as const, index });

test('applyOp keeps to non-negative integers', () => {
  assert.equal(applyOp('add', 47, 18), 65);
  assert.equal(applyOp('sub', 65, 9), 56);
  assert.equal(applyOp('sub', 9, 65), null);
  assert.equal(applyOp('mul', 3, 12), 36);
  assert.equal(applyOp('div', 36, 4), 9);
  assert.equal(applyOp('div', 37, 4), null);
  assert.equal(applyOp('div', 5, 0), null);
});

test('evaluateProgram recomputes every step from its operands and returns the last result', () => {
  const p: Program = {
    steps: [
      { op: 'mul', left: g(3), right: g(12), result: 36 },
      { op: 'sub', left: s(0), right: g(5), result: 31 },
      { op: 'div', left: s(1), right: { kind: 'fact', value: 1, cue: 'x' }, result: 31 },
    ],
  };
  assert.equal(evaluateProgram(p), 31);
});

test('evaluateProgram rejects a wrong stored result, a remainder, a negative and a forward reference', () => {
  assert.throws(() => evaluateProgram({ steps: [{ op: 'add', left: g(2), right: g(2), result: 5 }] }), /records 5/);
  assert.throws(() => evaluateProgram({ steps: [{ op: 'div', left: g(7), right: g(2), result: 3 }] }), /not a non-negative integer/);
  assert.throws(() => evaluateProgram({ steps: [{ op: 'sub', left: g(2), right: g(7), result: 0 }] }), /not a non-negative integer/);
  assert.throws(() => evaluateProgram({ steps: [{ op: 'add', left: s(0), right: g(7), result: 7 }] }), /does not come before/);
  assert.throws(() => evaluateProgram({ steps: [] }), /no steps/);
});

test('canonicalExpression ignores operand order of + and *, and the order of independent steps', () => {
  // 3 pens at 4 and 2 books at 5, written in both orders.
  const a: Program = {
    steps: [
      { op: 'mul', left: g(3), right: g(4), result: 12 },
      { op: 'mul', left: g(2), right: g(5), result: 10 },
      { op: 'add', left: s(0), right: s(1), result: 22 },
    ],
  };
  const b: Program = {
    steps: [
      { op: 'mul', left: g(5), right: g(2), result: 10 },
      { op: 'mul', left: g(4), right: g(3), result: 12 },
      { op: 'add', left: s(1), right: s(0), result: 22 },
    ],
  };
  assert.equal(canonicalExpression(a), canonicalExpression(b));
});

test('canonicalExpression tells apart different numbers, operations and operand order of - and /', () => {
  const one = (op: 'add' | 'sub' | 'mul' | 'div', x: number, y: number): string =>
    canonicalExpression({ steps: [{ op, left: g(x), right: g(y), result: 0 }] });
  assert.notEqual(one('add', 12, 3), one('add', 12, 4));
  assert.notEqual(one('add', 12, 3), one('mul', 12, 3));
  assert.notEqual(one('sub', 12, 3), one('sub', 3, 12));
  assert.notEqual(one('div', 12, 3), one('div', 3, 12));
  assert.equal(one('add', 12, 3), one('add', 3, 12));
});
