import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContrastScratch, contrastStep } from './contrast.js';

/** The paper's definitions evaluated directly from probabilities in float64. */
function direct(ze: number[], za: number[], alpha: number) {
  const sm = (z: number[]) => { const m = Math.max(...z); const e = z.map((x) => Math.exp(x - m)); const s = e.reduce((a, b) => a + b); return e.map((x) => x / s); };
  const pE = sm(ze), pA = sm(za);
  const kl = pE.reduce((s, p, i) => s + p * Math.log(p / pA[i]!), 0);
  const maxE = Math.max(...pE);
  const V = pE.map((p, i) => (p >= alpha * maxE ? i : -1)).filter((i) => i >= 0);
  const sc = V.map((i) => Math.log(pE[i]!) - Math.log(pA[i]!));
  const m = Math.max(...sc);
  const e = sc.map((x) => Math.exp(x - m)), z = e.reduce((a, b) => a + b);
  return { kl, label: new Map(V.map((id, k) => [id, e[k]! / z])) };
}

test('contrastStep computes KL(pE||pA), the plausible set and the contrastive soft label as defined in the paper', () => {
  const ze = [2.0, 1.6, 0.1, -1, 1.9, -3], za = [2.5, 0.2, 0.3, 0, 0.5, -1];
  const want = direct(ze, za, 0.2);
  const s = new ContrastScratch(6);
  const got = contrastStep(Float32Array.from(ze), 0, Float32Array.from(za), 0, { plausibilityAlpha: 0.2, beta: 0.1 }, s);
  assert.ok(Math.abs(got.klDivergence - want.kl) < 1e-6);
  assert.equal(got.keep, true);
  assert.deepEqual(new Set(got.tokenIds), new Set(want.label.keys()));
  got.tokenIds.forEach((id, k) => assert.ok(Math.abs(got.weights[k]! - want.label.get(id)!) < 1e-6));
  assert.ok(Math.abs(got.weights.reduce((a, b) => a + b) - 1) < 1e-9);
  // Sorted by weight: the token the Amateur underrates most comes first.
  for (let k = 1; k < got.weights.length; k++) assert.ok(got.weights[k - 1]! >= got.weights[k]!);
});

test('steps below beta are rejected and identical distributions have zero divergence', () => {
  const s = new ContrastScratch(4);
  const z = Float32Array.from([1, 2, 3, 4]);
  const same = contrastStep(z, 0, z, 0, { plausibilityAlpha: 0.2, beta: 0 }, s);
  assert.ok(same.klDivergence < 1e-7);
  const r = contrastStep(z, 0, Float32Array.from([4, 3, 2, 1]), 0, { plausibilityAlpha: 0.2, beta: 100 }, s);
  assert.equal(r.keep, false);
  assert.deepEqual(r.tokenIds, []);
});

test('the expert-label ablation renormalises pE on the plausible set', () => {
  const s = new ContrastScratch(4);
  const ze = [3, 2.5, 0, -2];
  const r = contrastStep(Float32Array.from(ze), 0, Float32Array.from([0, 3, 0, 0]), 0, { plausibilityAlpha: 0.3, beta: 0, label: 'expert' }, s);
  const p0 = Math.exp(3), p1 = Math.exp(2.5);
  assert.deepEqual(r.tokenIds, [0, 1]);
  assert.ok(Math.abs(r.weights[0]! - p0 / (p0 + p1)) < 1e-6);
});

test('rows are read at their offsets (several steps in one logits buffer)', () => {
  const s = new ContrastScratch(3);
  const e = Float32Array.from([9, 9, 9, 1, 0, 0]), a = Float32Array.from([7, 7, 7, 0, 0, 1]);
  const r = contrastStep(e, 3, a, 3, { plausibilityAlpha: 0.1, beta: 0 }, s);
  const want = direct([1, 0, 0], [0, 0, 1], 0.1);
  assert.ok(Math.abs(r.klDivergence - want.kl) < 1e-6);
});
