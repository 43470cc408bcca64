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
