import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from './config.js';
import type { ModelConfig } from './config.js';
import { expectedTensors, paramsFromTensors } from './params.js';
import type { TensorMap } from './tensor.js';
import { numel } from './tensor.js';
import { loadModelDir, saveModelDir } from './model-dir.js';
import { readSafetensorsHeader, writeSafetensors } from './safetensors.js';
import type { FloatDtype, WriteTensor } from './safetensors.js';
import { UserError } from '../util/errors.js';

const RAW = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 11, rms_norm_eps: 1e-6, rope_theta: 10000,
  tie_word_embeddings: false, torch_dtype: 'bfloat16', bos_token_id: 9, eos_token_id: 10, max_position_embeddings: 64,
};

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'lr-modeldir-'));
}

function withDir(fn: (dir: string) => void): void {
  const dir = tempDir();
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Deterministic weights for every expected tensor; multiples of 1/8 below 4 are exact in F16 and BF16. */
function makeTensors(c: ModelConfig): TensorMap {
  const m: TensorMap = new Map();
  expectedTensors(c).forEach((spec, k) => {
    const data = new Float32Array(numel(spec.shape));
    for (let i = 0; i < data.length; i++) data[i] = (((i * 7 + k * 13) % 61) - 30) / 8;
    m.set(spec.name, { data, shape: spec.shape });
  });
  return m;
}

function asList(m: TensorMap): WriteTensor[] {
  return [...m].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
}

/** A model directory made with the safetensors writer directly, not with saveModelDir. */
function writeModel(dir: string, raw: Record<string, unknown>, tensors: WriteTensor[], dtype: FloatDtype = 'F32'): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw));
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { dtype });
}

