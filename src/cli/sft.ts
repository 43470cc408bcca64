/**
 * `lightreasoner sft`: the rejection-sampling SFT baseline (src/baselines/rejection-sft.ts).
 */
import { Option, type Command } from 'commander';
import { readQuestions, requireValidQuestions } from '../data/questions.js';
import { requireGold } from '../eval/grade.js';
import { runRejectionSft, type SftReport, type SftSettings } from '../baselines/rejection-sft.js';
import { DEFAULT_TRAIN_SETTINGS } from '../train/train-lora.js';
import { parseTargets } from '../model/lora.js';
import { cliProgressCallback } from '../util/progress.js';
import { integer, number } from './train.js';
import type { ScheduleKind } from '../train/schedule.js';

export const DEFAULT_SFT: Omit<SftSettings, 'lora' | 'lr' | 'batchSize' | 'gradAccum' | 'maxSteps' | 'saveSteps' | 'seed' | 'warmupSteps' | 'schedule' | 'weightDecay' | 'maxGradNorm'> = {
  samplesPerQuestion: 4, temperature: 0.7, maxNewTokens: 512, genBatchSize: 8, prompt: 'qwen25-math-cot', dedupe: true,
};

export function formatSftReport(r: SftReport): string {
  return [
    `rejection-sampling SFT → ${r.out}`,
    `sampled problems  ${r.sampledProblems} (${r.sampledCompletions} completions, ${r.correctCompletions} correct; ${r.problemsWithData} problems with kept data)`,
    `kept trajectories ${r.keptTrajectories}`,
    `tuned tokens      ${r.tunedTokens} supervised completion tokens; ${r.forwardTokens} tokens through forward/backward`,
    `loss              ${r.firstLoss.toFixed(4)} (first 10 steps) -> ${r.lastLoss.toFixed(4)} (last 10 steps)`,
    `time              ${r.seconds.toFixed(1)} s (sampling ${r.samplingSeconds.toFixed(1)} s, training ${r.trainingSeconds.toFixed(1)} s)`,
  ].join('\n');
}

export function registerSft(program: Command): void {
  const d = DEFAULT_TRAIN_SETTINGS;
  program
    .command('sft')
    .description('Baseline: rejection-sampling SFT as in the paper. Sample K solutions per question from the model, keep those whose answer matches the gold (this baseline uses labels), LoRA-tune on the full kept trajectories with cross-entropy on the completion tokens. Same LoRA configuration and schedule flags as `train`; resumable.')
    .requiredOption('--model <dir>', 'the model to tune (Hugging Face directory)')
    .requiredOption('--input <file>', 'training questions with gold answers: GSM8K JSONL ({"question", "answer": "... #### N"}) or {"question", "answer"}')
    .requiredOption('--out <dir>', 'output directory: sft_samples.jsonl, the adapter (PEFT layout), training_log.jsonl, checkpoints/, sft_report.json')
    .option('--samples-per-question <k>', 'solutions sampled per question', String(DEFAULT_SFT.samplesPerQuestion))
    .option('--temperature <t>', 'sampling temperature (> 0)', String(DEFAULT_SFT.temperature))
    .option('--max-new-tokens <n>', 'most tokens per sampled solution; unfinished solutions are rejected', String(DEFAULT_SFT.maxNewTokens))
    .option('--gen-batch-size <n>', 'questions sampled together (each with K solutions); fixes the decoding batches, so a resumed run must repeat it', String(DEFAULT_SFT.genBatchSize))
    .option('--prompt <preset|file>', 'prompt for sampling and training: "qwen25-math-cot", "plain" or a template file with {question}', DEFAULT_SFT.prompt)
    .option('--no-dedupe', 'keep repeated identical correct solutions of a question')
    .option('--limit <n>', 'use only the first n questions of --input')
    .option('--rank <n>', 'LoRA rank r', String(d.lora.r))
    .option('--lora-alpha <x>', 'LoRA alpha (output scaled by alpha / r)', String(d.lora.alpha))
    .option('--lora-dropout <p>', 'dropout on the LoRA branch input', String(d.lora.dropout))
    .option('--target <list>', 'linear layers to adapt', d.lora.targets.join(','))
    .option('--lr <x>', 'peak learning rate', String(d.lr))
    .option('--batch-size <n>', 'trajectories per micro-batch', String(d.batchSize))
    .option('--grad-accum <n>', 'micro-batches per optimiser step', String(d.gradAccum))
    .option('--max-steps <n>', 'optimiser steps', String(d.maxSteps))
    .option('--save-steps <n>', 'checkpoint every n steps (0: none)', String(d.saveSteps))
    .option('--seed <n>', 'seed of sampling, adapter initialisation, data order and dropout', String(d.seed))
    .option('--warmup-steps <n>', 'linear warmup steps', String(d.warmupSteps))
    .addOption(new Option('--schedule <kind>', 'learning-rate schedule after warmup').choices(['linear', 'cosine', 'constant']).default(d.schedule))
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', String(d.weightDecay))
    .option('--max-grad-norm <x>', 'global gradient-norm clip', String(d.maxGradNorm))
    .option('--resume', 'continue the run in --out')
    .option('--json', 'print the report as JSON')
    .action((o: Record<string, string | boolean | undefined>) => {
      const s = (k: string): string => String(o[k]);
      const read = readQuestions(s('input'));
      requireValidQuestions(read);
      let questions = requireGold(read.questions, s('input'));
      if (o.limit !== undefined) questions = questions.slice(0, integer(s('limit'), '--limit', 1));
      const progress = cliProgressCallback();
      let report: SftReport;
      try {
        report = runRejectionSft({
          model: s('model'), questions, inputPath: s('input'), out: s('out'), resume: o.resume === true, onProgress: progress,
          samplesPerQuestion: integer(s('samplesPerQuestion'), '--samples-per-question', 1), temperature: number(s('temperature'), '--temperature'),
          maxNewTokens: integer(s('maxNewTokens'), '--max-new-tokens', 1), genBatchSize: integer(s('genBatchSize'), '--gen-batch-size', 1),
          prompt: s('prompt'), dedupe: o.dedupe !== false,
          lora: { r: integer(s('rank'), '--rank', 1), alpha: number(s('loraAlpha'), '--lora-alpha'), dropout: number(s('loraDropout'), '--lora-dropout'), targets: parseTargets(s('target')) },
          lr: number(s('lr'), '--lr'), batchSize: integer(s('batchSize'), '--batch-size', 1), gradAccum: integer(s('gradAccum'), '--grad-accum', 1),
          maxSteps: integer(s('maxSteps'), '--max-steps', 1), saveSteps: integer(s('saveSteps'), '--save-steps', 0), seed: integer(s('seed'), '--seed', 0),
          warmupSteps: integer(s('warmupSteps'), '--warmup-steps', 0), schedule: s('schedule') as ScheduleKind,
          weightDecay: number(s('weightDecay'), '--weight-decay'), maxGradNorm: number(s('maxGradNorm'), '--max-grad-norm'),
        });
      } finally {
        progress.stopAll();
      }
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatSftReport(report)}\n`);
    });
}
