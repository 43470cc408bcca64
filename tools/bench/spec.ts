/**
 * What `npm run bench` measures: one model and a list of rows, as plain JSON so the same spec is
 * sent to the baselines (tools/bench/torch_bench.py receives it verbatim). Shapes and data live
 * here only.
 */
import { streamSlice, type BatchPlan, type KeptStep } from '../../src/train/batches.js';
import { Rng } from '../../src/util/rng.js';
import type { LoraConfig } from '../../src/model/lora.js';

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

/**
 * The Amateur of the `sample` row: a smaller Qwen2 with the bench model's vocabulary (0.9M
 * parameters, of which the embedding and the untied head are 0.5M).
 */
export const BENCH_AMATEUR_CONFIG = {
  ...BENCH_MODEL_CONFIG,
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  intermediate_size: 344,
} as const;

/** A kept step of the `train-lightreasoner` row: train position (length − 1) of trajectory `trajectory` toward (ids, weights). */
export interface BenchRecord {
  trajectory: number;
  length: number;
  ids: number[];
  weights: number[];
}

/** The work of one row, identical on every side. */
export type RowSpec =
  /** C[m, n] = A[m, k] · B[n, k]ᵀ: the BLAS kernel alone, to separate it from framework overhead. */
  | { kind: 'matmul'; m: number; n: number; k: number; seed: number }
  /** Forward + backward of token-level cross-entropy on every next-token position of [batch, seq]. */
  | { kind: 'train'; batch: number; seq: number; seed: number }
  /** Teacher-forced log-probs [seq, vocab] of one sequence. */
  | { kind: 'score'; seq: number; seed: number }
  /** Greedy decoding with a KV cache: [batch, prompt] prompts, newTokens each, no stop tokens. */
  | { kind: 'generate'; batch: number; prompt: number; newTokens: number; seed: number }
  /**
   * Stage 1 of LightReasoner on `prompts.length` questions: the Expert (the bench model) decodes
   * every prompt greedily (one batch, KV cache, no stop ids, so every question runs the full
   * budget), then every step from `firstStep` on is contrasted with the Amateur: KL(pE ‖ pA) over
   * the full vocabulary, plausible set alpha, contrastive soft label where KL ≥ beta.
   */
  | {
    kind: 'sample'; amateur: Record<string, unknown>; prompts: number[][]; newTokens: number; alpha: number; beta: number; firstStep: number; seed: number;
    /**
     * What the PyTorch side runs: 'per-step' (the default) the paper's code (kept generation
     * scores, a full Amateur forward per step); 'single-pass' one teacher-forced pass of each
     * model per question after generating (the Expert re-scores its trajectory).
     */
    reference?: 'per-step' | 'single-pass';
    /**
     * Our side (what `lightreasoner sample` runs): the Expert's logits kept from its decoding and
     * one teacher-forced Amateur pass per question (the default); with true, the Expert also
     * re-scores its trajectory in a teacher-forced pass (`sample --expert-rescore`).
     */
    expertRescore?: boolean;
  }
  /**
   * Stage 2 of LightReasoner: LoRA training on `records` (KL(v ‖ p_θ) at each record's last
   * position), micro-batches of `batch` records, an AdamW step every `gradAccum` micro-batches
   * (the last step of a window may have fewer). `records` are listed in the order both sides
   * consume them: our packed trainer's stream order (trajectories shuffled, each one's steps
   * together by length). A repetition trains one window of `recordsPerRepetition` records, the
   * next repetition the next window (cycling), so the repetitions cover the whole set.
   */
  | {
    kind: 'train-lightreasoner'; trajectories: number[][]; records: BenchRecord[]; recordsPerRepetition: number; batch: number; gradAccum: number;
    /** `alpha` is LoRA's α; the spec is JSON shared with torch_bench.py, which reads it under that name. */
    lora: BenchLora; lr: number; seed: number;
    /**
     * What the PyTorch side runs (ours always packs): 'per-record' (the default) one right-padded
     * row per record, as the paper's code; 'packed' the sequences of `packed` (our micro-batches:
     * one sequence per trajectory of a micro-batch, the loss at each of its records' positions).
     */
    reference?: 'per-record' | 'packed';
    /** With reference 'packed': per repetition window, per optimiser step, per micro-batch, the packed sequences. */
    packed?: PackedSequence[][][][];
  }
  /** Greedy decoding through a back end (src/backends/bench.ts): [batch, prompt] prompts, newTokens each, no stop ids. */
  | { kind: 'backend-generate'; batch: number; prompt: number; newTokens: number; seed: number }
  /** Teacher-forced next-token scores through a back end at every continuation step of `sequences` (prompt + continuation) sequences, scored concurrently. */
  | { kind: 'backend-score'; sequences: number; prompt: number; continuation: number; seed: number };

