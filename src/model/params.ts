/**
 * The parameters of a Qwen2/Llama decoder, by layer, with the Hugging Face name of each tensor.
 * `expectedTensors` is the contract between a config and a checkpoint: every loader checks the
 * file against it, so a wrong shape is reported with its name before any compute.
 */
import type { ModelConfig } from './config.js';
import type { Tensor, TensorMap } from './tensor.js';
import { fmtShape, numel, shapeEquals } from './tensor.js';
import { UserError } from '../util/errors.js';

/** Linear layers by their HF module names; each has weight [out, in] and maybe bias [out]. */
export const LINEAR_NAMES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LinearName = (typeof LINEAR_NAMES)[number];

export interface Linear {
  /** [out, in], row-major, as stored by PyTorch. Empty when the weights are held as bfloat16. */
  weight: Float32Array;
  /** The weight as bfloat16 bits (inference only; src/model/bf16-weights.ts). */
  weightBf16?: Uint16Array;
  bias: Float32Array | null;
  outFeatures: number;
  inFeatures: number;
}

export interface LayerParams {
  inputNorm: Float32Array; // [hidden]
  postAttentionNorm: Float32Array; // [hidden]
  q_proj: Linear; // [heads*headDim, hidden]
  k_proj: Linear; // [kvHeads*headDim, hidden]
  v_proj: Linear; // [kvHeads*headDim, hidden]
  o_proj: Linear; // [hidden, heads*headDim]
  gate_proj: Linear; // [intermediate, hidden]
  up_proj: Linear; // [intermediate, hidden]
  down_proj: Linear; // [hidden, intermediate]
}

export interface ModelParams {
  embed: Float32Array; // [vocab, hidden]
  layers: LayerParams[];
  finalNorm: Float32Array; // [hidden]
  /** [vocab, hidden]; the same array as `embed` when embeddings are tied. */
  lmHead: Float32Array;
  /** embed and lmHead as bfloat16 bits, when the weights are held so (src/model/bf16-weights.ts). */
  embedBf16?: Uint16Array;
  lmHeadBf16?: Uint16Array;
}

export interface TensorSpec {
  name: string;
  shape: number[];
}

function linearDims(c: ModelConfig, name: LinearName): [out: number, inp: number, bias: boolean] {
  const q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
  switch (name) {
    case 'q_proj': return [q, c.hiddenSize, c.attentionBias];
    case 'k_proj': return [kv, c.hiddenSize, c.attentionBias];
    case 'v_proj': return [kv, c.hiddenSize, c.attentionBias];
    case 'o_proj': return [c.hiddenSize, q, c.outputBias];
    case 'gate_proj': return [c.intermediateSize, c.hiddenSize, c.mlpBias];
    case 'up_proj': return [c.intermediateSize, c.hiddenSize, c.mlpBias];
    case 'down_proj': return [c.hiddenSize, c.intermediateSize, c.mlpBias];
  }
}

export function linearModule(name: LinearName): 'self_attn' | 'mlp' {
  return name === 'gate_proj' || name === 'up_proj' || name === 'down_proj' ? 'mlp' : 'self_attn';
}

/** HF name prefix of a linear layer, e.g. "model.layers.3.self_attn.q_proj". */
export function linearPrefix(layer: number, name: LinearName): string {
  return `model.layers.${layer}.${linearModule(name)}.${name}`;
}

/** Every tensor a checkpoint of this config must hold, with its shape. */
export function expectedTensors(c: ModelConfig): TensorSpec[] {
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, c.hiddenSize] }];
  for (let l = 0; l < c.numLayers; l++) {
    specs.push({ name: `model.layers.${l}.input_layernorm.weight`, shape: [c.hiddenSize] });
    for (const n of LINEAR_NAMES) {
      const [out, inp, bias] = linearDims(c, n);
      specs.push({ name: `${linearPrefix(l, n)}.weight`, shape: [out, inp] });
      if (bias) specs.push({ name: `${linearPrefix(l, n)}.bias`, shape: [out] });
    }
    specs.push({ name: `model.layers.${l}.post_attention_layernorm.weight`, shape: [c.hiddenSize] });
  }
  specs.push({ name: 'model.norm.weight', shape: [c.hiddenSize] });
  if (!c.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, c.hiddenSize] });
  return specs;
}

/**
 * Check `tensors` against the config and arrange them by layer. `source` names the file or
 * directory in errors. A tied checkpoint that also stores lm_head.weight is accepted (the copy is
 * ignored, as transformers does).
 */
export function paramsFromTensors(c: ModelConfig, tensors: TensorMap, source: string): ModelParams {
  for (const spec of expectedTensors(c)) {
    const t = tensors.get(spec.name);
    if (!t) throw new UserError(`${source}: tensor "${spec.name}" is missing (expected shape ${fmtShape(spec.shape)})`);
    if (!shapeEquals(t.shape, spec.shape)) {
      throw new UserError(`${source}: tensor "${spec.name}" has shape ${fmtShape(t.shape)}, expected ${fmtShape(spec.shape)} from config.json`);
    }
    if (t.data.length !== numel(spec.shape)) throw new UserError(`${source}: tensor "${spec.name}" holds ${t.data.length} values, expected ${numel(spec.shape)}`);
  }
  const get = (name: string): Float32Array => tensors.get(name)!.data;
  const linear = (l: number, n: LinearName): Linear => {
    const [out, inp, bias] = linearDims(c, n);
    return { weight: get(`${linearPrefix(l, n)}.weight`), bias: bias ? get(`${linearPrefix(l, n)}.bias`) : null, outFeatures: out, inFeatures: inp };
  };
  const layers: LayerParams[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    layers.push({
      inputNorm: get(`model.layers.${l}.input_layernorm.weight`),
      postAttentionNorm: get(`model.layers.${l}.post_attention_layernorm.weight`),
      q_proj: linear(l, 'q_proj'), k_proj: linear(l, 'k_proj'), v_proj: linear(l, 'v_proj'), o_proj: linear(l, 'o_proj'),
      gate_proj: linear(l, 'gate_proj'), up_proj: linear(l, 'up_proj'), down_proj: linear(l, 'down_proj'),
    });
  }
  const embed = get('model.embed_tokens.weight');
  return { embed, layers, finalNorm: get('model.norm.weight'), lmHead: c.tieWordEmbeddings ? embed : get('lm_head.weight') };
}

/** The inverse of paramsFromTensors: every tensor by HF name (lm_head omitted when tied). */
export function tensorsFromParams(c: ModelConfig, p: ModelParams): TensorMap {
  const m: TensorMap = new Map();
  const put = (name: string, data: Float32Array, shape: number[]): void => { m.set(name, { data, shape }); };
  put('model.embed_tokens.weight', p.embed, [c.vocabSize, c.hiddenSize]);
  p.layers.forEach((L, l) => {
    put(`model.layers.${l}.input_layernorm.weight`, L.inputNorm, [c.hiddenSize]);
    for (const n of LINEAR_NAMES) {
      const lin = L[n];
      put(`${linearPrefix(l, n)}.weight`, lin.weight, [lin.outFeatures, lin.inFeatures]);
      if (lin.bias) put(`${linearPrefix(l, n)}.bias`, lin.bias, [lin.outFeatures]);
    }
    put(`model.layers.${l}.post_attention_layernorm.weight`, L.postAttentionNorm, [c.hiddenSize]);
  });
  put('model.norm.weight', p.finalNorm, [c.hiddenSize]);
  if (!c.tieWordEmbeddings) put('lm_head.weight', p.lmHead, [c.vocabSize, c.hiddenSize]);
  return m;
}

export type { Tensor };
