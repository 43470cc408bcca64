/**
 * A Qwen2 / Llama Hugging Face model (optionally with a LoRA adapter merged in) as a GGUF file
 * that llama.cpp runs, written the way llama.cpp's convert_hf_to_gguf.py writes these
 * architectures:
 *   - hyperparameters under the architecture's prefix ("qwen2." / "llama."): context_length,
 *     embedding_length, block_count, feed_forward_length, attention.head_count(_kv),
 *     rope.freq_base, attention.layer_norm_rms_epsilon (+ llama.vocab_size, llama.rope.dimension_count,
 *     attention.key_length/value_length when config.json sets head_dim);
 *   - Llama 3 rotary scaling as a `rope_freqs.weight` tensor of per-frequency divisors (llama.cpp
 *     has no "llama3" scaling type; it divides each frequency by this factor);
 *   - tensor names token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
 *     ffn_gate, ffn_up, ffn_down}, output_norm, output (absent when tied);
 *   - Llama's q/k rows permuted from Hugging Face's rotate-half layout to the interleaved pairs of
 *     llama.cpp's NORM rope. Qwen2 runs NEOX rope in llama.cpp (rotate-half), so it is not permuted.
 * Norm weights, biases and rope_freqs stay F32 under --dtype f16, as in convert_hf_to_gguf.py.
 */
import { basename, resolve } from 'node:path';
import type { ModelConfig } from '../model/config.js';
import type { LinearName, ModelParams } from '../model/params.js';
import type { LoraAdapter } from '../model/lora.js';
import { loadModelDir } from '../model/model-dir.js';
import { loadAdapter } from '../model/adapter-dir.js';
import { Transformer } from '../model/transformer.js';
import { sgemm } from '../engine/blas.js';
import { UserError } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';
import { writeGguf, type GgmlTensorType, type GgufKv, type GgufTensorSource } from './gguf-writer.js';
import { ggufVocabulary } from './gguf-vocab.js';

export type GgufDtype = 'f32' | 'f16';

/** gguf-py's LlamaFileType for the two dtypes we write. */
const FILE_TYPE: Record<GgufDtype, number> = { f32: 0, f16: 1 };
/** gguf-py's GGML_QUANT_VERSION, written into every file. */
const GGML_QUANT_VERSION = 2;

/** Hugging Face linear module → llama.cpp tensor name inside blk.N. */
const GGUF_LINEAR: Record<LinearName, string> = {
  q_proj: 'attn_q', k_proj: 'attn_k', v_proj: 'attn_v', o_proj: 'attn_output',
  gate_proj: 'ffn_gate', up_proj: 'ffn_up', down_proj: 'ffn_down',
};

/**
 * convert_hf_to_gguf.py's LlamaModel.permute: rows [heads, 2, d/2] → [heads, d/2, 2], i.e. within
 * each head, row j·d/2 + i (the rotate-half pair (i, i + d/2)) moves to row 2i + j (an adjacent pair).
 * `x` is [heads·d, cols] row-major (cols = 1 for a bias).
 */
