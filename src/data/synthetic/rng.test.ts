import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from './rng.js';

const stream = (seed: number, n: number): number[] => {
  const r = createRng(seed);
  return Array.from({ length: n }, () => r.next());
};

test('the same seed gives the same stream and different seeds give different streams', () => {
  assert.deepEqual(stream(42, 100), stream(42, 100));
  assert.notDeepEqual(stream(42, 100), stream(43, 100));
  assert.notDeepEqual(stream(0, 100), stream(2 ** 31, 100));
});

test('next stays in [0, 1) and is spread evenly over ten bins', () => {
  const xs = stream(7, 20000);
  const bins = new Array<number>(10).fill(0);
  for (const x of xs) {
    assert.ok(x >= 0 && x < 1);
    bins[Math.floor(x * 10)]!++;
  }
  // Expected 2000 per bin; a fair generator stays far inside ±10%.
  for (const b of bins) assert.ok(b > 1800 && b < 2200, `bin count ${b}`);
});

test('int covers both ends of its range and nothing outside it', () => {
  const r = createRng(3);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = r.int(2, 9);
    assert.ok(Number.isInteger(v) && v >= 2 && v <= 9);
    seen.add(v);
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [2, 3, 4, 5, 6, 7, 8, 9]);
  assert.throws(() => r.int(5, 4), RangeError);
});

test('pick reaches every item and refuses an empty list', () => {
  const r = createRng(11);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(r.pick(['a', 'b', 'c']));
  assert.equal(seen.size, 3);
  assert.throws(() => r.pick([]), RangeError);
});
