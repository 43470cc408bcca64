import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fnv1a32 } from './hash.js';

test('the hash is an unsigned 32-bit integer that depends on every character', () => {
  const h = fnv1a32('(+12 3)');
  assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32);
  assert.equal(fnv1a32('(+12 3)'), h);
  assert.notEqual(fnv1a32('(+12 4)'), h);
  assert.notEqual(fnv1a32('(+13 3)'), h);
  assert.notEqual(fnv1a32('é'), fnv1a32('e'));
});

test('strings that differ only in their last digit spread evenly over 20 buckets', () => {
  const buckets = new Array<number>(20).fill(0);
  for (let i = 0; i < 20000; i++) buckets[fnv1a32(`(-(*${i} 7) 5)`) % 20]!++;
  for (const b of buckets) assert.ok(b > 850 && b < 1150, `bucket count ${b} (expected about 1000)`);
});
