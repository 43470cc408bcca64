/**
 * Tiny models for tests: a config from a few numbers, with random weights. Not used at run time.
 */
import { parseConfig, type ModelConfig } from './config.js';
import { initParams } from './init.js';
import { Transformer } from './transformer.js';
import { saveModelDir } from './model-dir.js';
import { join } from 'node:path';
import { testTempDir } from '../testing/tmp.js';
import { tinyTokenizerDir, writeTokenizerDir } from '../tokenizer/testing.js';
import type { TrainedTokenizer } from '../tokenizer/bpe-trainer.js';

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

/**
 * A complete tiny Hugging Face model directory in a fresh temp dir: config.json, random weights
 * (model.safetensors) and a ChatML tokenizer trained on the tokenizer fixtures' corpus, so CLI
 * commands can be run on it end to end. Models made with the same `tokenizerVocab` share one
 * tokenizer (same ids), as an Expert and its Amateur must.
 */
export function tinyModelDir(spec: TinySpec & { tokenizerVocab?: number } = {}, seed = 1): string {
  const tokVocab = spec.tokenizerVocab ?? 320;
  const { trained } = sharedTokenizer(tokVocab);
  const vocab = Math.max(spec.vocab ?? 0, tokVocabSize(trained));
  const model = tinyModel({ ...spec, vocab, maxPositions: spec.maxPositions ?? 512 }, seed);
  const dir = join(testTempDir('lr-model-'), 'model');
  saveModelDir(dir, model.config, model.params);
  writeTokenizerDir(dir, trained);
  return dir;
}

const tokenizers = new Map<number, ReturnType<typeof tinyTokenizerDir>>();
function sharedTokenizer(vocab: number): ReturnType<typeof tinyTokenizerDir> {
  let t = tokenizers.get(vocab);
  if (!t) tokenizers.set(vocab, (t = tinyTokenizerDir(vocab)));
  return t;
}

function tokVocabSize(trained: TrainedTokenizer): number {
  const json = trained.tokenizerJson as { model: { vocab: Record<string, number> }; added_tokens: Array<{ id: number }> };
  return Math.max(...Object.values(json.model.vocab), ...json.added_tokens.map((t) => t.id)) + 1;
}