/**
 * How a row is read: `seconds` rows compare median times and `secondsPer1000Records` times per
 * 1,000 records (units = records) — ratio ours/baseline, lower is better; `tokensPerSecond` and
 * `questionsPerSecond` rows compare throughput (units per second) — ratio ours/baseline, higher
 * is better.
 */
export type Metric = 'seconds' | 'secondsPer1000Records' | 'tokensPerSecond' | 'questionsPerSecond';

export interface BenchLora { r: number; alpha: number; dropout: number; targets: Array<'q_proj' | 'v_proj'> }

/** A bench spec's LoRA settings as the engine's LoraConfig. */
export function benchLoraConfig(l: BenchLora): LoraConfig {
  return { r: l.r, loraAlpha: l.alpha, dropout: l.dropout, targets: [...l.targets] };
}

/** Rates (tokens or questions per second) are better higher; times lower (the paper rows' report). */
export function higherIsBetter(metric: Metric): boolean {
  return metric === 'tokensPerSecond' || metric === 'questionsPerSecond';
}

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
  baseline: BaselineKind;
}

/** PyTorch (tools/bench/torch_bench.py) or llama.cpp in this process (tools/bench/llama-baseline.ts). */
export type BaselineKind = 'torch' | 'llama.cpp';

/** A packed training sequence as plain JSON: ids, and the positions trained toward (ids, weights). */
export interface PackedSequence {
  ids: number[];
  targets: Array<{ row: number; ids: number[]; weights: number[] }>;
}

/**
 * Work in one repetition: `units` is what a throughput or per-record metric counts (tokens,
 * questions, records), else informational; `phases` splits `seconds` by phase where a side reports it.
 */
export interface Sample {
  seconds: number;
  units: number;
  phases?: Record<string, number>;
  /** The side's process-wide peak RSS in KiB after this repetition, where a side reports it (paper rows: one process per side and row). */
  peakRssKb?: number;
}

function randomIds(n: number, vocab: number, rng: Rng): number[] {
  return Array.from({ length: n }, () => rng.int(vocab));
}

/** `count` prompts of `length` random ids (equal lengths: no padding on either side). */
export function benchPrompts(count: number, length: number, vocab: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => randomIds(length, vocab, rng));
}

export interface LightReasonerDataOptions {
  trajectories: number;
  prompt: number;
  generated: number;
  /** Kept steps per trajectory, at distinct random steps. */
  keptPerTrajectory: number;
  /** Plausible tokens per soft label. */
  labelSize: number;
  vocab: number;
  /** Micro-batch and accumulation of the stream order (src/train/batches.ts). */
  batch: number;
  gradAccum: number;
  seed: number;
}

/**
 * A samples file's worth of training data with random ids: trajectories of prompt + generated ids,
 * and `keptPerTrajectory` records in each (the input is the prompt and the first `step` generated
 * ids; the label is `labelSize` random ids with random weights summing to 1), in the order our
 * packed trainer consumes them (shuffle 'trajectories', the first epoch).
 */