export function permuteForNormRope(x: Float32Array, heads: number, cols: number): Float32Array {
  const rows = x.length / cols;
  const d = rows / heads, half = d / 2;
  if (!Number.isInteger(d) || d % 2 !== 0) throw new Error(`permuteForNormRope: ${rows} rows do not split into ${heads} heads of even size`);
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const src = (h * d + j * half + i) * cols, dst = (h * d + 2 * i + j) * cols;
        out.set(x.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/**
 * convert_hf_to_gguf.py's Llama 3 rope factors: for each inverse frequency θ_i = base^(−2i/d) with
 * wavelength λ = 2π/θ_i: 1 when λ < L/highFreqFactor, `factor` when λ > L/lowFreqFactor, else
 * 1 / ((1 − s)/factor + s) with s = (L/λ − lowFreqFactor) / (highFreqFactor − lowFreqFactor),
 * L the original context length. llama.cpp divides θ_i by this factor. Computed in float32 as torch does.
 */
export function llama3RopeFactors(c: ModelConfig): Float32Array {
  const s = c.ropeScaling;
  if (!s) throw new Error('llama3RopeFactors: the config has no llama3 rope scaling');
  const f = Math.fround;
  const d = c.headDim, half = d / 2;
  const L = s.originalMaxPositionEmbeddings;
  const lowWavelen = L / s.lowFreqFactor, highWavelen = L / s.highFreqFactor;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const freq = f(1 / f(c.ropeTheta ** f((2 * i) / d)));
    const wavelen = f((2 * Math.PI) / freq);
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = s.factor;
    else {
      const smooth = f((f(L / wavelen) - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
      out[i] = f(1 / f(f((1 - smooth) / s.factor) + smooth));
    }
  }
  return out;
}

/** The architecture's hyperparameters as llama.cpp reads them. */
export function ggufHyperparameters(c: ModelConfig, dtype: GgufDtype, name: string): GgufKv[] {
  const arch = c.architecture;
  if (arch === 'qwen2' && c.numHeads * c.headDim !== c.hiddenSize) {
    throw new UserError(`config.json: head_dim ${c.headDim} × num_attention_heads ${c.numHeads} ≠ hidden_size ${c.hiddenSize}; llama.cpp's qwen2 architecture requires them equal`);
  }
  const u32 = (key: string, value: number): GgufKv => ({ key, value: { type: 'uint32', value } });
  const f32 = (key: string, value: number): GgufKv => ({ key, value: { type: 'float32', value } });
  const kvs: GgufKv[] = [
    { key: 'general.architecture', value: { type: 'string', value: arch } },
    { key: 'general.type', value: { type: 'string', value: 'model' } },
    { key: 'general.name', value: { type: 'string', value: name } },
    u32(`${arch}.block_count`, c.numLayers),
    u32(`${arch}.context_length`, c.maxPositionEmbeddings),
    u32(`${arch}.embedding_length`, c.hiddenSize),
    u32(`${arch}.feed_forward_length`, c.intermediateSize),
    u32(`${arch}.attention.head_count`, c.numHeads),
    u32(`${arch}.attention.head_count_kv`, c.numKvHeads),
    f32(`${arch}.rope.freq_base`, c.ropeTheta),
    f32(`${arch}.attention.layer_norm_rms_epsilon`, c.rmsNormEps),
  ];
  // convert_hf_to_gguf.py writes these when config.json has head_dim; llama.cpp needs them whenever
  // the head size is not hidden_size / heads.
  if (typeof c.raw.head_dim === 'number' || c.headDim * c.numHeads !== c.hiddenSize) {
    kvs.push(u32(`${arch}.attention.key_length`, c.headDim), u32(`${arch}.attention.value_length`, c.headDim));
  }
  kvs.push(u32('general.file_type', FILE_TYPE[dtype]));
  if (arch === 'llama') kvs.push(u32('llama.vocab_size', c.vocabSize), u32('llama.rope.dimension_count', c.headDim));
  kvs.push(u32('general.quantization_version', GGML_QUANT_VERSION));
  return kvs;
}

/** W + (α/r)·B·A: the adapter folded into a copy of the weight [out, in]. */
function mergeLora(weight: Float32Array, lora: { A: Float32Array; B: Float32Array; inFeatures: number; outFeatures: number }, r: number, scale: number): Float32Array {
  const merged = Float32Array.from(weight);
  sgemm(false, false, lora.outFeatures, lora.inFeatures, r, scale, lora.B, 0, r, lora.A, 0, lora.inFeatures, 1, merged, 0, lora.inFeatures);
  return merged;
}

/**
 * Every tensor of the GGUF in llama.cpp's names, each computed when written (a merged or permuted
 * weight exists only while it is being written).
 */
export function ggufTensors(c: ModelConfig, p: ModelParams, adapter: LoraAdapter | null, dtype: GgufDtype): GgufTensorSource[] {
  const matrix: GgmlTensorType = dtype === 'f16' ? 'F16' : 'F32';
  const out: GgufTensorSource[] = [];
  const vec = (name: string, data: Float32Array): void => { out.push({ name, shape: [data.length], type: 'F32', data: () => data }); };
  if (c.ropeScaling) vec('rope_freqs.weight', llama3RopeFactors(c));
  out.push({ name: 'token_embd.weight', shape: [c.vocabSize, c.hiddenSize], type: matrix, data: () => p.embed });
  const permuteHeads = (n: LinearName): number | null => (c.architecture !== 'llama' ? null : n === 'q_proj' ? c.numHeads : n === 'k_proj' ? c.numKvHeads : null);
  p.layers.forEach((L, l) => {
    vec(`blk.${l}.attn_norm.weight`, L.inputNorm);
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const) {
      const lin = L[n];
      const lora = adapter?.layers[l]?.[n];
      const heads = permuteHeads(n);
      out.push({
        name: `blk.${l}.${GGUF_LINEAR[n]}.weight`, shape: [lin.outFeatures, lin.inFeatures], type: matrix,
        data: () => {
          const w = lora ? mergeLora(lin.weight, lora, adapter!.config.r, adapter!.scale) : lin.weight;
          return heads === null ? w : permuteForNormRope(w, heads, lin.inFeatures);
        },
      });
      if (lin.bias) {
        const bias = lin.bias;
        out.push({ name: `blk.${l}.${GGUF_LINEAR[n]}.bias`, shape: [lin.outFeatures], type: 'F32', data: () => (heads === null ? bias : permuteForNormRope(bias, heads, 1)) });
      }
      if (n === 'o_proj') vec(`blk.${l}.ffn_norm.weight`, L.postAttentionNorm);
    }
  });
  vec('output_norm.weight', p.finalNorm);
  if (!c.tieWordEmbeddings) out.push({ name: 'output.weight', shape: [c.vocabSize, c.hiddenSize], type: matrix, data: () => p.lmHead });
  return out;
}

export interface ExportGgufOptions {
  /** A LoRA adapter directory (PEFT layout) to merge into the weights. */
  adapter?: string;
  dtype?: GgufDtype;
  /** general.name (default: the model directory's name). */
  name?: string;
  onProgress?: ProgressCallback;
}

export interface ExportedGguf {
  path: string;
  bytes: number;
  tensors: number;
  architecture: ModelConfig['architecture'];
  preTokenizer: string;
  dtype: GgufDtype;
}

/** Write `out` from the model directory `modelDir` (+ adapter). */
export function exportGguf(modelDir: string, out: string, opts: ExportGgufOptions = {}): ExportedGguf {
  const dtype = opts.dtype ?? 'f32';
  const loaded = loadModelDir(modelDir);
  const adapter = opts.adapter ? loadAdapter(opts.adapter, new Transformer(loaded.config, loaded.params)) : null;
  const name = opts.name ?? basename(resolve(modelDir));
  const vocab = ggufVocabulary(modelDir, loaded.config.vocabSize);
  const kvs = [...ggufHyperparameters(loaded.config, dtype, name), ...vocab.kvs];
  const tensors = ggufTensors(loaded.config, loaded.params, adapter, dtype);
  const bytes = writeGguf(out, kvs, tensors, {
    onTensor: (i, n) => opts.onProgress?.({ stage: 'export-gguf', done: i + 1, total: n, unit: 'tensors' }),
  });
  return { path: out, bytes, tensors: tensors.length, architecture: loaded.config.architecture, preTokenizer: vocab.pre, dtype };
}
