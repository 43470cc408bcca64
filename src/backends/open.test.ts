import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tinyModelDir } from '../model/testing.js';
import { checkFiniteScores, openModel } from './open.js';
import { EngineBackend } from './engine.js';

const dir = tinyModelDir({ architecture: 'qwen2' }, 2);
after(() => rmSync(dir, { recursive: true, force: true }));

test('the engine back end opens a model directory with its tokenizer, config and stop ids', async () => {
  const m = await openModel({ backend: 'engine', modelDir: dir });
  assert.ok(m.backend instanceof EngineBackend);
  assert.ok(m.engine);
  assert.equal(m.gguf, null);
  assert.deepEqual(m.stopIds, m.engine.stopIds);
  assert.equal(m.backend.vocabSize, m.config.vocabSize);
});

test('combinations that cannot work are refused before anything loads: a GGUF on the engine, an adapter on a given GGUF', async () => {
  await assert.rejects(openModel({ backend: 'engine', modelDir: dir, gguf: 'x.gguf' }), /can only be run by the llama\.cpp back end/);
  await assert.rejects(openModel({ backend: 'llama.cpp', modelDir: dir, gguf: 'x.gguf', adapter: 'lora' }), /--adapter cannot be applied to a given GGUF .* export-gguf --model/);
});

test('a back end whose scores hold NaN or Inf stops with the model, position and token named', async () => {
  const m = await openModel({ backend: 'engine', modelDir: dir });
  const V = m.backend.vocabSize;
  const backend = checkFiniteScores(m.backend, 'llama.cpp x.gguf');
  const good = await backend.stepLogits([1, 2], [3, 4]);
  assert.equal(good.length, 2 * V);
  // The wrapped call returns what the back end computed; poison it as a damaged GGUF would.
  const inner = m.backend.stepLogits;
  const poisoned = checkFiniteScores({ ...m.backend, vocabSize: V, stepLogits: async (p: ArrayLike<number>, g: ArrayLike<number>) => { const out = await inner(p, g); out[V + 5] = NaN; return out; } }, 'llama.cpp x.gguf');
  await assert.rejects(poisoned.stepLogits([1, 2], [3, 4]), /model llama\.cpp x\.gguf produced a NaN score \(token id 5\) at position 2 of a 4-token sequence/);
});
