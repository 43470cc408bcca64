/**
 * What `npm run bench` measures: one model and a list of rows, as plain JSON so the same spec is
 * sent to the baselines (tools/bench/torch_bench.py receives it verbatim). Shapes live here only.
 */

/** Hugging Face config.json of the bench model: Qwen2 architecture, ~4.2M parameters, untied. */
export const BENCH_MODEL_CONFIG = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  vocab_size: 2048,
  hidden_size: 256,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 4,
  intermediate_size: 688,
  tie_word_embeddings: false,
  max_position_embeddings: 512,
  rope_theta: 10000,
  rope_scaling: null,
  rms_norm_eps: 1e-6,
  hidden_act: 'silu',
  initializer_range: 0.02,
  use_sliding_window: false,
  torch_dtype: 'float32',
} as const;

/** The work of one row, identical on every side. */
export type RowSpec =
  /** C[m, n] = A[m, k] · B[n, k]ᵀ: the BLAS kernel alone, to separate it from framework overhead. */
  | { kind: 'matmul'; m: number; n: number; k: number; seed: number }
  /** Forward + backward of token-level cross-entropy on every next-token position of [batch, seq]. */
  | { kind: 'train'; batch: number; seq: number; seed: number }
  /** Teacher-forced log-probs [seq, vocab] of one sequence. */
  | { kind: 'score'; seq: number; seed: number }
  /** Greedy decoding with a KV cache: [batch, prompt] prompts, newTokens each, no stop tokens. */
  | { kind: 'generate'; batch: number; prompt: number; newTokens: number; seed: number };

/**
 * How a row is read: `seconds` rows compare median times (ratio ours/baseline, lower is better);
 * `tokensPerSecond` rows compare throughput (ratio ours/baseline, higher is better).
 */
export type Metric = 'seconds' | 'tokensPerSecond';

/** `maxRatio`: ours/baseline time at most `value`; `minRatio`: ours/baseline throughput at least `value`. */
export type Target = { kind: 'maxRatio'; value: number } | { kind: 'minRatio'; value: number };

export interface BenchRow {
  id: string;
  title: string;
  metric: Metric;
  /** null: informational row. */
  target: Target | null;
  spec: RowSpec;
  /** Which baseline this row is compared with. */
  baseline: 'torch';
}

/** Work in one repetition: `units` is tokens for generation (used by tokensPerSecond), else informational. */
export interface Sample {
  seconds: number;
  units: number;
}

export const ROWS: readonly BenchRow[] = [
  {
    id: 'matmul', title: 'sgemm 1024x688x256 (BLAS only)', metric: 'seconds', target: null, baseline: 'torch',
    spec: { kind: 'matmul', m: 1024, n: 688, k: 256, seed: 11 },
  },
  {
    id: 'train', title: 'train step fwd+bwd, batch 8 x seq 128', metric: 'seconds', target: { kind: 'maxRatio', value: 1.5 }, baseline: 'torch',
    spec: { kind: 'train', batch: 8, seq: 128, seed: 21 },
  },
  {
    id: 'score', title: 'score 256 tokens (log-probs)', metric: 'seconds', target: { kind: 'maxRatio', value: 1.5 }, baseline: 'torch',
    spec: { kind: 'score', seq: 256, seed: 31 },
  },
  {
    id: 'generate-b1', title: 'greedy gen batch 1, 32+128 tok', metric: 'tokensPerSecond', target: { kind: 'minRatio', value: 1 }, baseline: 'torch',
    spec: { kind: 'generate', batch: 1, prompt: 32, newTokens: 128, seed: 41 },
  },
  {
    id: 'generate-b8', title: 'greedy gen batch 8, 32+128 tok', metric: 'tokensPerSecond', target: { kind: 'minRatio', value: 1 }, baseline: 'torch',
    spec: { kind: 'generate', batch: 8, prompt: 32, newTokens: 128, seed: 51 },
  },
];
