/**
 * `lightreasoner sft`: the rejection-sampling SFT baseline (src/baselines/rejection-sft.ts).
 */
import type { Command } from 'commander';
import { readQuestions, requireValidQuestions } from '../data/questions.js';
import { requireGold } from '../eval/grade.js';
import { DEFAULT_SFT_SETTINGS, runRejectionSft, type SftReport } from '../baselines/rejection-sft.js';
import { cliProgressCallback } from '../util/progress.js';
import { addRevisionOptions, resolveCliModel } from './hub-options.js';
import { addLoraRunOptions, loraRunSettingsFromFlags, type LoraRunFlags } from './train.js';
import { finiteNumber, JSON_HELP, positiveInt, printSummary } from './flags.js';
import { formatLossWindows } from '../train/loss-windows.js';

export function formatSftReport(r: SftReport): string {
  return [
    `rejection-sampling SFT → ${r.out}`,
    `sampled problems  ${r.sampledProblems} (${r.sampledCompletions} completions, ${r.correctCompletions} correct; ${r.problemsWithData} problems with kept data)`,
    `kept trajectories ${r.keptTrajectories}`,
    `tuned tokens      ${r.tunedTokens} supervised completion tokens; ${r.forwardTokens} tokens through forward/backward`,
    `loss              ${r.steps === 0 ? `no step left to run (the run in ${r.out} had finished)` : formatLossWindows(r)}`,
    `time              ${r.seconds.toFixed(1)} s (sampling ${r.samplingSeconds.toFixed(1)} s, training ${r.trainingSeconds.toFixed(1)} s)`,
  ].join('\n');
}

export function registerSft(program: Command): void {
  const cmd = program
    .command('sft')
    .description('Baseline: rejection-sampling SFT as in the paper. Sample K solutions per question from the model, keep those whose answer matches the gold (this baseline uses labels), LoRA-tune on the full kept trajectories with cross-entropy on the completion tokens. Same LoRA configuration and schedule flags as `train`; resumable.')
    .requiredOption('--model <dir>', 'the model to tune (Hugging Face directory — or a Hugging Face id ORG/NAME (from the Hub cache, downloaded when absent))')
    .requiredOption('--input <file>', 'training questions with gold answers: GSM8K JSONL ({"question", "answer": "... #### N"}) or {"question", "answer"}')
    .requiredOption('--out <dir>', 'output directory: sft_samples.jsonl, the adapter (PEFT layout), training_log.jsonl, checkpoints/, sft_report.json')
    .option('--samples-per-question <k>', 'solutions sampled per question', String(DEFAULT_SFT_SETTINGS.samplesPerQuestion))
    .option('--temperature <t>', 'sampling temperature (> 0)', String(DEFAULT_SFT_SETTINGS.temperature))
    .option('--max-new-tokens <n>', 'most tokens per sampled solution; unfinished solutions are rejected', String(DEFAULT_SFT_SETTINGS.maxNewTokens))
    .option('--gen-batch-size <n>', 'questions per sampling chunk (each with K solutions); each chunk has its own random stream, so this fixes the samples and a resumed run must repeat it', String(DEFAULT_SFT_SETTINGS.genBatchSize))
    .option('--decode-chunks <n>', 'chunks decoded together in one batch: the same samples at any value, faster with more until memory runs out (each of the chunks x gen-batch-size x K sequences holds a KV cache)', String(DEFAULT_SFT_SETTINGS.decodeChunks))
    .option('--prompt <preset|file>', 'prompt for sampling and training: "qwen25-math-cot", "plain" or a template file with {question}', DEFAULT_SFT_SETTINGS.prompt)
    .option('--no-dedupe', 'keep repeated identical correct solutions of a question')
    .option('--limit <n>', 'use only the first n questions of --input');
  addRevisionOptions(addLoraRunOptions(cmd, 'trajectories'), '--model')
    .option('--resume', 'kept for old scripts: a run in --out with the same settings is always continued')
    .option('--json', JSON_HELP)
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const s = (k: string): string => String(o[k]);
      const read = readQuestions(s('input'));
      requireValidQuestions(read);
      let questions = requireGold(read.questions, s('input'));
      if (o.limit !== undefined) questions = questions.slice(0, positiveInt(s('limit'), '--limit'));
      o.model = await resolveCliModel(s('model'), o.revision === undefined ? undefined : s('revision'));
      const progress = cliProgressCallback({ project: ['sft sample', 'sft train'], summary: 'sft' });
      let report: SftReport;
      try {
        report = await runRejectionSft({
          model: s('model'), questions, inputPath: s('input'), out: s('out'), onProgress: progress,
          samplesPerQuestion: positiveInt(s('samplesPerQuestion'), '--samples-per-question'), temperature: finiteNumber(s('temperature'), '--temperature'),
          maxNewTokens: positiveInt(s('maxNewTokens'), '--max-new-tokens'), genBatchSize: positiveInt(s('genBatchSize'), '--gen-batch-size'),
          decodeChunks: positiveInt(s('decodeChunks'), '--decode-chunks'), prompt: s('prompt'), dedupe: o.dedupe !== false,
          ...loraRunSettingsFromFlags(o as unknown as LoraRunFlags),
        });
      } finally {
        progress.stopAll();
      }
      printSummary(report, o.json === true, formatSftReport);
    });
}
