import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyModelDir } from '../model/testing.js';
import { loadModelDir } from '../model/model-dir.js';
import { parseConfig } from '../model/config.js';
import { createLoraAdapter } from '../model/lora.js';
import { saveAdapter } from '../model/adapter-dir.js';
import { LINEAR_NAMES } from '../model/params.js';
import { RotaryTable, applyRotary, inverseFrequencies } from '../engine/ops/rope.js';
import { f16BitsToF32Bits, f32BitsToF16Bits } from '../model/float16.js';
import { Rng } from '../util/rng.js';
import { exportGguf, ggufHyperparameters, llama3RopeFactors, permuteForNormRope } from './gguf-model.js';
import { readGgufHeader, readGgufTensor } from './gguf-reader.js';

const work = mkdtempSync(join(tmpdir(), 'lr-gguf-model-'));
const dirs: string[] = [];
after(() => { for (const d of [work, ...dirs]) rmSync(d, { recursive: true, force: true }); });

function model(spec: Parameters<typeof tinyModelDir>[0], seed = 1): string {
  const d = tinyModelDir(spec, seed);
  dirs.push(d);
  return d;
}

function randomArray(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}

test('the Llama q/k permutation moves each head\'s rotate-half pairs (i, i + d/2) to adjacent rows (2i, 2i + 1)', () => {
  assert.deepEqual(Array.from(permuteForNormRope(Float32Array.of(0, 1, 2, 3, 4, 5, 6, 7), 2, 1)), [0, 2, 1, 3, 4, 6, 5, 7]);
  // [heads·d = 4, cols = 2]: whole rows move
  assert.deepEqual(Array.from(permuteForNormRope(Float32Array.of(10, 11, 20, 21, 30, 31, 40, 41), 1, 2)), [10, 11, 30, 31, 20, 21, 40, 41]);
});

test('rotating a permuted head the llama.cpp NORM way (adjacent pairs) equals permuting the Hugging Face rotate-half result', () => {
  const heads = 3, d = 8, half = d / 2, pos = 13;
  const table = new RotaryTable(d, 10000, null);
  const x = randomArray(heads * d, 5);
  const hf = Float32Array.from(x);
  applyRotary(hf, 1, heads, [pos], table);
  // llama.cpp's ggml_rope, mode NORM: x'[2i] = x[2i]cos − x[2i+1]sin, x'[2i+1] = x[2i]sin + x[2i+1]cos, θ_i = base^(−2i/d)
  const p = permuteForNormRope(x, heads, 1);
  const norm = new Float32Array(p.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const theta = pos * 10000 ** (-2 * i / d);
      const a = p[h * d + 2 * i]!, b = p[h * d + 2 * i + 1]!;
      norm[h * d + 2 * i] = a * Math.cos(theta) - b * Math.sin(theta);
      norm[h * d + 2 * i + 1] = a * Math.sin(theta) + b * Math.cos(theta);
    }
  }
  const want = permuteForNormRope(hf, heads, 1);
  norm.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `${i}: ${v} vs ${want[i]}`));
});

test('llama3 rope factors divide the base frequencies into the ones transformers computes, in all three wavelength bands', () => {
  const config = parseConfig({
    architectures: ['LlamaForCausalLM'], hidden_size: 32, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 8,
    num_hidden_layers: 1, vocab_size: 10, rope_theta: 10000,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
  });
  const factors = llama3RopeFactors(config);
  const scaled = inverseFrequencies(16, 10000, config.ropeScaling);
  const base = inverseFrequencies(16, 10000, null);
  assert.equal(factors[0], 1); // wavelength 2π < 64/4: unchanged
  assert.equal(factors[7], 8); // wavelength > 64: divided by the factor
  assert.ok(factors[1]! > 1 && factors[1]! < 8 && factors[2]! > 1 && factors[2]! < 8, 'smoothed band');
  for (let i = 0; i < 8; i++) {
    const got = base[i]! / factors[i]!;
    assert.ok(Math.abs(got - scaled[i]!) <= 2e-6 * scaled[i]!, `θ_${i}: ${got} vs ${scaled[i]}`);
  }
});

