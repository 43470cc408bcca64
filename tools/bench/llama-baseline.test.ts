/**
 * The llama.cpp baseline of `npm run bench`: it runs the weights our side runs, and its rows count
 * the tokens they do. Skipped, saying why, when node-llama-cpp is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { INSTALL_HINT, nodeLlamaCppAvailable } from '../../src/backends/node-llama-cpp.js';
import { loadModelDir } from '../../src/model/model-dir.js';
import { testTempDir } from '../../src/testing/tmp.js';
import { startLlamaCppBaseline, writeBenchModelDir } from './llama-baseline.js';
import { benchModel } from './ours.js';
import { BENCH_MODEL_CONFIG, type BenchRow } from './spec.js';

const tiny = { ...BENCH_MODEL_CONFIG, vocab_size: 400, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2, intermediate_size: 48 };
const skip = (await nodeLlamaCppAvailable()) ? false : `node-llama-cpp is not installed (\`${INSTALL_HINT}\`)`;

test('the model directory llama.cpp is exported from holds exactly the weights of our bench model', () => {
  const dir = writeBenchModelDir(join(testTempDir('lr-bench-model-'), 'm'), tiny);
  const loaded = loadModelDir(dir);
  const ours = benchModel(tiny);
  assert.equal(loaded.config.vocabSize, ours.config.vocabSize);
  assert.deepEqual(loaded.params.embed, ours.params.embed);
  assert.deepEqual(loaded.params.lmHead, ours.params.lmHead);
  assert.deepEqual(loaded.params.layers[0]!.q_proj.weight, ours.params.layers[0]!.q_proj.weight);
  assert.ok(existsSync(join(dir, 'tokenizer.json')));
});

test('llama.cpp runs the back-end rows and counts generated and scored tokens; it refuses other rows', { skip }, async () => {
  const b = await startLlamaCppBaseline({ threads: 1, parallel: 2 });
  assert.ok(!('missing' in b), 'missing' in b ? b.missing : '');
  try {
    assert.equal(b.info.threads, 1);
    const gen: BenchRow = { id: 'g', title: 'g', metric: 'tokensPerSecond', target: null, baseline: 'llama.cpp', spec: { kind: 'backend-generate', batch: 2, prompt: 3, newTokens: 4, seed: 1 } };
    const score: BenchRow = { id: 's', title: 's', metric: 'tokensPerSecond', target: null, baseline: 'llama.cpp', spec: { kind: 'backend-score', sequences: 2, prompt: 3, continuation: 5, seed: 2 } };
    await b.prepare(gen, tiny);
    await b.prepare(score, tiny);
    assert.equal((await b.run('g')).units, 8);
    assert.equal((await b.run('s')).units, 16);
    await assert.rejects(b.prepare({ ...gen, id: 'x', spec: { kind: 'score', seq: 4, seed: 1 } }, tiny), /backend-generate and backend-score rows, not score/);
    await assert.rejects(b.run('never-prepared'), /not prepared/);
  } finally {
    await b.close();
  }
});
