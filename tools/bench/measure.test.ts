import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureInterleaved, type Side } from './measure.js';

function recorder(log: string[], name: string): Side {
  let n = 0;
  return { name, run: async () => { log.push(name); n++; return { seconds: n, units: 1 }; } };
}

test('sides alternate which goes first, after every side has warmed up', async () => {
  const log: string[] = [];
  const samples = await measureInterleaved([recorder(log, 'a'), recorder(log, 'b')], { warmup: 1, reps: 3, settleMs: 0 });
  assert.deepEqual(log, ['a', 'b', 'a', 'b', 'b', 'a', 'a', 'b']);
  // warm-up samples are not kept: each side's first timed sample is its second run
  assert.deepEqual(samples.map((s) => s.map((x) => x.seconds)), [[2, 3, 4], [2, 3, 4]]);
});

test('the idle settle time is spent before each timed repetition', async () => {
  const t0 = performance.now();
  await measureInterleaved([recorder([], 'a')], { warmup: 0, reps: 2, settleMs: 30 });
  assert.ok(performance.now() - t0 >= 55);
});
