/**
 * Stage 2 of LightReasoner as one call (what `lightreasoner train` runs): LoRA-tune the Expert on
 * the kept steps of a samples file with
 *   L = batch mean over records of KL(v_C ‖ p_θ(· | record's input)) at the record's last input position,
 * over the model's full output vocabulary, and write a PEFT adapter.
 *
 *   const report = trainLora({ expert: 'models/expert', samples: 'samples.jsonl', out: 'adapter', ...DEFAULT_TRAIN_SETTINGS });
 *
 * Defaults are the reference's (LoRA r 8, α 16, dropout 0.05 on q_proj/v_proj; lr 5e-5, batch 8 ×
 * accumulation 2, 1000 steps) with Hugging Face Trainer's optimiser defaults (AdamW β 0.9/0.999,
 * ε 1e-8, no weight decay, linear decay, no warmup, gradient clipping at norm 1).
 */
import { resolve } from 'node:path';
import { loadModel } from '../model/load.js';
import { createLoraAdapter, DEFAULT_LORA, type LoraConfig } from '../model/lora.js';
import { saveAdapter } from '../model/adapter-dir.js';
import { stepData, type BatchPlan, type KeptStep } from './batches.js';
import { SAMPLING_SYSTEM_PROMPT } from '../data/chat-format.js';
import { HF_ADAMW_DEFAULTS } from './adamw.js';
import { checkTrainingOutDir, runTraining, type LoopResult } from './loop.js';
import type { Transformer } from '../model/transformer.js';
import type { StepData } from './trainer.js';
import type { ScheduleKind } from './schedule.js';
import { Trainer } from './trainer.js';
import { loadTrainingSet, type TrainingSetStats } from './training-set.js';
import { UserError } from '../util/errors.js';
import { acquireRunLock, withRunLock, type RunLock } from '../util/run-dir.js';
import type { ProgressCallback } from '../util/progress.js';
import { lossWindows } from './loss-windows.js';

/** What every LoRA training run is configured with (LightReasoner's `train`, and the SFT baseline). */
export interface LoraRunSettings {
  lora: LoraConfig;
  lr: number;
  /** Examples (records, or trajectories for SFT) per micro-batch. */
  batchSize: number;
  /** Micro-batches per optimiser step. */
  gradAccum: number;
  maxSteps: number;
  /** Checkpoint every this many steps (0: never). */
  saveSteps: number;
  seed: number;
  warmupSteps: number;
  schedule: ScheduleKind;
  weightDecay: number;
  maxGradNorm: number;
}

export interface TrainSettings extends LoraRunSettings {
  /** One packed pass per trajectory of a micro-batch (true) or one sequence per record. */
  pack: boolean;
  shuffle: BatchPlan['shuffle'];
  /** System prompt for re-tokenising text-only samples. */
  systemPrompt: string;
  /** Cut inputs longer than this from the left (default: refuse inputs beyond the context window). */
  maxLength?: number;
}

export const DEFAULT_TRAIN_SETTINGS: TrainSettings = {
  lora: DEFAULT_LORA, lr: 5e-5, batchSize: 8, gradAccum: 2, maxSteps: 1000, saveSteps: 200, seed: 0, pack: true,
  shuffle: 'trajectories', warmupSteps: 0, schedule: 'linear', weightDecay: HF_ADAMW_DEFAULTS.weightDecay, maxGradNorm: 1.0,
  systemPrompt: SAMPLING_SYSTEM_PROMPT,
};

export interface TrainJob extends TrainSettings {
  expert: string;
  samples: string;
  out: string;
  /** Accepted for compatibility: a matching run in `out` is always continued (src/train/loop.ts). */
  resume?: boolean;
  onProgress?: ProgressCallback;
  /** Warnings (re-tokenisation, truncation, a repaired log), reported as they arise. */
  onWarning?: (message: string) => void;
}

export interface TrainReport {
  out: string;
  data: TrainingSetStats;
  /** Steps run by this process, and the step it started from (0, a checkpoint's, or maxSteps when the run had finished). */
  steps: number;
  resumedFrom: number;
  maxSteps: number;
  /** Records consumed by this process's steps (a record can be seen once per epoch). */
  recordsSeen: number;
  epochs: number;
  /** Supervised positions trained by this process (one per record seen). */
  supervisedPositions: number;
  /** Tuned tokens: supervised positions trained over the whole run, resumes included. */
  tunedTokens: number;
  /** Tokens run through forward and backward by this process. */
  forwardTokens: number;
  /** Mean loss of the first and the last lossWindow steps of the whole run, resumes included (src/train/loss-windows.ts). */
  lossWindow: number;
  firstLoss: number;
  lastLoss: number;
  seconds: number;
  stepsPerSecond: number;
  recordsPerSecond: number;
  warnings: string[];
}

/** The LoRA run's numbers, checked before any work (train, and sft before its sampling stage). */
export function checkLoraRunSettings(s: LoraRunSettings): void {
  const posInt = (v: number, flag: string): void => {
    if (!Number.isInteger(v) || v < 1) throw new UserError(`${flag} must be a positive integer, got ${v}`);
  };
  posInt(s.batchSize, '--batch-size');
  posInt(s.gradAccum, '--grad-accum');
  posInt(s.maxSteps, '--max-steps');
  if (!Number.isInteger(s.saveSteps) || s.saveSteps < 0) throw new UserError(`--save-steps must be a non-negative integer, got ${s.saveSteps}`);
  if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0) throw new UserError(`--warmup-steps must be a non-negative integer, got ${s.warmupSteps}`);
  if (!Number.isInteger(s.seed) || s.seed < 0 || s.seed > 0xffffffff) throw new UserError(`--seed must be an integer from 0 to 4294967295, got ${s.seed}`);
  if (!(s.lr > 0) || !Number.isFinite(s.lr)) throw new UserError(`--lr must be a positive number, got ${s.lr}`);
  if (!(s.weightDecay >= 0) || !Number.isFinite(s.weightDecay)) throw new UserError(`--weight-decay must be a non-negative number, got ${s.weightDecay}`);
  if (!(s.maxGradNorm > 0)) throw new UserError(`--max-grad-norm must be a positive number (Infinity turns clipping off), got ${s.maxGradNorm}`);
}

