import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tinyModelDir } from './testing.js';
import { loadModel, modelFingerprint } from './load.js';
import { resolveModelDir } from './resolve.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { packSequences } from './transformer.js';
import { testTempDir } from '../testing/tmp.js';
import { UserError } from '../util/errors.js';

const dir = tinyModelDir({ architecture: 'qwen2' }, 5);
const root = testTempDir('lr-load-');
after(() => rmSync(dir, { recursive: true, force: true }));

function rejectsUser(p: Promise<unknown>, ...parts: string[]): Promise<void> {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    for (const s of parts) assert.ok(e.message.includes(s), `message ${JSON.stringify(e.message)} should mention ${JSON.stringify(s)}`);
    return true;
  });
}

test('loadModel returns config, params, tokenizer, generation settings, stop ids and fingerprint; weights: false skips the weights', async () => {
  const lm = await loadModel(dir);
  assert.equal(lm.ref, dir);
  assert.equal(lm.dir, dir);
  assert.equal(lm.adapterDir, null);
  assert.equal(lm.params, lm.model.params);
  assert.equal(lm.config, lm.model.config);
  assert.equal(lm.fingerprint, modelFingerprint(dir));
  assert.ok(lm.stopIds.length > 0 && lm.stopIds.every((id) => id < lm.config.vocabSize));
  assert.deepEqual(lm.generation, lm.loaded.generation);
  assert.equal(lm.model.name, dir);
  const info = await loadModel(dir, { weights: false });
  assert.ok(!('model' in info));
  assert.deepEqual(info.stopIds, lm.stopIds);
  assert.equal(info.fingerprint, lm.fingerprint);
  assert.deepEqual(info.config.raw, lm.config.raw);
});

test('a missing model is reported as a missing model, never as a missing tokenizer directory', async () => {
  const nope = join(root, 'no-such-model');
  await rejectsUser(loadModel(nope), `model '${nope}' not found: no such directory`, resolve(nope));
  await rejectsUser(loadModel(nope, { what: 'Expert model' }), `Expert model '${nope}' not found`);
  await rejectsUser(loadModel(nope, { weights: false }), 'not found: no such directory');
  await assert.rejects(loadModel(nope), (e: unknown) => !(e as Error).message.includes('tokenizer'));
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  await rejectsUser(resolveModelDir(file), `model '${file}' is not a directory`);
  await rejectsUser(resolveModelDir(''), 'model reference is empty');
  assert.equal(await resolveModelDir(dir), dir);
});

test('a tokenizer with more ids than the model is refused once, for the engine and config-only loads alike', async () => {
  const small = join(root, 'small-vocab');
  cpSync(dir, small, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(small, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(small, 'config.json'), JSON.stringify({ ...cfg, vocab_size: 3 }));
  for (const weights of [true, false]) {
    await rejectsUser(weights ? loadModel(small) : loadModel(small, { weights: false }), small, 'the tokenizer has', "vocab_size is 3", 'does not belong to this model');
  }
});

test('a model whose weights produce NaN stops at the forward with the model and position named', async () => {
  const bad = join(root, 'nan-through-overflow');
  cpSync(dir, bad, { recursive: true });
  // Finite weights whose product overflows float32: the load-time scan passes, the logits are Inf/NaN.
  const tensors = readSafetensors(join(bad, 'model.safetensors'));
  tensors.get('model.norm.weight')!.data.fill(3e38);
  tensors.get('lm_head.weight')!.data.fill(3e38);
  writeSafetensors(join(bad, 'model.safetensors'), [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })), { dtype: 'F32' });
  const lm = await loadModel(bad);
  assert.throws(() => lm.model.forward(packSequences([[1, 2, 3], [4, 5]]), { logitRows: 'all' }),
    (e: unknown) => e instanceof UserError && e.message.includes(`model ${bad}`) && /logit \(token id \d+\) at position 0 of sequence 0/.test(e.message));
});

test('FIFOs in place of config.json, the weights, tokenizer files or a question file are refused instead of blocking', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { rmSync: rm } = await import('node:fs');
  const probe = join(root, 'fifo-probe');
  if (spawnSync('mkfifo', [probe]).status !== 0) {
    t.skip('mkfifo is not available');
    return;
  }
  for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'chat_template.jinja']) {
    const d = join(root, `fifo-${file}`);
    cpSync(dir, d, { recursive: true });
    rm(join(d, file), { force: true });
    assert.equal(spawnSync('mkfifo', [join(d, file)]).status, 0);
    await rejectsUser(loadModel(d), join(d, file), 'not a regular file');
  }
  const { readQuestions } = await import('../data/questions.js');
  assert.throws(() => readQuestions(probe), (e: unknown) => e instanceof UserError && e.message.includes('not a regular file'));
});

test('a FIFO in place of an adapter file is refused instead of blocking', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const adapter = join(root, 'fifo-adapter');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(adapter);
  if (spawnSync('mkfifo', [join(adapter, 'adapter_config.json')]).status !== 0) {
    t.skip('mkfifo is not available');
    return;
  }
  await rejectsUser(loadModel(dir, { adapter }), join(adapter, 'adapter_config.json'), 'not a regular file');
});

test('an adapter holding a tensor it does not use is refused, naming the tensor; a clean one loads', async () => {
  const { createLoraAdapter, loraTensors } = await import('./lora.js');
  const { saveAdapter } = await import('./adapter-dir.js');
  const base = await loadModel(dir);
  const adapter = createLoraAdapter(base.model, { r: 2, loraAlpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'] }, 3);
  const clean = join(root, 'adapter-clean');
  saveAdapter(clean, adapter, { baseModel: dir });
  assert.equal((await loadModel(dir, { adapter: clean })).adapterDir, clean);
  const extra = join(root, 'adapter-extra');
  saveAdapter(extra, adapter, { baseModel: dir });
  writeSafetensors(join(extra, 'adapter_model.safetensors'), [...loraTensors(adapter), { name: 'base_model.model.lm_head.weight', shape: [2], data: new Float32Array(2) }], { dtype: 'F32' });
  await rejectsUser(loadModel(dir, { adapter: extra }), join(extra, 'adapter_model.safetensors'), '1 tensor', '"base_model.model.lm_head.weight"', 'q_proj, v_proj');
});
