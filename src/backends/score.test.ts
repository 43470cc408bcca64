import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyModel } from '../model/testing.js';
import { generateGreedy } from '../model/generate.js';
import { scoreTrajectory } from '../method/trajectory.js';
import { EngineBackend } from './engine.js';
import { scoreTrajectoryOn } from './score.js';

test('scoring on engine back ends gives exactly scoreTrajectory\'s steps (KL, kept steps, soft labels)', async () => {
  const expert = tinyModel({ vocab: 30, hidden: 16, layers: 2 }, 1), amateur = tinyModel({ vocab: 30, hidden: 16, layers: 1 }, 2);
  const prompt = [3, 1, 4, 1, 5];
  const [g] = generateGreedy(expert, [prompt], { maxNewTokens: 10, stopIds: [] });
  const o = { alpha: 0.2, beta: 0.05, firstStep: 1 };
  const want = scoreTrajectory(expert, amateur, prompt, g!.tokens, o);
  const got = await scoreTrajectoryOn(new EngineBackend(expert), new EngineBackend(amateur), prompt, g!.tokens, o);
  assert.deepEqual(got, want);
  assert.ok(got.some((s) => s.keep) && got.length === 9);
});

test('back ends with different vocabulary sizes cannot be contrasted', async () => {
  const a = new EngineBackend(tinyModel({ vocab: 30 }, 1)), b = new EngineBackend(tinyModel({ vocab: 31 }, 1));
  await assert.rejects(scoreTrajectoryOn(a, b, [1], [2], { alpha: 0.2, beta: 0.4 }), /has 30 ids per distribution but the Amateur .* has 31/);
});
