/**
 * `lightreasoner pretrain`: train a small Qwen2 model from scratch on worked solutions. This is
 * how the bundled Expert and Amateur were made (their model cards give the exact commands).
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PRETRAIN_SETTINGS, runPretrain, type Architecture } from '../train/pretrain.js';
import { cliProgressCallback } from '../util/progress.js';
import { readJsonFile, writeJsonAtomic } from '../util/fsx.js';
import type { ScheduleKind } from '../train/schedule.js';
import { commaList, extendedNumber, finiteNumber, JSON_HELP, nonNegativeInt, oneOf, option, positiveInt, printSummary } from './flags.js';

/** The end-of-run summary (also written to <out>/pretrain_summary.json). */
export interface PretrainSummary {
  out: string;
  parameters: number;
  examples: number;
  /** The run's --steps, the step it continued from, and the steps this process ran. */
  steps: number;
  resumedFrom: number;
  stepsRun: number;
  tokens: number;
  seconds: number;
  /** Loss of the last step this process ran; null when it ran none. */
  finalLoss: number | null;
  /** The last dev measurement's accuracy; null without --dev (or before the first measurement). */
  devAccuracy: number | null;
  started: string;
  command: string;
}

export function formatPretrainSummary(s: PretrainSummary): string {
  const file = join(s.out, 'pretrain_summary.json');
  if (s.stepsRun === 0) return `${s.out} already holds the finished run (${s.steps} steps); nothing was left to do\nwrote ${file}`;
  return [
    `pretrained ${s.out}: ${s.parameters} parameters on ${s.examples} training examples (conversations or text windows); steps ${s.resumedFrom > 0 ? `${s.resumedFrom + 1}-` : ''}${s.steps} (${s.stepsRun} run here${s.resumedFrom > 0 ? `, resumed from step ${s.resumedFrom}` : ''})`,
    `loss      ${s.finalLoss === null ? '-' : s.finalLoss.toFixed(4)} at the last step`,
    `dev       ${s.devAccuracy === null ? 'not measured (no --dev)' : `${(100 * s.devAccuracy).toFixed(1)}% greedy accuracy at the last measurement`}`,
    `time      ${s.seconds.toFixed(1)} s; ${s.tokens} tokens through forward/backward`,
    `wrote ${file}`,
  ].join('\n');
}

const SCHEDULES: readonly ScheduleKind[] = ['linear', 'cosine', 'constant'];

