import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, clipGradNorm, HF_ADAMW_DEFAULTS } from './adamw.js';
import { learningRate } from './schedule.js';

test('AdamW follows the torch update rule (bias-corrected moments, decoupled weight decay)', () => {
  const param = new Float32Array([0.5, -1]), grad = new Float32Array(2);
  const opt = new AdamW([{ name: 'w', param, grad }], { ...HF_ADAMW_DEFAULTS, weightDecay: 0.1 });
  // The same rule written out in float64 with scalars.
  let p = [0.5, -1], m = [0, 0], v = [0, 0];
  const gs = [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.05]];
  gs.forEach((g, t) => {
    grad.set(g);
    opt.step(0.01);
    p = p.map((x, i) => {
      const x1 = x * (1 - 0.01 * 0.1);
      m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
      v[i] = 0.999 * v[i]! + 0.001 * g[i]! ** 2;
      const mh = m[i]! / (1 - 0.9 ** (t + 1)), vh = v[i]! / (1 - 0.999 ** (t + 1));
      return x1 - (0.01 * mh) / (Math.sqrt(vh) + 1e-8);
    });
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(param[i]! - p[i]!) < 1e-6, `step ${t} element ${i}`);
  });
});

test('gradient clipping scales the global norm to the limit and leaves small gradients alone', () => {
  const a = { name: 'a', param: new Float32Array(2), grad: new Float32Array([3, 0]) };
  const b = { name: 'b', param: new Float32Array(1), grad: new Float32Array([4]) };
  assert.equal(clipGradNorm([a, b], 1), 5);
  assert.ok(Math.abs(Math.hypot(a.grad[0]!, a.grad[1]!, b.grad[0]!) - 1) < 1e-5);
  const c = { name: 'c', param: new Float32Array(1), grad: new Float32Array([0.5]) };
  clipGradNorm([c], 1);
  assert.equal(c.grad[0], 0.5);
});

test('linear schedule decays from the base rate to zero after warmup, as get_linear_schedule_with_warmup', () => {
  assert.equal(learningRate('linear', 1, 0, 10), 1);
  assert.equal(learningRate('linear', 1, 5, 10), 0.5);
  assert.equal(learningRate('linear', 1, 10, 10), 0);
  assert.equal(learningRate('linear', 1, 1, 10, 2), 0.5);
  assert.equal(learningRate('linear', 1, 2, 10, 2), 1);
  assert.equal(learningRate('cosine', 1, 5, 10), 0.5);
});
