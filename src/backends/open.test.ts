import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tinyModelDir } from '../model/testing.js';
import { openModel } from './open.js';
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
