import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyModel } from '../model/testing.js';
import { generateGreedy } from '../model/generate.js';
import { stepLogits } from '../model/step-logits.js';
import { EngineBackend } from '../backends/engine.js';
import { scoreTrajectory } from './trajectory.js';
import { ContrastScratch, contrastStep } from './contrast.js';

const expertModel = tinyModel({ vocab: 41, hidden: 32, layers: 2 }, 31);
const amateurModel = tinyModel({ vocab: 41, hidden: 16, layers: 1 }, 32);
const expert = new EngineBackend(expertModel), amateur = new EngineBackend(amateurModel);
const prompt = [3, 17, 8, 22, 5];
const [gen] = generateGreedy(expertModel, [prompt], { maxNewTokens: 12, stopIds: [] });
const generated = gen!.tokens;

test('scoreTrajectory contrasts every step from firstStep on, and keeps exactly the steps with KL >= beta', async () => {
  const all = await scoreTrajectory(expert, amateur, prompt, generated, { plausibilityAlpha: 0.2, beta: 0 });
  assert.deepEqual(all.map((s) => s.step), generated.map((_, t) => t));
  const kls = all.map((s) => s.klDivergence).sort((a, b) => a - b);
  const beta = kls[Math.floor(kls.length / 2)]!;
  const some = await scoreTrajectory(expert, amateur, prompt, generated, { plausibilityAlpha: 0.2, beta, firstStep: 1 });
  assert.equal(some[0]!.step, 1);
  for (const s of some) assert.equal(s.keep, s.klDivergence >= beta);
  assert.ok(some.some((s) => s.keep) && some.some((s) => !s.keep));
});

test('on engine back ends every step is exactly the contrast of the two models\' separately computed logits', async () => {
  const o = { plausibilityAlpha: 0.2, beta: 0.05, firstStep: 1 };
  const got = await scoreTrajectory(expert, amateur, prompt, generated, o);
  const V = 41, s = new ContrastScratch(V);
  const e = stepLogits(expertModel, prompt, generated), a = stepLogits(amateurModel, prompt, generated);
  assert.equal(got.length, generated.length - 1);
  for (const step of got) assert.deepEqual(step, { step: step.step, ...contrastStep(e, step.step * V, a, step.step * V, o, s) });
  assert.ok(got.some((x) => x.keep));
});

test('back ends with different vocabulary sizes cannot be contrasted', async () => {
  const a = new EngineBackend(tinyModel({ vocab: 30 }, 1)), b = new EngineBackend(tinyModel({ vocab: 31 }, 1));
  await assert.rejects(scoreTrajectory(a, b, [1], [2], { plausibilityAlpha: 0.2, beta: 0.4 }), /has 30 ids per distribution but the Amateur .* has 31/);
});

/** The engine, counting its teacher-forced passes. */
class CountingEngine extends EngineBackend {
  passes = 0;
  override stepLogits(promptIds: ArrayLike<number>, generated: ArrayLike<number>): Promise<Float32Array> {
    this.passes++;
    return super.stepLogits(promptIds, generated);
  }
}

test('with the Expert\'s logits from its generation, the Expert runs no teacher-forced pass and every step matches the re-scored one', async () => {
  const e = new CountingEngine(expertModel), a = new CountingEngine(amateurModel);
  const [g] = await e.generateGreedyWithLogits([prompt], { maxNewTokens: 12, stopIds: [] });
  assert.deepEqual(g!.tokens, generated);
  // beta at the median KL, so some steps are kept and some not.
  const kls = (await scoreTrajectory(e, a, prompt, g!.tokens, { plausibilityAlpha: 0.2, beta: 0 })).map((s) => s.klDivergence).sort((x, y) => x - y);
  e.passes = 0;
  a.passes = 0;
  const o = { plausibilityAlpha: 0.2, beta: kls[Math.floor(kls.length / 2)]! + 1e-3 };
  const timing = { expertSeconds: 0, amateurSeconds: 0 };
  const kept = await scoreTrajectory(e, a, prompt, g!.tokens, o, timing, g!.logits);
  assert.equal(e.passes, 0);
  assert.equal(a.passes, 1);
  assert.equal(timing.expertSeconds, 0);
  const rescored = await scoreTrajectory(e, a, prompt, g!.tokens, o);
  assert.equal(e.passes, 1);
  // Cached decoding and one causal pass sum in different orders, so logits agree to float32
  // rounding (~1e-6 relative) and KL and weights to well within 1e-4.
  const close = (x: number, y: number, what: string): void => assert.ok(Math.abs(x - y) <= 1e-4 * Math.max(1, Math.abs(y)), `${what}: ${x} vs ${y}`);
  assert.equal(kept.length, rescored.length);
  kept.forEach((s, t) => {
    const r = rescored[t]!;
    assert.equal(s.step, r.step);
    assert.equal(s.keep, r.keep, `step ${t} kept alike`);
    assert.deepEqual(s.tokenIds, r.tokenIds, `step ${t} plausible set`);
    close(s.klDivergence, r.klDivergence, `step ${t} KL`);
    s.weights.forEach((w, k) => close(w, r.weights[k]!, `step ${t} weight ${k}`));
  });
  assert.ok(kept.some((s) => s.keep) && kept.some((s) => !s.keep));
});

test('Expert logits from generation with the wrong number of rows are refused', async () => {
  await assert.rejects(scoreTrajectory(expert, amateur, prompt, generated, { plausibilityAlpha: 0.2, beta: 0.4 }, undefined, new Float32Array((generated.length - 1) * 41)), /hold 11 rows of 41 for 12 generated tokens/);
});
