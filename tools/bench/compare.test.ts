import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compare, describeTarget, median, meetsTarget, summarize } from './compare.js';

test('median takes the middle value of an odd count and the mean of the two middle values of an even count', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), /no values/);
});

test('a tokensPerSecond summary divides each sample\'s tokens by its seconds; a seconds summary keeps the times', () => {
  const samples = [{ seconds: 2, units: 100 }, { seconds: 1, units: 100 }, { seconds: 4, units: 100 }];
  const tps = summarize('tokensPerSecond', samples);
  assert.deepEqual(tps.values, [50, 100, 25]);
  assert.equal(tps.median, 50);
  assert.equal(tps.spread, (100 - 25) / 50);
  assert.equal(summarize('seconds', samples).median, 2);
});

test('time targets are met at or below the ratio, throughput targets at or above it', () => {
  assert.equal(meetsTarget({ kind: 'maxRatio', value: 1.5 }, 1.5), true);
  assert.equal(meetsTarget({ kind: 'maxRatio', value: 1.5 }, 1.51), false);
  assert.equal(meetsTarget({ kind: 'minRatio', value: 1 }, 1), true);
  assert.equal(meetsTarget({ kind: 'minRatio', value: 1 }, 0.99), false);
  assert.equal(describeTarget(null), '-');
});

test('compare reports the ratio of medians, the per-repetition ratios, and no verdict for informational rows', () => {
  const ours = summarize('seconds', [{ seconds: 3, units: 1 }, { seconds: 2, units: 1 }, { seconds: 9, units: 1 }]);
  const base = summarize('seconds', [{ seconds: 1, units: 1 }, { seconds: 2, units: 1 }, { seconds: 3, units: 1 }]);
  const c = compare({ kind: 'maxRatio', value: 1.5 }, ours, base);
  assert.equal(c.ratio, 3 / 2);
  assert.deepEqual(c.pairedRatios, [3, 1, 3]);
  assert.equal(c.pairedMedian, 3);
  assert.equal(c.met, true);
  assert.equal(compare(null, ours, base).met, null);
});

test('a secondsPer1000Records summary scales each sample\'s seconds by 1,000 / its records; questionsPerSecond divides questions by seconds', () => {
  const samples = [{ seconds: 2, units: 200 }, { seconds: 3, units: 100 }];
  assert.deepEqual(summarize('secondsPer1000Records', samples).values, [10, 30]);
  assert.deepEqual(summarize('questionsPerSecond', [{ seconds: 2, units: 8 }]).values, [4]);
});