/** One LoRA training run on given data: what `train` and the SFT baseline share. */
export interface LoraTraining {
  /** The model to adapt (a fresh adapter is put on it). */
  model: Transformer;
  settings: LoraRunSettings;
  /** The micro-batches of optimiser step `step` (a pure function of the step, for exact resume). */
  data: (step: number) => StepData;
  out: string;
  /** Identity of the run (arguments and data), compared when it continues; not the step count. */
  fingerprint: Record<string, unknown>;
  /** Written into adapter_config.json. */
  baseModel: string;
  adapterExtra: Record<string, unknown>;
  stage: string;
  onProgress?: ProgressCallback;
  onWarning?: (message: string) => void;
}

/**
 * Put a LoRA adapter on the model and train it (AdamW, schedule, clipping, checkpoints and
 * continuation from src/train/loop.ts), writing a PEFT adapter into `out`. The caller holds the
 * lock on `out`.
 */
export function runLoraTraining(t: LoraTraining): LoopResult {
  const s = t.settings;
  const adapter = createLoraAdapter(t.model, s.lora, s.seed);
  t.model.adapter = adapter;
  const trainer = new Trainer(t.model, {
    what: 'lora', lr: s.lr, schedule: s.schedule, warmupSteps: s.warmupSteps, maxSteps: s.maxSteps, maxGradNorm: s.maxGradNorm,
    adam: { ...HF_ADAMW_DEFAULTS, weightDecay: s.weightDecay }, seed: s.seed,
  });
  return runTraining(trainer, t.data, {
    outDir: t.out, maxSteps: s.maxSteps, saveSteps: s.saveSteps, fingerprint: t.fingerprint, schedule: s.schedule, stage: t.stage,
    writeArtifact: (dir) => saveAdapter(dir, adapter, { baseModel: t.baseModel, extra: t.adapterExtra }),
    ...(t.onProgress ? { onProgress: t.onProgress } : {}),
    ...(t.onWarning ? { onWarning: t.onWarning } : {}),
  });
}

/**
 * Take the lock on a training output directory and check it can hold this run, before anything is
 * loaded: a second writer, an unwritable or foreign --out fails fast.
 */
export function lockTrainingOut(out: string): RunLock {
  const lock = acquireRunLock(out, 'dir');
  try {
    checkTrainingOutDir(out);
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}

/** Train a LoRA adapter on `job.samples`; see the module comment. */
export async function trainLora(job: TrainJob, lock?: RunLock): Promise<TrainReport> {
  checkLoraRunSettings(job);
  return withRunLock(job.out, 'dir', lock, () => trainLocked(job), () => checkTrainingOutDir(job.out));
}

async function trainLocked(job: TrainJob): Promise<TrainReport> {
  const warn = (m: string): void => job.onWarning?.(m);
  const lm = await loadModel(job.expert, { what: 'Expert model' });
  const { model } = lm;
  const set = loadTrainingSet(job.samples, {
    vocabSize: model.config.vocabSize, contextWindow: model.config.maxPositionEmbeddings, tokenizer: lm.tokenizer,
    systemPrompt: job.systemPrompt, ...(job.maxLength !== undefined ? { maxLength: job.maxLength } : {}),
  });
  set.warnings.forEach(warn);
  const plan: BatchPlan = {
    sequences: set.sequences, steps: set.steps, batchSize: job.batchSize, gradAccum: job.gradAccum, shuffle: job.shuffle, pack: job.pack, seed: job.seed,
  };
  const cache = new Map<number, KeptStep[]>();
  const fingerprint: Record<string, unknown> = {
    expert: lm.fingerprint, data: set.fingerprint,
    rank: job.lora.r, lora_alpha: job.lora.loraAlpha, lora_dropout: job.lora.dropout, target: job.lora.targets,
    lr: job.lr, batch_size: job.batchSize, grad_accum: job.gradAccum, seed: job.seed, pack: job.pack,
    shuffle: job.shuffle, warmup_steps: job.warmupSteps, schedule: job.schedule, weight_decay: job.weightDecay, max_grad_norm: job.maxGradNorm,
  };
  const r: LoopResult = runLoraTraining({
    model, settings: job, data: (step) => stepData(plan, step, cache), out: job.out, fingerprint, stage: 'train',
    baseModel: resolve(job.expert), adapterExtra: { samples: resolve(job.samples), records: set.stats.records, max_steps: job.maxSteps, lr: job.lr, seed: job.seed },
    ...(job.onProgress ? { onProgress: job.onProgress } : {}),
    ...(job.onWarning ? { onWarning: job.onWarning } : {}),
  });
  const steps = r.steps.length;
  return {
    out: job.out,
    data: set.stats,
    steps,
    resumedFrom: r.resumedFrom,
    maxSteps: job.maxSteps,
    recordsSeen: r.targets,
    epochs: r.targets / set.stats.records,
    supervisedPositions: r.targets,
    tunedTokens: r.run.targets,
    forwardTokens: r.tokens,
    ...lossWindows(r.run.losses),
    seconds: r.seconds,
    stepsPerSecond: steps / Math.max(r.seconds, 1e-9),
    recordsPerSecond: r.targets / Math.max(r.seconds, 1e-9),
    warnings: set.warnings,
  };
}
