/**
 * `lightreasoner train`: Stage 2, LoRA-tune the Expert on the kept steps of a samples file.
 *
 *   lightreasoner train --expert models/expert --samples samples.jsonl --out adapters/lr
 *   (the same command again continues from the last checkpoint in --out; a larger --max-steps
 *   extends a finished run when the schedule is constant: src/train/loop.ts)
 *
 * Writes a PEFT adapter (adapter_config.json, adapter_model.safetensors), training_log.jsonl and
 * checkpoints/step-N into --out, and prints a summary.
 */
import { Option, type Command } from 'commander';
import { parseTargets } from '../model/lora.js';
import { DEFAULT_TRAIN_SETTINGS, trainLora, type LoraRunSettings, type TrainReport, type TrainSettings } from '../train/train-lora.js';
import type { ScheduleKind } from '../train/schedule.js';
import { extendedNumber, finiteNumber, JSON_HELP, nonNegativeInt, positiveInt, printSummary } from './flags.js';
import { formatLossWindows } from '../train/loss-windows.js';
import { cliProgressCallback } from '../util/progress.js';
import { addRevisionOptions, resolveCliModel } from './hub-options.js';

/** The flags addLoraRunOptions adds, as commander parses them. */
export interface LoraRunFlags {
  rank: string;
  loraAlpha: string;
  loraDropout: string;
  target: string;
  lr: string;
  batchSize: string;
  gradAccum: string;
  maxSteps: string;
  saveSteps: string;
  seed: string;
  warmupSteps: string;
  schedule: ScheduleKind;
  weightDecay: string;
  maxGradNorm: string;
}

export interface TrainCliOptions extends LoraRunFlags {
  expert: string;
  samples: string;
  out: string;
  resume?: boolean;
  /** Commander's `--no-pack` sets this false. */
  pack: boolean;
  shuffle: 'trajectories' | 'records';
  systemPrompt: string;
  maxLength?: string;
  json?: boolean;
}

/** LoRA and optimisation flags → settings; every bad value names its flag. */
export function loraRunSettingsFromFlags(o: LoraRunFlags): LoraRunSettings {
  return {
    lora: { r: positiveInt(o.rank, '--rank'), loraAlpha: finiteNumber(o.loraAlpha, '--lora-alpha'), dropout: finiteNumber(o.loraDropout, '--lora-dropout'), targets: parseTargets(o.target) },
    lr: finiteNumber(o.lr, '--lr'),
    batchSize: positiveInt(o.batchSize, '--batch-size'),
    gradAccum: positiveInt(o.gradAccum, '--grad-accum'),
    maxSteps: positiveInt(o.maxSteps, '--max-steps'),
    saveSteps: nonNegativeInt(o.saveSteps, '--save-steps'),
    seed: nonNegativeInt(o.seed, '--seed'),
    warmupSteps: nonNegativeInt(o.warmupSteps, '--warmup-steps'),
    schedule: o.schedule,
    weightDecay: finiteNumber(o.weightDecay, '--weight-decay'),
    maxGradNorm: extendedNumber(o.maxGradNorm, '--max-grad-norm'),
  };
}

/**
 * The LoRA and optimisation flags shared by `train` and `sft` (defaults: the paper's LoRA and
 * Hugging Face Trainer's optimiser). `unit` is what a batch counts.
 */
export function addLoraRunOptions(cmd: Command, unit: 'records' | 'trajectories'): Command {
  const d = DEFAULT_TRAIN_SETTINGS;
  return cmd
    .option('--rank <n>', 'LoRA rank r', String(d.lora.r))
    .option('--lora-alpha <x>', 'LoRA alpha; the adapter\'s output is scaled by alpha / r', String(d.lora.loraAlpha))
    .option('--lora-dropout <p>', 'dropout on the LoRA branch\'s input, in [0, 1)', String(d.lora.dropout))
    .option('--target <list>', 'comma-separated linear layers to adapt, from q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj', d.lora.targets.join(','))
    .option('--lr <x>', 'peak learning rate of AdamW', String(d.lr))
    .option('--batch-size <n>', `${unit} per micro-batch`, String(d.batchSize))
    .option('--grad-accum <n>', `micro-batches per optimiser step (the loss is the mean over all their ${unit === 'records' ? 'records' : 'target tokens'})`, String(d.gradAccum))
    .option('--max-steps <n>', 'optimiser steps to train; the data repeats in fresh shuffles as needed', String(d.maxSteps))
    .option('--save-steps <n>', 'write a resumable checkpoint every n steps (the last two are kept; 0: none)', String(d.saveSteps))
    .option('--seed <n>', 'seed of the adapter initialisation, the data order and the dropout masks', String(d.seed))
    .option('--warmup-steps <n>', 'steps of linear warmup from 0 to --lr', String(d.warmupSteps))
    .addOption(new Option('--schedule <kind>', 'learning-rate schedule after warmup').choices(['linear', 'cosine', 'constant']).default(d.schedule))
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', String(d.weightDecay))
    .option('--max-grad-norm <x>', 'clip the global gradient norm to this (Infinity: no clipping)', String(d.maxGradNorm));
}

