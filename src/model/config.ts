/**
 * Model configuration, read from a Hugging Face `config.json`. Supported: `Qwen2ForCausalLM`
 * (q/k/v biases) and `LlamaForCausalLM` (optionally `attention_bias` / `mlp_bias`), with rotary
 * scaling as the supported checkpoints use it: none (Qwen2.5, Llama 2) or `llama3` (Llama 3.x).
 * Anything else is refused with the file, the field and what was expected.
 */
import { UserError, describeValue } from '../util/errors.js';
import type { Llama3RopeScaling } from '../engine/ops/rope.js';

export type Architecture = 'qwen2' | 'llama';
export type WeightDtype = 'float32' | 'float16' | 'bfloat16';

// The rope op owns the shape of its scaling parameters; the config re-exports it for its readers.
export type { Llama3RopeScaling } from '../engine/ops/rope.js';

export interface ModelConfig {
  architecture: Architecture;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  /** Biases on q_proj, k_proj, v_proj (Qwen2 always; Llama when attention_bias). o_proj too for Llama's attention_bias. */
  attentionBias: boolean;
  /** Bias on o_proj (Llama attention_bias only; Qwen2 has none). */
  outputBias: boolean;
  mlpBias: boolean;
  /** dtype the checkpoint's weights are stored in (`torch_dtype`); we compute in float32 regardless. */
  torchDtype: WeightDtype;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** The config.json as read, so saving a model keeps fields we do not interpret. */
  raw: Record<string, unknown>;
}

type Json = Record<string, unknown>;

