import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLossWindows, lossWindows } from './loss-windows.js';

test('loss windows never overlap: a 5-step run compares its first 2 steps with its last 2', () => {
  const w = lossWindows([5, 4, 3, 2, 1]);
  assert.deepEqual(w, { lossWindow: 2, firstLoss: 4.5, lastLoss: 1.5 });
  assert.equal(formatLossWindows(w), '4.5000 (first 2 steps) -> 1.5000 (last 2 steps)');
  assert.equal(lossWindows(Array.from({ length: 40 }, (_, i) => i)).lossWindow, 10);
  assert.equal(lossWindows(Array.from({ length: 19 }, (_, i) => i)).lossWindow, 9);
});

test('a single step, and no step, are reported as such', () => {
  assert.equal(formatLossWindows(lossWindows([0.5])), '0.5000 (one step)');
  assert.equal(formatLossWindows(lossWindows([0.5, 0.25])), '0.5000 (first 1 step) -> 0.2500 (last 1 step)');
  const none = lossWindows([]);
  assert.equal(none.lossWindow, 0);
  assert.equal(formatLossWindows(none), 'no step ran');
});
