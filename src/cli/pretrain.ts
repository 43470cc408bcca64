/**
 * `lightreasoner pretrain`: train a small Qwen2 model from scratch on worked solutions. This is
 * how the bundled Expert and Amateur were made (their model cards give the exact commands).
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPretrain, type Architecture } from '../train/pretrain.js';
import { cliProgressCallback } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import type { ScheduleKind } from '../train/schedule.js';

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UserError(`${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
}
function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UserError(`${name} must be a number, got "${v}"`);
    return n;
  };
}

export function registerPretrain(program: Command): void {
  program
    .command('pretrain')
    .description('Train a small Qwen2ForCausalLM from scratch (all parameters) on GSM8K-format worked solutions, formatted as chat conversations with the loss on the reply. Writes a Hugging Face model directory; resumable.')
    .requiredOption('--tokenizer <dir>', 'directory with tokenizer.json and tokenizer_config.json (e.g. from `lightreasoner train-tokenizer`); copied into the model')
    .requiredOption('--train <file>', 'GSM8K-format JSONL ({"question", "answer": "...\\n#### N"}) to train on')
    .requiredOption('--out <dir>', 'output model directory (checkpoints/, training_log.jsonl and dev_accuracy.jsonl go inside it too)')
    .option('--dev <file>', 'GSM8K-format JSONL to measure greedy accuracy on during training (never the test split)')
    .option('--hidden <n>', 'hidden size', int('--hidden'), 256)
    .option('--layers <n>', 'decoder layers', int('--layers'), 6)
    .option('--heads <n>', 'attention heads', int('--heads'), 8)
    .option('--kv-heads <n>', 'key/value heads (grouped-query attention when fewer than --heads)', int('--kv-heads'), 4)
    .option('--intermediate <n>', 'MLP intermediate size', int('--intermediate'), 768)
    .option('--max-positions <n>', 'context window (max_position_embeddings)', int('--max-positions'), 512)
    .option('--rope-theta <x>', 'rotary base', num('--rope-theta'), 10000)
    .option('--untied', 'separate lm_head instead of tying it to the embeddings')
    .option('--steps <n>', 'optimiser steps', int('--steps'), 4000)
    .option('--batch-size <n>', 'conversations per step', int('--batch-size'), 16)
    .option('--lr <x>', 'peak learning rate', num('--lr'), 2e-3)
    .option('--schedule <kind>', 'learning-rate schedule after warmup: linear, cosine or constant', 'cosine')
    .option('--warmup-steps <n>', 'linear warmup steps', int('--warmup-steps'), 200)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', num('--weight-decay'), 0.01)
    .option('--max-grad-norm <x>', 'clip the global gradient norm to this', num('--max-grad-norm'), 1.0)
    .option('--seed <n>', 'seed for initialisation and data order', int('--seed'), 0)
    .option('--save-steps <n>', 'write a resumable checkpoint every n steps (0: never)', int('--save-steps'), 500)
    .option('--eval-steps <n>', 'measure dev accuracy every n steps (0: only at the end)', int('--eval-steps'), 1000)
    .option('--eval-count <n>', 'dev problems per measurement', int('--eval-count'), 200)
    .option('--export-steps <list>', 'comma-separated steps at which to keep a standalone copy of the model in <out>/step-N (e.g. an earlier checkpoint to serve as the Amateur)', '')
    .option('--init <dir>', 'continue training from this model directory\'s weights (same tokenizer) with a fresh optimiser and schedule, instead of a random initialisation; the architecture flags are then ignored')
    .option('--resume', 'kept for old scripts: a run in --out is always continued from its last checkpoint when the arguments match (a changed one is refused, naming it)')
    .action((o: Record<string, string | number | boolean | undefined>) => {
      if (!['linear', 'cosine', 'constant'].includes(String(o.schedule))) throw new UserError(`--schedule must be linear, cosine or constant, got "${o.schedule}"`);
      const arch: Architecture = {
        hidden: o.hidden as number, layers: o.layers as number, heads: o.heads as number, kvHeads: o.kvHeads as number,
        intermediate: o.intermediate as number, maxPositions: o.maxPositions as number, ropeTheta: o.ropeTheta as number, tied: !o.untied,
      };
      const exportSteps = String(o.exportSteps ?? '').split(',').filter(Boolean).map((s) => int('--export-steps')(s));
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
      const last = r.evals.at(-1);
      const summary = {
        parameters: r.parameters, examples: r.examples, steps: o.steps, resumedFrom: r.loop.resumedFrom,
        tokens: r.loop.tokens, seconds: Number(r.loop.seconds.toFixed(1)), finalLoss: r.loop.steps.at(-1)?.loss ?? null,
        devAccuracy: last ? last.accuracy : null, started: started.toISOString(),
        command: `lightreasoner ${process.argv.slice(2).join(' ')}`,
      };
      writeFileSync(join(String(o.out), 'pretrain_summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    });
}
