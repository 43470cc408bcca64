import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyModelDir } from '../../src/model/testing.js';
import { loadModel } from '../../src/model/load.js';
import { measureTopK } from './measure.js';

test('top-k measurement: k = V changes nothing, a small k changes KL, and counts add up', async () => {
  const expert = await loadModel(tinyModelDir({ hidden: 64, layers: 2 }, 41));
  const amateur = await loadModel(tinyModelDir({ hidden: 32, layers: 1 }, 42));
  const V = expert.config.vocabSize;
  const prompts = ['Ken has 5 apples.', 'Weng earns 12 an hour.', 'Betty has 3 books.'].map((t) => expert.tokenizer.encode(t));
  const r = await measureTopK(expert, amateur, prompts, { plausibilityAlpha: 0.2, beta: 0.05, label: 'contrastive', maxNewTokens: 12, batchSize: 2, ks: [2, V] });
  assert.equal(r.contrastedSteps, 36);
  const [small, all] = r.rows as [typeof r.rows[0], typeof r.rows[0]];
  assert.ok(all.keptExact > 0);
  assert.equal(all.added + all.dropped + all.labelSetChanged, 0);
  assert.ok(all.maxAbsKlError < 1e-5 && all.maxWeightChange < 1e-5);
  assert.ok(small.maxAbsKlError > 1e-3, `k=2 max KL error ${small.maxAbsKlError}`);
  assert.equal(small.keptApprox, small.keptExact + small.added - small.dropped);
});