function num(cfg: Json, key: string, path: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new UserError(`${path}: field "${key}" is missing (expected a number)`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError(`${path}: field "${key}" is ${describeValue(v)}, expected a number`);
  return v;
}

/**
 * Largest accepted value of each size field: far above any released checkpoint (Llama 3.1 405B has
 * 126 layers, hidden 16384; vocabularies reach ~256k), far below what would exhaust memory before
 * the weights are even looked at. The real guard is the check of the config against the weight
 * files' sizes (model-dir.ts); these bound what any code may compute from a config alone.
 */
export const CONFIG_LIMITS: Record<string, number> = {
  hidden_size: 1 << 17, intermediate_size: 1 << 20, num_hidden_layers: 10_000, num_attention_heads: 1 << 12,
  num_key_value_heads: 1 << 12, head_dim: 1 << 14, vocab_size: 1 << 24, max_position_embeddings: 1 << 26,
  original_max_position_embeddings: 1 << 26,
};

function posInt(cfg: Json, key: string, path: string, fallback?: number): number {
  const v = num(cfg, key, path, fallback);
  if (!Number.isInteger(v) || v <= 0) throw new UserError(`${path}: field "${key}" is ${v}, expected a positive integer`);
  const max = CONFIG_LIMITS[key];
  if (max !== undefined && v > max) throw new UserError(`${path}: field "${key}" is ${v}, larger than any model this program can load (at most ${max})`);
  return v;
}

/** A finite number in (min, max), exclusive; `why` says what the range protects. */
function inRange(cfg: Json, key: string, path: string, fallback: number | undefined, min: number, max: number, why: string): number {
  const v = num(cfg, key, path, fallback);
  if (!(v > min && v < max)) throw new UserError(`${path}: field "${key}" is ${v}, expected a number between ${min} and ${max} (exclusive): ${why}`);
  return v;
}

function bool(cfg: Json, key: string, path: string, fallback: boolean): boolean {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new UserError(`${path}: field "${key}" is ${describeValue(v)}, expected true or false`);
  return v;
}

function idList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/** Parse a config.json object; `path` is used in error messages. */
export function parseConfig(cfg: Json, path = 'config.json'): ModelConfig {
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new UserError(`${path}: expected a JSON object, got ${describeValue(cfg)}`);
  const archs = Array.isArray(cfg.architectures) ? (cfg.architectures as unknown[]) : [];
  const archName = typeof archs[0] === 'string' ? (archs[0] as string) : undefined;
  const modelType = typeof cfg.model_type === 'string' ? cfg.model_type : undefined;
  let architecture: Architecture;
  if (archName === 'Qwen2ForCausalLM' || (!archName && modelType === 'qwen2')) architecture = 'qwen2';
  else if (archName === 'LlamaForCausalLM' || (!archName && modelType === 'llama')) architecture = 'llama';
  else {
    throw new UserError(`${path}: architecture ${describeValue(archName ?? modelType ?? null)} is not supported (field "architectures"); expected Qwen2ForCausalLM or LlamaForCausalLM`);
  }

  const hiddenSize = posInt(cfg, 'hidden_size', path);
  const numHeads = posInt(cfg, 'num_attention_heads', path);
  const numKvHeads = posInt(cfg, 'num_key_value_heads', path, numHeads);
  const headDim = posInt(cfg, 'head_dim', path, hiddenSize % numHeads === 0 ? hiddenSize / numHeads : undefined);
  if (headDim % 2 !== 0) throw new UserError(`${path}: head dimension ${headDim} is odd; rotary embeddings need an even head dimension`);
  if (numHeads % numKvHeads !== 0) {
    throw new UserError(`${path}: num_attention_heads (${numHeads}) is not a multiple of num_key_value_heads (${numKvHeads})`);
  }

  let ropeScaling: Llama3RopeScaling | null = null;
  const rs = cfg.rope_scaling as Json | null | undefined;
  if (rs !== undefined && rs !== null) {
    if (typeof rs !== 'object' || Array.isArray(rs)) throw new UserError(`${path}: field "rope_scaling" is ${describeValue(rs)}, expected an object or null`);
    const type = (rs.rope_type ?? rs.type) as unknown;
    if (type === 'default') ropeScaling = null;
    else if (type === 'llama3') {
      const rsPath = `${path} rope_scaling`;
      ropeScaling = {
        type: 'llama3',
        factor: inRange(rs, 'factor', rsPath, undefined, 0, 1e6, 'wavelengths are divided by it'),
        lowFreqFactor: inRange(rs, 'low_freq_factor', rsPath, undefined, 0, 1e6, 'it sets a wavelength threshold'),
        highFreqFactor: inRange(rs, 'high_freq_factor', rsPath, undefined, 0, 1e6, 'it sets a wavelength threshold'),
        originalMaxPositionEmbeddings: posInt(rs, 'original_max_position_embeddings', `${path} rope_scaling`),
      };
      if (!(ropeScaling.highFreqFactor > ropeScaling.lowFreqFactor)) {
        throw new UserError(`${rsPath}: high_freq_factor (${ropeScaling.highFreqFactor}) must be larger than low_freq_factor (${ropeScaling.lowFreqFactor}); the interpolation between them divides by their difference`);
      }
    } else {
      throw new UserError(`${path}: rope_scaling type ${describeValue(type)} is not supported; supported: none, "default", "llama3"`);
    }
  }

  if (architecture === 'qwen2' && cfg.use_sliding_window === true) {
    throw new UserError(`${path}: use_sliding_window is true; sliding-window attention is not supported (Qwen2.5 checkpoints set it to false)`);
  }
  const hiddenAct = cfg.hidden_act ?? 'silu';
  if (hiddenAct !== 'silu') throw new UserError(`${path}: hidden_act ${describeValue(hiddenAct)} is not supported; expected "silu"`);

  const dtypeRaw = (cfg.torch_dtype ?? cfg.dtype ?? 'float32') as unknown;
  if (dtypeRaw !== 'float32' && dtypeRaw !== 'float16' && dtypeRaw !== 'bfloat16') {
    throw new UserError(`${path}: torch_dtype ${describeValue(dtypeRaw)} is not supported; expected float32, float16 or bfloat16`);
  }
  const llamaAttnBias = architecture === 'llama' && bool(cfg, 'attention_bias', path, false);
  return {
    architecture,
    hiddenSize,
    intermediateSize: posInt(cfg, 'intermediate_size', path),
    numLayers: posInt(cfg, 'num_hidden_layers', path),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: posInt(cfg, 'vocab_size', path),
    rmsNormEps: inRange(cfg, 'rms_norm_eps', path, 1e-6, 0, 1, 'RMSNorm divides by sqrt(mean(x²) + eps)'),
    ropeTheta: inRange(cfg, 'rope_theta', path, 10000, 1, 1e12, 'rotary frequencies are rope_theta^(-2i/head_dim)'),
    ropeScaling,
    tieWordEmbeddings: bool(cfg, 'tie_word_embeddings', path, architecture === 'qwen2' ? false : false),
    maxPositionEmbeddings: posInt(cfg, 'max_position_embeddings', path, 2048),
    attentionBias: architecture === 'qwen2' ? true : llamaAttnBias,
    outputBias: llamaAttnBias,
    mlpBias: architecture === 'llama' && bool(cfg, 'mlp_bias', path, false),
    torchDtype: dtypeRaw,
    bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
    eosTokenIds: idList(cfg.eos_token_id),
    raw: cfg,
  };
}

/** Number of parameters, counting a tied lm_head once. */
export function parameterCount(c: ModelConfig): number {
  const attn = c.hiddenSize * c.numHeads * c.headDim * 2 + c.hiddenSize * c.numKvHeads * c.headDim * 2
    + (c.attentionBias ? c.numHeads * c.headDim + 2 * c.numKvHeads * c.headDim : 0) + (c.outputBias ? c.hiddenSize : 0);
  const mlp = 3 * c.hiddenSize * c.intermediateSize + (c.mlpBias ? 2 * c.intermediateSize + c.hiddenSize : 0);
  const layer = attn + mlp + 2 * c.hiddenSize;
  return c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 1 : 2) + c.numLayers * layer + c.hiddenSize;
}
