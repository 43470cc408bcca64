/**
 * Tiny models for tests: a config from a few numbers, with random weights. Not used at run time.
 */
import { parseConfig, type ModelConfig } from './config.js';
import { initParams } from './init.js';
import { Transformer } from './transformer.js';

export interface TinySpec {
  architecture?: 'qwen2' | 'llama';
  vocab?: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  intermediate?: number;
  tied?: boolean;
  maxPositions?: number;
  ropeTheta?: number;
}

export function tinyConfig(s: TinySpec = {}): ModelConfig {
  const arch = s.architecture ?? 'qwen2';
  return parseConfig({
    architectures: [arch === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: arch,
    vocab_size: s.vocab ?? 23,
    hidden_size: s.hidden ?? 16,
    num_hidden_layers: s.layers ?? 2,
    num_attention_heads: s.heads ?? 4,
    num_key_value_heads: s.kvHeads ?? 2,
    intermediate_size: s.intermediate ?? 24,
    tie_word_embeddings: s.tied ?? false,
    max_position_embeddings: s.maxPositions ?? 128,
    rope_theta: s.ropeTheta ?? 10000,
    rms_norm_eps: 1e-6,
    torch_dtype: 'float32',
  }, 'tinyConfig');
}

/** A tiny model with weights large enough (std 0.3) that attention is far from uniform. */
export function tinyModel(s: TinySpec = {}, seed = 1): Transformer {
  const config = tinyConfig(s);
  const params = initParams(config, seed, 0.3);
  // Non-trivial norms and biases so their gradients are exercised too.
  let k = 0;
  const bump = (a: Float32Array | null, base: number): void => {
    if (!a) return;
    for (let i = 0; i < a.length; i++) a[i] = base + 0.1 * Math.sin(++k);
  };
  for (const L of params.layers) {
    bump(L.inputNorm, 1);
    bump(L.postAttentionNorm, 1);
    bump(L.q_proj.bias, 0);
    bump(L.k_proj.bias, 0);
    bump(L.v_proj.bias, 0);
  }
  bump(params.finalNorm, 1);
  return new Transformer(config, params);
}
