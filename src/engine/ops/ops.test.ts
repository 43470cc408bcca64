/**
 * Every op's backward against central finite differences of its forward.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkGradient, randomArray, weightedSum } from '../../testing/gradcheck.js';
import { rmsnormBackward, rmsnormForward } from './rmsnorm.js';
import { linearBackward, linearForward } from './linear.js';
import { swigluBackward, swigluForward } from './swiglu.js';
import { embeddingBackward, embeddingForward } from './embedding.js';
import { RotaryTable, applyRotary, inverseFrequencies } from './rope.js';
import { attentionBackward, attentionForward } from './attention.js';
import { logSoftmaxRow, softTargetLoss } from './loss.js';

test('rmsnorm backward matches finite differences for x and the weight', () => {
  const rows = 3, dim = 7, eps = 1e-6;
  const x = randomArray(rows * dim, 1, 2), w = randomArray(dim, 2, 1).map((v) => 1 + 0.5 * v);
  const gy = randomArray(rows * dim, 3);
  const y = new Float32Array(rows * dim), rstd = new Float32Array(rows);
  const loss = (): number => { rmsnormForward(x, w, rows, dim, eps, y, rstd); return weightedSum(y, gy); };
  loss();
  const dx = new Float32Array(rows * dim), dw = new Float32Array(dim);
  rmsnormBackward(gy, x, w, rstd, rows, dim, dx, dw);
  checkGradient('rmsnorm dx', x, dx, loss, { eps: 1e-3 });
  checkGradient('rmsnorm dw', w, dw, loss, { eps: 1e-3 });
});

test('rmsnorm forward equals w * x / sqrt(mean(x^2) + eps) computed directly', () => {
  const x = new Float32Array([1, -2, 3, 0.5]), w = new Float32Array([1, 2, 0.5, -1]);
  const y = new Float32Array(4);
  rmsnormForward(x, w, 1, 4, 1e-6, y, null);
  const ms = (1 + 4 + 9 + 0.25) / 4;
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(y[i]! - (w[i]! * x[i]!) / Math.sqrt(ms + 1e-6)) < 1e-6);
});

test('linear backward matches finite differences for x, W and b', () => {
  const rows = 4, inF = 5, outF = 3;
  const x = randomArray(rows * inF, 4), W = randomArray(outF * inF, 5), b = randomArray(outF, 6);
  const gy = randomArray(rows * outF, 7);
  const y = new Float32Array(rows * outF);
  const loss = (): number => { linearForward(x, rows, inF, W, b, outF, y); return weightedSum(y, gy); };
  const dx = new Float32Array(rows * inF), dW = new Float32Array(outF * inF), db = new Float32Array(outF);
  linearBackward(gy, x, rows, inF, W, outF, dx, false, dW, db);
  checkGradient('linear dx', x, dx, loss);
  checkGradient('linear dW', W, dW, loss);
  checkGradient('linear db', b, db, loss);
});

test('swiglu backward matches finite differences for gate and up', () => {
  const n = 17;
  const g = randomArray(n, 8, 3), u = randomArray(n, 9, 2), ga = randomArray(n, 10);
  const a = new Float32Array(n);
  const loss = (): number => { swigluForward(g, u, a, n); return weightedSum(a, ga); };
  const dg = new Float32Array(n), du = new Float32Array(n);
  swigluBackward(ga, g, u, dg, du, n);
  checkGradient('swiglu dg', g, dg, loss, { eps: 1e-3 });
  checkGradient('swiglu du', u, du, loss, { eps: 1e-3 });
});

test('embedding backward accumulates rows of repeated ids', () => {
  const vocab = 5, dim = 3, ids = [1, 3, 1];
  const table = randomArray(vocab * dim, 11), gy = randomArray(ids.length * dim, 12);
  const out = new Float32Array(ids.length * dim);
  const loss = (): number => { embeddingForward(table, dim, ids, out); return weightedSum(out, gy); };
  const dT = new Float32Array(vocab * dim);
  embeddingBackward(gy, dim, ids, dT);
  checkGradient('embedding', table, dT, loss);
});

test('rotary inverse is the backward of rotary (finite differences) and preserves norms', () => {
  const rows = 3, heads = 2, d = 8;
  const table = new RotaryTable(d, 10000, null);
  const positions = [0, 5, 131];
  const x = randomArray(rows * heads * d, 13), gy = randomArray(rows * heads * d, 14);
  const loss = (): number => { const y = x.slice(); applyRotary(y, rows, heads, positions, table); return weightedSum(y, gy); };
  const dx = gy.slice();
  applyRotary(dx, rows, heads, positions, table, true);
  checkGradient('rope', x, dx, loss);
  const y = x.slice();
  applyRotary(y, rows, heads, positions, table);
  for (let r = 0; r < rows * heads; r++) {
    let a = 0, b = 0;
    for (let i = 0; i < d; i++) { a += x[r * d + i]! ** 2; b += y[r * d + i]! ** 2; }
    assert.ok(Math.abs(a - b) < 1e-5 * a);
  }
});

test('rotary rotates pairs (i, i + d/2) by position times inverse frequency (rotate-half layout)', () => {
  const d = 4, table = new RotaryTable(d, 10000, null);
  const x = new Float32Array([1, 0, 0, 0]); // only component 0 set: pairs with component 2
  applyRotary(x, 1, 1, [3], table);
  const theta0 = 3 * 1; // inverse frequency of pair 0 is theta^0 = 1
  assert.ok(Math.abs(x[0]! - Math.cos(theta0)) < 1e-6);
  assert.ok(Math.abs(x[2]! - Math.sin(theta0)) < 1e-6);
  assert.equal(x[1], 0);
  assert.equal(x[3], 0);
  const inv = inverseFrequencies(8, 10000, null);
  assert.ok(Math.abs(inv[1]! - 1 / 10000 ** (2 / 8)) < 1e-6 * inv[1]!);
});

test('llama3 rope scaling keeps high frequencies, divides low ones by the factor and blends the middle', () => {
  const scaling = { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 };
  const base = inverseFrequencies(32, 500000, null), scaled = inverseFrequencies(32, 500000, scaling);
  for (let i = 0; i < base.length; i++) {
    const wavelen = (2 * Math.PI) / base[i]!;
    if (wavelen < 64 / 4) assert.equal(scaled[i], base[i]);
    else if (wavelen > 64 / 1) assert.ok(Math.abs(scaled[i]! - base[i]! / 8) < 1e-12 + 1e-6 * base[i]!);
    else assert.ok(scaled[i]! < base[i]! && scaled[i]! > base[i]! / 8);
  }
});

test('attention backward matches finite differences for q, k and v (grouped-query, causal)', () => {
  const t = 5, heads = 4, kvHeads = 2, d = 3;
  const shape = { heads, kvHeads, headDim: d };
  const q = randomArray(t * heads * d, 15, 1.5), k = randomArray(t * kvHeads * d, 16, 1.5), v = randomArray(t * kvHeads * d, 17);
  const gy = randomArray(t * heads * d, 18);
  const out = new Float32Array(t * heads * d), probs = new Float32Array(heads * t * t), scratch = new Float32Array(4 * t * t);
  const call = () => ({ q, qRow: 0, t, k, v, kvRow: 0, tk: t, past: 0, out });
  const loss = (): number => { attentionForward(call(), shape, probs, 0, scratch); return weightedSum(out, gy); };
  loss();
  const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
  attentionBackward(call(), shape, probs, 0, { dOut: gy, dq, dk, dv }, scratch);
  checkGradient('attention dq', q, dq, loss, { eps: 1e-3 });
  checkGradient('attention dk', k, dk, loss, { eps: 1e-3 });
  checkGradient('attention dv', v, dv, loss, { eps: 1e-3 });
});

test('attention is causal: a query never sees later keys', () => {
  const t = 4, shape = { heads: 2, kvHeads: 1, headDim: 2 };
  const q = randomArray(t * 4, 19), k = randomArray(t * 2, 20), v = randomArray(t * 2, 21);
  const out1 = new Float32Array(t * 4), out2 = new Float32Array(t * 4), scratch = new Float32Array(2 * t * t);
  attentionForward({ q, qRow: 0, t, k, v, kvRow: 0, tk: t, past: 0, out: out1 }, shape, null, 0, scratch);
  const k2 = k.slice(), v2 = v.slice();
  k2.fill(9, 3 * 2); v2.fill(-9, 3 * 2); // change the last key/value only
  attentionForward({ q, qRow: 0, t, k: k2, v: v2, kvRow: 0, tk: t, past: 0, out: out2 }, shape, null, 0, scratch);
  assert.deepEqual(out1.subarray(0, 3 * 4), out2.subarray(0, 3 * 4));
  assert.notDeepEqual(out1.subarray(3 * 4), out2.subarray(3 * 4));
});

test('one decoding query with a cache equals the last row of full attention', () => {
  const t = 6, shape = { heads: 4, kvHeads: 2, headDim: 3 };
  const q = randomArray(t * 12, 22), k = randomArray(t * 6, 23), v = randomArray(t * 6, 24);
  const full = new Float32Array(t * 12), scratch = new Float32Array(4 * t * t);
  attentionForward({ q, qRow: 0, t, k, v, kvRow: 0, tk: t, past: 0, out: full }, shape, null, 0, scratch);
  const last = new Float32Array(t * 12);
  attentionForward({ q, qRow: t - 1, t: 1, k, v, kvRow: 0, tk: t, past: t - 1, out: last }, shape, null, 0, scratch);
  for (let i = 0; i < 12; i++) assert.ok(Math.abs(last[(t - 1) * 12 + i]! - full[(t - 1) * 12 + i]!) < 1e-6);
});

test('soft-target loss: gradient matches finite differences and cross-entropy is its one-hot case', () => {
  const V = 9;
  const z = randomArray(V, 25, 3);
  const target = { ids: [2, 5, 7], weights: [0.5, 0.3, 0.2] };
  const dz = new Float32Array(V);
  softTargetLoss(z, 0, V, target, 0.7, dz);
  checkGradient('soft target dz', z, dz, () => 0.7 * softTargetLoss(z, 0, V, target, 1, null), { eps: 1e-3 });
  const lp = new Float32Array(V);
  logSoftmaxRow(z, 0, V, lp, 0);
  const kl = target.weights.reduce((s, w, i) => s + w * (Math.log(w) - lp[target.ids[i]!]!), 0);
  assert.ok(Math.abs(softTargetLoss(z, 0, V, target, 1, null) - kl) < 1e-6);
  assert.ok(Math.abs(softTargetLoss(z, 0, V, { ids: [4], weights: [1] }, 1, null) + lp[4]!) < 1e-6);
  assert.throws(() => softTargetLoss(z, 0, V, { ids: [V], weights: [1] }, 1, null), /outside the vocabulary/);
});