test('a Qwen2 export carries llama.cpp\'s hyperparameters and tensor names, q/k unpermuted, no output tensor when tied', () => {
  const dir = model({ architecture: 'qwen2', hidden: 32, heads: 4, kvHeads: 2, layers: 2, intermediate: 40, tied: true });
  const out = join(work, 'qwen2.gguf');
  const r = exportGguf(dir, out);
  assert.equal(r.architecture, 'qwen2');
  const f = readGgufHeader(out);
  const c = loadModelDir(dir);
  const m = f.metadata;
  assert.equal(m.get('general.architecture'), 'qwen2');
  assert.equal(m.get('general.file_type'), 0);
  assert.equal(m.get('general.quantization_version'), 2);
  assert.equal(m.get('qwen2.block_count'), 2);
  assert.equal(m.get('qwen2.context_length'), c.config.maxPositionEmbeddings);
  assert.equal(m.get('qwen2.embedding_length'), 32);
  assert.equal(m.get('qwen2.feed_forward_length'), 40);
  assert.equal(m.get('qwen2.attention.head_count'), 4);
  assert.equal(m.get('qwen2.attention.head_count_kv'), 2);
  assert.equal(m.get('qwen2.rope.freq_base'), 10000);
  assert.equal(m.get('qwen2.attention.layer_norm_rms_epsilon'), Math.fround(1e-6));
  assert.equal(m.has('qwen2.attention.key_length'), false);
  const names = f.tensors.map((t) => t.name).sort();
  const want = ['token_embd.weight', 'output_norm.weight'];
  for (let l = 0; l < 2; l++) {
    want.push(...['attn_norm', 'ffn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'].map((n) => `blk.${l}.${n}.weight`));
    want.push(...['attn_q', 'attn_k', 'attn_v'].map((n) => `blk.${l}.${n}.bias`));
  }
  assert.deepEqual(names, want.sort());
  const shape = (n: string): number[] => f.tensors.find((t) => t.name === n)!.shape;
  assert.deepEqual(shape('token_embd.weight'), [c.config.vocabSize, 32]);
  assert.deepEqual(shape('blk.1.attn_k.weight'), [16, 32]);
  assert.deepEqual(shape('blk.1.ffn_down.weight'), [32, 40]);
  assert.deepEqual(readGgufTensor(f, 'blk.1.attn_q.weight'), c.params.layers[1]!.q_proj.weight);
  assert.deepEqual(readGgufTensor(f, 'blk.0.attn_k.bias'), c.params.layers[0]!.k_proj.bias);
  assert.deepEqual(readGgufTensor(f, 'blk.0.ffn_norm.weight'), c.params.layers[0]!.postAttentionNorm);
});

test('a Llama export permutes q and k per head (k by the KV heads), keeps v, writes output.weight when untied and the llama keys', () => {
  const dir = model({ architecture: 'llama', hidden: 32, heads: 4, kvHeads: 2, layers: 1, intermediate: 40, tied: false });
  const out = join(work, 'llama.gguf');
  exportGguf(dir, out);
  const f = readGgufHeader(out);
  const c = loadModelDir(dir);
  const L = c.params.layers[0]!;
  assert.equal(f.metadata.get('general.architecture'), 'llama');
  assert.equal(f.metadata.get('llama.vocab_size'), c.config.vocabSize);
  assert.equal(f.metadata.get('llama.rope.dimension_count'), 8);
  assert.deepEqual(readGgufTensor(f, 'blk.0.attn_q.weight'), permuteForNormRope(L.q_proj.weight, 4, 32));
  assert.deepEqual(readGgufTensor(f, 'blk.0.attn_k.weight'), permuteForNormRope(L.k_proj.weight, 2, 32));
  assert.deepEqual(readGgufTensor(f, 'blk.0.attn_v.weight'), L.v_proj.weight);
  assert.deepEqual(readGgufTensor(f, 'output.weight'), c.params.lmHead);
  assert.equal(f.tensors.some((t) => t.name.endsWith('.bias')), false);
  assert.equal(f.tensors.some((t) => t.name === 'rope_freqs.weight'), false);
});

