import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyModel } from '../model/testing.js';
import { generateGreedy } from '../model/generate.js';
import { stepLogits } from '../model/step-logits.js';
import { EngineBackend } from './engine.js';
import { benchBackend } from './bench.js';

const model = tinyModel({ vocab: 40, hidden: 16, heads: 4, kvHeads: 2, layers: 2, maxPositions: 64 }, 3);
const prompts = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10], [11]];

test('the engine back end returns exactly what generateGreedy and stepLogits return', async () => {
  const b = new EngineBackend(model);
  assert.equal(b.vocabSize, 40);
  assert.equal(b.contextSize, 64);
  const opts = { maxNewTokens: 12, stopIds: [0, 5], batchSize: 2 };
  const gens = await b.generateGreedy(prompts, opts);
  assert.deepEqual(gens, generateGreedy(model, prompts, opts));
  for (let i = 0; i < prompts.length; i++) {
    assert.deepEqual(await b.stepLogits(prompts[i]!, gens[i]!.tokens), stepLogits(model, prompts[i]!, gens[i]!.tokens));
  }
});

test('benchBackend counts generated and scored tokens and reports both rates', async () => {
  const { row, generations } = await benchBackend(new EngineBackend(model), prompts, { maxNewTokens: 6, stopIds: [] });
  assert.equal(row.backend, 'engine');
  assert.equal(row.prompts, 4);
  assert.equal(row.generatedTokens, 24);
  assert.equal(generations.length, 4);
  assert.equal(row.scoredTokens, 11 + 24);
  assert.ok(row.generationTokensPerSecond > 0 && row.scoringTokensPerSecond > 0);
});