/** Flags → settings; every bad value names its flag. */
export function trainSettingsFromFlags(o: TrainCliOptions): TrainSettings {
  return {
    ...loraRunSettingsFromFlags(o),
    pack: o.pack,
    shuffle: o.shuffle,
    systemPrompt: o.systemPrompt,
    ...(o.maxLength !== undefined ? { maxLength: positiveInt(o.maxLength, '--max-length') } : {}),
  };
}

export function formatTrainReport(r: TrainReport): string {
  const d = r.data;
  if (r.steps === 0 && r.resumedFrom >= r.maxSteps) return `${r.out} already holds the finished run (${r.maxSteps} steps); nothing to do`;
  const f = (x: number, digits = 4): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');
  return [
    `trained ${r.out}: steps ${r.resumedFrom > 0 ? `${r.resumedFrom + 1}-` : ''}${r.maxSteps} (${r.steps} run here${r.resumedFrom > 0 ? `, resumed from step ${r.resumedFrom}` : ''})`,
    `data          ${d.records} records (${d.exactRecords} exact ids, ${d.retokenisedRecords} re-tokenised${d.truncatedRecords ? `, ${d.truncatedRecords} cut to --max-length` : ''}) in ${d.sequences} sequences; longest input ${d.longestInput} tokens`,
    `seen          ${r.recordsSeen} records (${f(r.epochs, 2)} epochs)`,
    `tuned tokens  ${r.tunedTokens} supervised positions; ${r.forwardTokens} tokens through forward/backward`,
    `loss          ${formatLossWindows(r)}`,
    `time          ${f(r.seconds, 1)} s; ${f(r.stepsPerSecond, 3)} steps/s, ${f(r.recordsPerSecond, 1)} records/s`,
  ].join('\n');
}

export function registerTrain(program: Command): void {
  const d = DEFAULT_TRAIN_SETTINGS;
  const cmd = program
    .command('train')
    .description('Stage 2: LoRA-tune the Expert on the kept steps of a samples file, with loss KL(soft label || model) at each step\'s position; writes a PEFT adapter, training_log.jsonl and checkpoints into --out.')
    .requiredOption('--expert <dir>', 'the Expert: a Hugging Face model directory (config.json, model.safetensors, tokenizer files) — or a Hugging Face id ORG/NAME (from the Hub cache, downloaded when absent)')
    .requiredOption('--samples <file>', 'samples JSONL from `lightreasoner sample` (exact token ids from the .trajectories.jsonl beside it) or in the reference\'s text-only format (re-tokenised, with a warning)')
    .requiredOption('--out <dir>', 'adapter directory to write (adapter_config.json, adapter_model.safetensors, training_log.jsonl, checkpoints/, training_manifest.json); new, empty, or a run of this command to continue');
  addLoraRunOptions(cmd, 'records')
    .option('--resume', 'kept for old scripts: a run in --out is always continued from its last checkpoint when its settings and data match (a changed setting is refused, naming it); --max-steps may grow only with --schedule constant')
    .option('--no-pack', 'run one sequence per record instead of one packed pass per trajectory (same loss and gradients, more compute)')
    .addOption(new Option('--shuffle <how>', 'data order: whole trajectories shuffled with their steps kept together (packing pays off), or records shuffled independently (as the reference)').choices(['trajectories', 'records']).default(d.shuffle))
    .option('--system-prompt <text>', 'system prompt of the chat template when re-tokenising text-only samples (as used when sampling)', d.systemPrompt)
    .option('--max-length <n>', 'cut inputs longer than n tokens from the left, keeping the target position (default: refuse inputs beyond the model\'s context window)')
    .option('--json', JSON_HELP);
  addRevisionOptions(cmd, '--expert')
    .action(async (opts: TrainCliOptions & { revision?: string }) => {
      opts.expert = await resolveCliModel(opts.expert, opts.revision);
      const settings = trainSettingsFromFlags(opts);
      const progress = cliProgressCallback({ project: ['train'], summary: 'train' });
      let report: TrainReport;
      try {
        report = await trainLora({
          ...settings, expert: opts.expert, samples: opts.samples, out: opts.out,
          onProgress: progress, onWarning: (m) => process.stderr.write(`lightreasoner: warning: ${m}\n`),
        });
      } finally {
        progress.stopAll();
      }
      printSummary(report, opts.json, formatTrainReport, process.stderr);
    });
}
