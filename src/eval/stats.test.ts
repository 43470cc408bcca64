import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mcnemarExact, wilsonInterval } from './stats.js';

test('Wilson intervals match the published table (Newcombe 1998, Table I, method 3)', () => {
  const table: Array<[number, number, number, number]> = [
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0.0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ];
  for (const [x, n, lo, hi] of table) {
    const [l, h] = wilsonInterval(x, n);
    assert.ok(Math.abs(l - lo) < 5e-5, `${x}/${n}: lower ${l} vs ${lo}`);
    assert.ok(Math.abs(h - hi) < 5e-5, `${x}/${n}: upper ${h} vs ${hi}`);
  }
});

test('Wilson endpoints are where the score test is exactly at z: (p̂ − p)² = z² p(1 − p) / n', () => {
  for (const [x, n, z] of [[612, 1319, 1.96], [3, 10, 1.96], [50, 50, 2.576], [7, 1000, 1.645]] as const) {
    const phat = x / n;
    for (const p of wilsonInterval(x, n, z)) {
      const lhs = (phat - p) ** 2;
      const rhs = (z * z * p * (1 - p)) / n;
      assert.ok(Math.abs(lhs - rhs) < 1e-12, `${x}/${n} at p=${p}: ${lhs} vs ${rhs}`);
    }
  }
});

test('Wilson interval ends at exactly 0 or 1 with none or all correct, and is [0, 1] for no data', () => {
  assert.equal(wilsonInterval(0, 20)[0], 0);
  assert.equal(wilsonInterval(20, 20)[1], 1);
  assert.deepEqual(wilsonInterval(0, 0), [0, 1]);
  assert.throws(() => wilsonInterval(5, 4), RangeError);
});

/** Two-sided exact McNemar p from a Pascal's-triangle row in exact BigInt arithmetic. */
function mcnemarBrute(b: number, c: number): number {
  const n = b + c;
  let row = [1n];
  for (let i = 0; i < n; i++) row = row.map((v, j) => v + (j > 0 ? row[j - 1]! : 0n)).concat([1n]);
  const tail = row.slice(0, Math.min(b, c) + 1).reduce((s, v) => s + v, 0n);
  const scale = 10n ** 40n;
  const p = 2 * (Number((tail * scale) / (1n << BigInt(n))) / 1e40);
  return Math.min(1, p);
}

test('McNemar exact p equals a brute-force binomial sum, from tiny to GSM8K-sized discordant counts', () => {
  for (const [b, c] of [[0, 1], [1, 0], [0, 5], [2, 10], [3, 3], [7, 12], [40, 70], [150, 100], [600, 700]] as const) {
    const got = mcnemarExact(b, c);
    const want = mcnemarBrute(b, c);
    assert.ok(Math.abs(got - want) <= 1e-9 * want, `b=${b} c=${c}: ${got} vs ${want}`);
  }
});

test('McNemar exact p matches textbook values and is symmetric in b and c', () => {
  assert.ok(Math.abs(mcnemarExact(2, 10) - 158 / 4096) < 1e-15); // 2·(C(12,0)+C(12,1)+C(12,2))/2¹²
  assert.ok(Math.abs(mcnemarExact(0, 5) - 1 / 16) < 1e-15); // 2·(1/2)⁵
  assert.equal(mcnemarExact(0, 0), 1);
  assert.equal(mcnemarExact(5, 5), 1);
  assert.equal(mcnemarExact(13, 29), mcnemarExact(29, 13));
  assert.throws(() => mcnemarExact(-1, 3), RangeError);
});