test('llama3 rope scaling is exported as rope_freqs.weight, and head_dim as key/value lengths', () => {
  const dir = model({ architecture: 'llama', hidden: 32, heads: 2, kvHeads: 1, layers: 1, intermediate: 16 });
  const cfgPath = join(dir, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  cfg.rope_scaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
  cfg.head_dim = 16;
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const out = join(work, 'llama3.gguf');
  exportGguf(dir, out);
  const f = readGgufHeader(out);
  assert.equal(f.metadata.get('llama.attention.key_length'), 16);
  assert.equal(f.metadata.get('llama.attention.value_length'), 16);
  assert.equal(f.metadata.has('llama.rope.scaling.type'), false);
  assert.deepEqual(readGgufTensor(f, 'rope_freqs.weight'), llama3RopeFactors(parseConfig(cfg)));
});

test('--adapter merges W + (alpha/r)·B·A into every targeted matrix before the Llama permutation', () => {
  const dir = model({ architecture: 'llama', hidden: 16, heads: 2, kvHeads: 1, layers: 1, intermediate: 24 });
  const c = loadModelDir(dir);
  const adapter = createLoraAdapter({ config: c.config, params: c.params }, { r: 3, loraAlpha: 12, dropout: 0, targets: [...LINEAR_NAMES] }, 3);
  adapter.layers.forEach((L, l) => Object.values(L).forEach((w, k) => w.B.set(randomArray(w.B.length, 100 + 10 * l + k))));
  const adapterDir = join(work, 'adapter');
  saveAdapter(adapterDir, adapter, { baseModel: dir });
  const out = join(work, 'merged.gguf');
  exportGguf(dir, out, { adapter: adapterDir });
  const f = readGgufHeader(out);
  const merged = (name: (typeof LINEAR_NAMES)[number]): Float32Array => {
    const lin = c.params.layers[0]![name], w = adapter.layers[0]![name]!;
    const m = Float32Array.from(lin.weight);
    for (let o = 0; o < lin.outFeatures; o++) {
      for (let i = 0; i < lin.inFeatures; i++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += w.B[o * 3 + k]! * w.A[k * lin.inFeatures + i]!;
        m[o * lin.inFeatures + i] = lin.weight[o * lin.inFeatures + i]! + 4 * s;
      }
    }
    return m;
  };
  const close = (got: Float32Array, want: Float32Array, what: string): void => {
    assert.equal(got.length, want.length);
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 1e-5, `${what}[${i}]: ${v} vs ${want[i]}`));
  };
  close(readGgufTensor(f, 'blk.0.attn_q.weight'), permuteForNormRope(merged('q_proj'), 2, 16), 'q');
  close(readGgufTensor(f, 'blk.0.attn_v.weight'), merged('v_proj'), 'v');
  close(readGgufTensor(f, 'blk.0.ffn_down.weight'), merged('down_proj'), 'down');
  assert.ok(merged('v_proj').some((v, i) => v !== c.params.layers[0]!.v_proj.weight[i]), 'the adapter changes the weights');
});

test('--dtype f16 stores the matrices as F16 (rounded to nearest even) and keeps norms and biases F32', () => {
  const dir = model({ architecture: 'qwen2', hidden: 16, heads: 2, kvHeads: 1, layers: 1, intermediate: 24 });
  const out = join(work, 'half.gguf');
  exportGguf(dir, out, { dtype: 'f16' });
  const f = readGgufHeader(out);
  const c = loadModelDir(dir);
  const type = (n: string): number => f.tensors.find((t) => t.name === n)!.ggmlType;
  assert.equal(f.metadata.get('general.file_type'), 1);
  assert.equal(type('blk.0.attn_q.weight'), 1);
  assert.equal(type('token_embd.weight'), 1);
  assert.equal(type('blk.0.attn_q.bias'), 0);
  assert.equal(type('blk.0.attn_norm.weight'), 0);
  const bits = new Uint32Array(1), fl = new Float32Array(bits.buffer);
  const toHalf = (v: number): number => { fl[0] = v; bits[0] = f16BitsToF32Bits(f32BitsToF16Bits(bits[0]!)); return fl[0]!; };
  assert.deepEqual(Array.from(readGgufTensor(f, 'blk.0.ffn_up.weight')), Array.from(c.params.layers[0]!.up_proj.weight, toHalf));
});

test('a Qwen2 config whose heads × head_dim is not hidden_size is refused (llama.cpp\'s qwen2 graph assumes it)', () => {
  const c = parseConfig({ architectures: ['Qwen2ForCausalLM'], hidden_size: 32, num_attention_heads: 4, head_dim: 16, intermediate_size: 8, num_hidden_layers: 1, vocab_size: 10 });
  assert.throws(() => ggufHyperparameters(c, 'f32', 'x'), /llama\.cpp's qwen2 architecture requires them equal/);
});