export function registerPretrain(program: Command): void {
  const d = DEFAULT_PRETRAIN_SETTINGS;
  program
    .command('pretrain')
    .description('Train a small Qwen2ForCausalLM from scratch (all parameters) on GSM8K-format worked solutions, formatted as chat conversations with the loss on the reply. Writes a Hugging Face model directory; resumable.')
    .requiredOption('--tokenizer <dir>', 'directory with tokenizer.json and tokenizer_config.json (e.g. from `lightreasoner train-tokenizer`); copied into the model')
    .requiredOption('--train <file>', 'JSONL to train on: GSM8K records ({"question", "answer": "...\\n#### N"}, loss on the chat reply) and/or plain-text documents ({"text"}, loss on every token, cut into --max-positions windows)')
    .requiredOption('--out <dir>', 'output model directory (checkpoints/, training_log.jsonl and dev_accuracy.jsonl go inside it too)')
    .option('--dev <file>', 'GSM8K-format JSONL to measure greedy accuracy on during training (never the test split)')
    .option('--hidden <n>', 'hidden size', option(positiveInt, '--hidden'), d.arch.hidden)
    .option('--layers <n>', 'decoder layers', option(positiveInt, '--layers'), d.arch.layers)
    .option('--heads <n>', 'attention heads', option(positiveInt, '--heads'), d.arch.heads)
    .option('--kv-heads <n>', 'key/value heads (grouped-query attention when fewer than --heads)', option(positiveInt, '--kv-heads'), d.arch.kvHeads)
    .option('--intermediate <n>', 'MLP intermediate size', option(positiveInt, '--intermediate'), d.arch.intermediate)
    .option('--max-positions <n>', 'context window (max_position_embeddings)', option(positiveInt, '--max-positions'), d.arch.maxPositions)
    .option('--rope-theta <x>', 'rotary base', option(finiteNumber, '--rope-theta'), d.arch.ropeTheta)
    .option('--untied', 'separate lm_head instead of tying it to the embeddings')
    .option('--steps <n>', 'optimiser steps', option(positiveInt, '--steps'), d.steps)
    .option('--batch-size <n>', 'training examples per step (conversations, or windows of plain-text documents)', option(positiveInt, '--batch-size'), d.batchSize)
    .option('--lr <x>', 'peak learning rate', option(finiteNumber, '--lr'), d.lr)
    .option('--schedule <kind>', 'learning-rate schedule after warmup: linear, cosine or constant', (v: string) => oneOf(v, '--schedule', SCHEDULES), d.schedule)
    .option('--warmup-steps <n>', 'linear warmup steps', option(nonNegativeInt, '--warmup-steps'), d.warmupSteps)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', option(finiteNumber, '--weight-decay'), d.weightDecay)
    .option('--max-grad-norm <x>', 'clip the global gradient norm to this', option(extendedNumber, '--max-grad-norm'), d.maxGradNorm)
    .option('--seed <n>', 'seed for initialisation and data order', option(nonNegativeInt, '--seed'), d.seed)
    .option('--save-steps <n>', 'write a resumable checkpoint every n steps (0: never)', option(nonNegativeInt, '--save-steps'), d.saveSteps)
    .option('--eval-steps <n>', 'measure dev accuracy every n steps (0: only at the end)', option(nonNegativeInt, '--eval-steps'), d.evalSteps)
    .option('--eval-count <n>', 'dev problems per measurement', option(positiveInt, '--eval-count'), d.evalCount)
    .option('--export-steps <list>', 'comma-separated steps at which to keep a standalone copy of the model in <out>/step-N (e.g. an earlier checkpoint to serve as the Amateur)', '')
    .option('--init <dir>', 'continue training from this model directory\'s weights (same tokenizer) with a fresh optimiser and schedule, instead of a random initialisation; the architecture flags are then ignored')
    .option('--resume', 'kept for old scripts: a run in --out is always continued from its last checkpoint when the arguments match (a changed one is refused, naming it)')
    .option('--json', JSON_HELP)
    .action((o: Record<string, string | number | boolean | undefined>) => {
      const arch: Architecture = {
        hidden: o.hidden as number, layers: o.layers as number, heads: o.heads as number, kvHeads: o.kvHeads as number,
        intermediate: o.intermediate as number, maxPositions: o.maxPositions as number, ropeTheta: o.ropeTheta as number, tied: !o.untied,
      };
      const exportSteps = commaList(String(o.exportSteps ?? ''), '--export-steps').map((s) => nonNegativeInt(s, '--export-steps'));
      const progress = cliProgressCallback({ project: ['pretrain'], summary: 'pretrain' });
      const started = new Date();
      const r = runPretrain({
        tokenizerDir: String(o.tokenizer), trainFile: String(o.train), out: String(o.out), arch,
        ...(o.dev ? { devFile: String(o.dev) } : {}),
        steps: o.steps as number, batchSize: o.batchSize as number, lr: o.lr as number, schedule: o.schedule as ScheduleKind,
        warmupSteps: o.warmupSteps as number, weightDecay: o.weightDecay as number, maxGradNorm: o.maxGradNorm as number,
        seed: o.seed as number, saveSteps: o.saveSteps as number, evalSteps: o.evalSteps as number, evalCount: o.evalCount as number,
        exportSteps, onProgress: progress, ...(o.init ? { initFrom: String(o.init) } : {}),
        log: (l) => process.stderr.write(`\n${l}\n`),
      });
      progress.stopAll();
      const summaryFile = join(String(o.out), 'pretrain_summary.json');
      if (r.loop.steps.length === 0 && existsSync(summaryFile)) {
        // A finished run started again: its summary keeps the figures of the process that trained it.
        const earlier = readJsonFile<PretrainSummary>(summaryFile, 'pretrain summary');
        process.stderr.write(`${String(o.out)} already holds the finished run (${o.steps as number} steps); nothing was left to do\n`);
        printSummary(earlier, o.json === true, (x) => formatPretrainSummary(x).replace(/\nwrote (\S+)$/, '\nkept $1 (the summary of the run that trained it)'));
        return;
      }
      const last = r.evals.at(-1);
      const summary: PretrainSummary = {
        out: String(o.out), parameters: r.parameters, examples: r.examples, steps: o.steps as number, resumedFrom: r.loop.resumedFrom, stepsRun: r.loop.steps.length,
        tokens: r.loop.tokens, seconds: Number(r.loop.seconds.toFixed(1)), finalLoss: r.loop.steps.at(-1)?.loss ?? null,
        devAccuracy: last ? last.accuracy : null, started: started.toISOString(),
        command: `lightreasoner ${process.argv.slice(2).join(' ')}`,
      };
      writeJsonAtomic(summaryFile, summary);
      printSummary(summary, o.json === true, formatPretrainSummary);
    });
}