export function lightReasonerData(o: LightReasonerDataOptions): { trajectories: number[][]; records: BenchRecord[] } {
  const rng = new Rng(o.seed);
  const trajectories = Array.from({ length: o.trajectories }, () => randomIds(o.prompt + o.generated, o.vocab, rng));
  const steps: KeptStep[] = [];
  trajectories.forEach((_, g) => {
    const stepsAt = rng.shuffle(Array.from({ length: o.generated }, (_, t) => t)).slice(0, o.keptPerTrajectory);
    for (const t of stepsAt) {
      const ids: number[] = [];
      while (ids.length < o.labelSize) {
        const id = rng.int(o.vocab);
        if (!ids.includes(id)) ids.push(id);
      }
      const raw = ids.map(() => 0.05 + rng.next());
      const z = raw.reduce((a, b) => a + b, 0);
      // Six digits keep the spec small; the labels need not sum to 1 exactly for timing.
      steps.push({ group: g, length: o.prompt + t, ids, weights: raw.map((w) => Number((w / z).toPrecision(6))) });
    }
  });
  const plan = lightReasonerPlan(trajectories, steps, o);
  const ordered = streamSlice(plan, 0, steps.length);
  return { trajectories, records: ordered.map((s) => ({ trajectory: s.group, length: s.length, ids: s.ids, weights: s.weights })) };
}

/** The packed trainer's batch plan over these trajectories and steps (how `lightreasoner train` batches them). */
export function lightReasonerPlan(trajectories: number[][], steps: KeptStep[], o: { batch: number; gradAccum: number; seed: number }): BatchPlan {
  return {
    sequences: new Map(trajectories.map((t, g) => [g, Int32Array.from(t)])), steps,
    batchSize: o.batch, gradAccum: o.gradAccum, shuffle: 'trajectories', pack: true, seed: o.seed,
  };
}

const SAMPLE_QUESTIONS = 8, SAMPLE_PROMPT = 60, SAMPLE_NEW_TOKENS = 128;
const TRAIN_LR = { trajectories: 40, prompt: 60, generated: 128, keptPerTrajectory: 25, labelSize: 3, batch: 8, gradAccum: 2, seed: 71 };

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
  {
    id: 'sample', title: `sample ${SAMPLE_QUESTIONS} q, ${SAMPLE_PROMPT}+${SAMPLE_NEW_TOKENS} tok, per-step Amateur ref`, metric: 'questionsPerSecond', target: { kind: 'minRatio', value: 3 }, baseline: 'torch',
    spec: {
      kind: 'sample', amateur: { ...BENCH_AMATEUR_CONFIG }, prompts: benchPrompts(SAMPLE_QUESTIONS, SAMPLE_PROMPT, BENCH_MODEL_CONFIG.vocab_size, 61),
      newTokens: SAMPLE_NEW_TOKENS, alpha: 0.2, beta: 0.4, firstStep: 0, seed: 62,
    },
  },
  {
    id: 'train-lightreasoner', title: 'LoRA train, packed vs per-record ref', metric: 'secondsPer1000Records', target: { kind: 'maxRatio', value: 0.2 }, baseline: 'torch',
    spec: {
      kind: 'train-lightreasoner', ...lightReasonerData({ ...TRAIN_LR, vocab: BENCH_MODEL_CONFIG.vocab_size }), recordsPerRepetition: 200, batch: TRAIN_LR.batch, gradAccum: TRAIN_LR.gradAccum,
      lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }, lr: 5e-5, seed: TRAIN_LR.seed,
    },
  },
  {
    id: 'llama-generate', title: 'greedy gen batch 8, 32+128 tok (back ends)', metric: 'tokensPerSecond', target: null, baseline: 'llama.cpp',
    spec: { kind: 'backend-generate', batch: 8, prompt: 32, newTokens: 128, seed: 81 },
  },
  {
    id: 'llama-score', title: 'score 8 x (32+128) tok (back ends)', metric: 'tokensPerSecond', target: null, baseline: 'llama.cpp',
    spec: { kind: 'backend-score', sequences: 8, prompt: 32, continuation: 128, seed: 91 },
  },
];
