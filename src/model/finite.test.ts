import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFiniteTensor, firstNonFinite, indexInShape } from './finite.js';
import { UserError } from '../util/errors.js';

test('firstNonFinite finds the first NaN or ±Inf anywhere and passes every finite value, -0 and the largest float32 included', () => {
  const a = new Float32Array(1001).map((_, i) => (i % 2 ? -1 : 1) * 3.4028234663852886e38 * (i % 3 === 0 ? 1 : 1e-45));
  a[7] = -0;
  assert.equal(firstNonFinite(a), -1);
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const at of [0, 500, 1000]) {
      const b = a.slice();
      b[at] = bad;
      b[Math.min(1000, at + 3)] = bad;
      assert.equal(firstNonFinite(b), at);
    }
  }
  assert.equal(firstNonFinite(new Float32Array(0)), -1);
});

test('assertFiniteTensor names the file, the tensor, the value, its index in the shape and the count', () => {
  const d = new Float32Array(12);
  d[7] = NaN;
  d[9] = -Infinity;
  assert.equal(indexInShape(7, [3, 4]), '[1, 3]');
  assert.throws(() => assertFiniteTensor(d, [3, 4], 'w', 'f.safetensors'),
    (e: unknown) => e instanceof UserError && e.message === 'f.safetensors: tensor "w" holds NaN at [1, 3] (2 non-finite values in all); the weights are damaged or overflowed when they were saved');
});