function throwsUser(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} should mention ${JSON.stringify(p)}`);
    return true;
  });
}

function assertSameTensors(actual: TensorMap, expected: TensorMap): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, t] of expected) {
    assert.deepEqual(actual.get(name)!.shape, t.shape, name);
    assert.deepEqual(actual.get(name)!.data, t.data, name);
  }
}

for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
  test(`saveModelDir then loadModelDir gives back the same weights in ${dtype}, with config and tokenizer files`, () => withDir((root) => {
    const config = parseConfig({ ...RAW, custom_field: 'kept' });
    const tensors = makeTensors(config);
    const params = paramsFromTensors(config, tensors, 'test');
    const src = join(root, 'src');
    mkdirSync(src);
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'notes.txt']) writeFileSync(join(src, f), `contents of ${f}`);
    writeFileSync(join(src, 'generation_config.json'), JSON.stringify({ eos_token_id: [10, 7], pad_token_id: 3 }));

    const out = join(root, 'nested', 'out');
    const saved = saveModelDir(out, config, params, { dtype, copyFrom: src });
    assert.deepEqual(saved.files, ['chat_template.jinja', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    assert.deepEqual(readdirSync(out).sort(), saved.files);
    assert.deepEqual(readdirSync(join(root, 'nested')), ['out'], 'no temp directory left beside it');
    assert.equal(readFileSync(join(out, 'tokenizer.json'), 'utf8'), 'contents of tokenizer.json');

    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(cfg.torch_dtype, dtype);
    assert.equal(cfg.custom_field, 'kept');
    const header = readSafetensorsHeader(join(out, 'model.safetensors'));
    assert.deepEqual(header.metadata, { format: 'pt' }, 'transformers requires format "pt"');
    assert.ok(header.tensors.every((t) => t.dtype === { float32: 'F32', float16: 'F16', bfloat16: 'BF16' }[dtype]));

    const loaded = loadModelDir(out);
    assertSameTensors(loaded.tensors, tensors);
    assert.equal(loaded.config.torchDtype, dtype);
    assert.deepEqual(loaded.params.layers[1]!.q_proj.bias, tensors.get('model.layers.1.self_attn.q_proj.bias')!.data);
    assert.deepEqual(loaded.generation, { eosTokenIds: [10, 7], bosTokenId: 9, padTokenId: 3 });
    assert.deepEqual(loaded.ignoredTensors, []);
  }));
}

test('sharded weights load through model.safetensors.index.json; unused tensors are ignored unread', () => withDir((dir) => {
  const config = parseConfig(RAW);
  const tensors = makeTensors(config);
  const all = asList(tensors);
  const first = all.filter((t) => !t.name.startsWith('model.layers.1.') && t.name !== 'lm_head.weight');
  const second = all.filter((t) => !first.includes(t));
  const extra = { name: 'model.layers.0.self_attn.rotary_emb.inv_freq', shape: [2], data: new Float32Array([1, 0.5]) };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(RAW));
  writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), [...first, extra], { dtype: 'BF16' });
  writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), second, { dtype: 'F16' });
  const weightMap: Record<string, string> = {};
  for (const t of [...first, extra]) weightMap[t.name] = 'model-00001-of-00002.safetensors';
  for (const t of second) weightMap[t.name] = 'model-00002-of-00002.safetensors';
  weightMap['model.unused_buffer'] = 'model-00003-of-00002.safetensors'; // a shard nobody needs may be absent, but its tensor is reported
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));

  // An unknown tensor is an error (config and weights disagree) unless the caller allows it.
  throwsUser(() => loadModelDir(dir), 'model.safetensors.index.json', '1 tensor', '"model.unused_buffer"', 'does not use');
  const loaded = loadModelDir(dir, { allowUnusedTensors: true });
  assertSameTensors(loaded.tensors, tensors);
  assert.deepEqual(loaded.ignoredTensors.sort(), ['model.layers.0.self_attn.rotary_emb.inv_freq', 'model.unused_buffer']);
  delete weightMap['model.unused_buffer'];
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  assert.deepEqual(loadModelDir(dir).ignoredTensors, ['model.layers.0.self_attn.rotary_emb.inv_freq'], 'inv_freq is an expected leftover');
  assert.equal(loaded.params.lmHead, loaded.tensors.get('lm_head.weight')!.data);

  const events: Array<{ done: number; total: number }> = [];
  loadModelDir(dir, { onProgress: (e) => events.push({ done: e.done, total: e.total }) });
  assert.ok(events.length >= 2);
  assert.equal(events.at(-1)!.done, events.at(-1)!.total, 'progress ends complete');
  assert.ok(events.every((e, i) => i === 0 || e.done >= events[i - 1]!.done), 'progress never goes back');

  const { 'model.norm.weight': _, ...withoutNorm } = weightMap;
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: withoutNorm }));
  throwsUser(() => loadModelDir(dir), 'model.safetensors.index.json', '"model.norm.weight"', 'missing', '[8]');

  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
  rmSync(join(dir, 'model-00002-of-00002.safetensors'));
  throwsUser(() => loadModelDir(dir), 'model-00002-of-00002.safetensors', 'is missing', 'model.layers.1.');
}));

test('a tied model that stores lm_head.weight anyway loads, with lm_head tied to the embeddings', () => withDir((dir) => {
  const raw = { ...RAW, tie_word_embeddings: true };
  const config = parseConfig(raw);
  const tensors = makeTensors(config);
  const lmHead = { name: 'lm_head.weight', shape: [11, 8], data: new Float32Array(88).fill(0.25) };
  writeModel(dir, raw, [...asList(tensors), lmHead]);
  const loaded = loadModelDir(dir);
  assert.equal(loaded.params.lmHead, loaded.params.embed);
  assert.deepEqual(loaded.ignoredTensors, ['lm_head.weight']);
  assert.ok(!loaded.tensors.has('lm_head.weight'));
}));

test('a missing directory, config.json or weights is named in the error', () => withDir((root) => {
  throwsUser(() => loadModelDir(join(root, 'nope')), 'model directory not found', join(root, 'nope'));
  writeFileSync(join(root, 'file'), '');
  throwsUser(() => loadModelDir(join(root, 'file')), 'not a directory');
  const dir = join(root, 'm');
  mkdirSync(dir);
  throwsUser(() => loadModelDir(dir), dir, 'config.json is missing');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(RAW));
  throwsUser(() => loadModelDir(dir), dir, 'no weights', 'model.safetensors');
  writeFileSync(join(dir, 'pytorch_model.bin'), '');
  throwsUser(() => loadModelDir(dir), 'pytorch_model.bin', 'only safetensors');
  writeFileSync(join(dir, 'config.json'), '{"hidden_size": ');
  throwsUser(() => loadModelDir(dir), join(dir, 'config.json'), 'not valid JSON');
}));

test('an unsupported architecture in config.json names the file and the architecture', () => withDir((dir) => {
  const raw = { ...RAW, architectures: ['MistralForCausalLM'], model_type: 'mistral' };
  writeModel(dir, raw, []);
  throwsUser(() => loadModelDir(dir), join(dir, 'config.json'), 'MistralForCausalLM', 'not supported');
}));

test('a tensor with the wrong shape names the file, the tensor, the shape found and the one expected', () => withDir((dir) => {
  const config = parseConfig(RAW);
  const list = asList(makeTensors(config)).map((t) => (t.name === 'model.layers.1.mlp.up_proj.weight' ? { ...t, shape: [8, 16] } : t));
  writeModel(dir, RAW, list);
  throwsUser(() => loadModelDir(dir), join(dir, 'model.safetensors'), '"model.layers.1.mlp.up_proj.weight"', 'shape [8, 16]', 'expected [16, 8]');
}));

test('a missing tensor names the file and the tensor with its expected shape', () => withDir((dir) => {
  const config = parseConfig(RAW);
  writeModel(dir, RAW, asList(makeTensors(config)).filter((t) => t.name !== 'model.layers.0.self_attn.k_proj.bias'));
  throwsUser(() => loadModelDir(dir), join(dir, 'model.safetensors'), '"model.layers.0.self_attn.k_proj.bias"', 'missing', '[4]');
}));

test('a needed tensor in an unsupported dtype names the tensor and the dtype', () => withDir((dir) => {
  const config = parseConfig(RAW);
  writeModel(dir, RAW, asList(makeTensors(config)));
  // Relabel one tensor in place: F32 [8] and I32 [8] both take 32 bytes, so the file stays consistent.
  const path = join(dir, 'model.safetensors');
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = bytes.subarray(8, 8 + n).toString('utf8');
  const patched = header.replace('"model.norm.weight":{"dtype":"F32"', '"model.norm.weight":{"dtype":"I32"');
  assert.notEqual(patched, header);
  writeFileSync(path, Buffer.concat([bytes.subarray(0, 8), Buffer.from(patched), bytes.subarray(8 + n)]));
  throwsUser(() => loadModelDir(dir), path, '"model.norm.weight"', 'I32');
}));

test('generation settings fall back to config.json, and a malformed generation_config.json is named', () => withDir((dir) => {
  const config = parseConfig(RAW);
  writeModel(dir, { ...RAW, pad_token_id: 4 }, asList(makeTensors(config)));
  assert.deepEqual(loadModelDir(dir).generation, { eosTokenIds: [10], bosTokenId: 9, padTokenId: 4 });
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: 'x' }));
  throwsUser(() => loadModelDir(dir), join(dir, 'generation_config.json'), '"eos_token_id"');
}));

test('saveModelDir refuses a non-empty directory unless told to overwrite, then replaces it whole', () => withDir((root) => {
  const config = parseConfig(RAW);
  const tensors = makeTensors(config);
  const params = paramsFromTensors(config, tensors, 'test');
  const out = join(root, 'out');
  mkdirSync(out);
  saveModelDir(out, config, params, { dtype: 'float32' }); // an empty directory is fine
  writeFileSync(join(out, 'old-notes.txt'), 'x');
  throwsUser(() => saveModelDir(out, config, params), out, 'not empty');
  assert.ok(existsSync(join(out, 'old-notes.txt')));

  tensors.get('model.norm.weight')!.data.fill(2);
  saveModelDir(out, config, params, { overwrite: true });
  assert.deepEqual(readdirSync(out).sort(), ['config.json', 'model.safetensors']);
  assert.deepEqual(readdirSync(root), ['out']);
  assert.deepEqual([...loadModelDir(out).params.finalNorm], new Array(8).fill(2));
}));

test('saveModelDir writes nothing when the destination cannot be created or the overrides change the shapes', () => withDir((root) => {
  const config = parseConfig(RAW);
  const params = paramsFromTensors(config, makeTensors(config), 'test');
  writeFileSync(join(root, 'file'), 'x');
  const bad = join(root, 'file', 'out');
  throwsUser(() => saveModelDir(bad, config, params), bad);
  assert.deepEqual(readdirSync(root), ['file']);

  const out = join(root, 'out');
  throwsUser(() => saveModelDir(out, config, params, { configOverrides: { intermediate_size: 32 } }), '"model.layers.0.mlp.gate_proj.weight"', '[16, 8]', '[32, 8]');
  throwsUser(() => saveModelDir(out, config, params, { copyFrom: join(root, 'nope') }), join(root, 'nope'));
  assert.deepEqual(readdirSync(root), ['file']);

  saveModelDir(out, config, params, { configOverrides: { lightreasoner: { beta: 0.4 } }, dtype: 'float16' });
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(cfg.lightreasoner, { beta: 0.4 });
  assert.equal(cfg.torch_dtype, 'float16');
}));

test('config and weights that disagree are refused naming both: layer count, Llama config on Qwen2 weights, an unknown tensor', () => withDir((root) => {
  const config = parseConfig(RAW);
  const list = asList(makeTensors(config));
  const fewer = join(root, 'fewer');
  writeModel(fewer, { ...RAW, num_hidden_layers: 1 }, list);
  throwsUser(() => loadModelDir(fewer), join(fewer, 'config.json'), 'num_hidden_layers is 1', 'holds 2 layers', join(fewer, 'model.safetensors'), '"model.layers.1.');
  const more = join(root, 'more');
  writeModel(more, { ...RAW, num_hidden_layers: 3 }, list);
  throwsUser(() => loadModelDir(more), 'num_hidden_layers is 3', 'holds 2 layers');
  const llama = join(root, 'llama');
  writeModel(llama, { ...RAW, architectures: ['LlamaForCausalLM'], model_type: 'llama' }, list);
  throwsUser(() => loadModelDir(llama), join(llama, 'model.safetensors'), 'attention biases', '"model.layers.0.self_attn.q_proj.bias"', 'LlamaForCausalLM', 'attention_bias false', join(llama, 'config.json'));
  const extra = join(root, 'extra');
  writeModel(extra, RAW, [...list, { name: 'model.vision_tower.weight', shape: [2], data: new Float32Array(2) }]);
  throwsUser(() => loadModelDir(extra), '1 tensor', '"model.vision_tower.weight"', 'does not use');
  assert.deepEqual(loadModelDir(extra, { allowUnusedTensors: true }).ignoredTensors, ['model.vision_tower.weight']);
  const big = join(root, 'big');
  writeModel(big, { ...RAW, hidden_size: 4096, num_attention_heads: 32, num_key_value_heads: 8 }, list);
  throwsUser(() => loadModelDir(big), join(big, 'config.json'), 'parameters', 'does not belong to these weights');
}));

test('NaN or Inf in the weights and out-of-range config values are refused, naming the tensor or the field', () => withDir((root) => {
  const config = parseConfig(RAW);
  for (const [bad, label] of [[NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf']] as const) {
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const dir = join(root, `${label}-${dtype}`);
      const list = asList(makeTensors(config)).map((t) => (t.name === 'model.layers.1.mlp.down_proj.weight' ? { ...t, data: t.data.map((v, i) => (i === 19 ? bad : v)) } : t));
      writeModel(dir, RAW, list, dtype);
      throwsUser(() => loadModelDir(dir), join(dir, 'model.safetensors'), '"model.layers.1.mlp.down_proj.weight"', label, '[1, 3]');
    }
  }
  const ok = asList(makeTensors(config));
  for (const [field, value, why] of [
    ['rope_theta', 0, 'rope_theta'], ['rope_theta', -5, 'rope_theta'], ['rms_norm_eps', -1, 'rms_norm_eps'], ['rms_norm_eps', 0, 'rms_norm_eps'],
    ['num_hidden_layers', 1e8, 'at most 10000'], ['hidden_size', 0, 'positive integer'], ['vocab_size', 2 ** 40, 'at most'],
  ] as const) {
    const dir = join(root, `${field}-${value}`);
    writeModel(dir, { ...RAW, [field]: value }, ok);
    throwsUser(() => loadModelDir(dir), join(dir, 'config.json'), `"${field}"`, why);
  }
  let deep: unknown = 8;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const nested = join(root, 'nested');
  mkdirSync(nested);
  writeFileSync(join(nested, 'config.json'), JSON.stringify({ ...RAW, hidden_size: '__DEEP__' }).replace('"__DEEP__"', '['.repeat(100_000) + ']'.repeat(100_000)));
  assert.throws(() => loadModelDir(nested), (e: unknown) => e instanceof UserError && e.message.includes('"hidden_size"') && e.message.length < 600);
}));
