import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parameterCount, parseConfig } from '../../src/model/config.js';
import { benchModel, prepareOurs } from './ours.js';
import { BENCH_MODEL_CONFIG, ROWS } from './spec.js';

const tiny = { ...BENCH_MODEL_CONFIG, vocab_size: 61, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 24 };

test('the bench model is the issue\'s ~4-5M-parameter untied Qwen2', () => {
  const c = parseConfig({ ...BENCH_MODEL_CONFIG }, 'bench');
  assert.equal(c.architecture, 'qwen2');
  assert.equal(c.tieWordEmbeddings, false);
  const n = parameterCount(c);
  assert.ok(n > 4e6 && n < 5e6, `${n} parameters`);
});

test('row ids are unique and every row fits the model\'s context window', () => {
  assert.equal(new Set(ROWS.map((r) => r.id)).size, ROWS.length);
  for (const r of ROWS) {
    const s = r.spec;
    const positions = s.kind === 'generate' ? s.prompt + s.newTokens : s.kind === 'matmul' ? 0 : s.seq;
    assert.ok(positions <= BENCH_MODEL_CONFIG.max_position_embeddings, r.id);
  }
});

test('each of our runners does its row\'s work and reports its units (tokens generated, tokens scored or trained)', () => {
  const model = benchModel(tiny);
  const gen = prepareOurs({ kind: 'generate', batch: 3, prompt: 4, newTokens: 5, seed: 1 }, model)();
  assert.equal(gen.units, 15);
  assert.ok(gen.seconds > 0);
  assert.equal(prepareOurs({ kind: 'score', seq: 9, seed: 2 }, model)().units, 9);
  const train = prepareOurs({ kind: 'train', batch: 2, seq: 7, seed: 3 }, model);
  assert.equal(train().units, 14);
  assert.equal(train().units, 14);
  assert.equal(prepareOurs({ kind: 'matmul', m: 5, n: 3, k: 4, seed: 4 }, model)().units, 1);
});
