/**
 * `lightreasoner sft`: the rejection-sampling SFT baseline (src/baselines/rejection-sft.ts).
 */
import type { Command } from 'commander';
import { readQuestions, requireValidQuestions } from '../data/questions.js';
import { requireGold } from '../eval/grade.js';
import { runRejectionSft, type SftReport, type SftSettings } from '../baselines/rejection-sft.js';
import { cliProgressCallback } from '../util/progress.js';
import { resolveCliModel } from '../hub/cli.js';
import { addLoraRunOptions, integer, loraRunSettingsFromFlags, number, type LoraRunFlags } from './train.js';

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
  const cmd = program
    .command('sft')
    .description('Baseline: rejection-sampling SFT as in the paper. Sample K solutions per question from the model, keep those whose answer matches the gold (this baseline uses labels), LoRA-tune on the full kept trajectories with cross-entropy on the completion tokens. Same LoRA configuration and schedule flags as `train`; resumable.')
    .requiredOption('--model <dir>', 'the model to tune (Hugging Face directory — or a Hugging Face id ORG/NAME (from the Hub cache, downloaded when absent))')
    .requiredOption('--input <file>', 'training questions with gold answers: GSM8K JSONL ({"question", "answer": "... #### N"}) or {"question", "answer"}')
    .requiredOption('--out <dir>', 'output directory: sft_samples.jsonl, the adapter (PEFT layout), training_log.jsonl, checkpoints/, sft_report.json')
    .option('--samples-per-question <k>', 'solutions sampled per question', String(DEFAULT_SFT.samplesPerQuestion))
    .option('--temperature <t>', 'sampling temperature (> 0)', String(DEFAULT_SFT.temperature))
    .option('--max-new-tokens <n>', 'most tokens per sampled solution; unfinished solutions are rejected', String(DEFAULT_SFT.maxNewTokens))
    .option('--gen-batch-size <n>', 'questions sampled together (each with K solutions); fixes the decoding batches, so a resumed run must repeat it', String(DEFAULT_SFT.genBatchSize))
    .option('--prompt <preset|file>', 'prompt for sampling and training: "qwen25-math-cot", "plain" or a template file with {question}', DEFAULT_SFT.prompt)
    .option('--no-dedupe', 'keep repeated identical correct solutions of a question')
    .option('--limit <n>', 'use only the first n questions of --input');
  addLoraRunOptions(cmd, 'trajectories')
    .option('--resume', 'kept for old scripts: a run in --out with the same settings is always continued')
    .option('--json', 'print the report as JSON')
    .option('--revision <rev>', '--model as a Hub id: branch, tag or commit hash (default main)')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const s = (k: string): string => String(o[k]);
      const read = readQuestions(s('input'));
      requireValidQuestions(read);
      let questions = requireGold(read.questions, s('input'));
      if (o.limit !== undefined) questions = questions.slice(0, integer(s('limit'), '--limit', 1));
      o.model = await resolveCliModel(s('model'), o.revision === undefined ? undefined : s('revision'));
      const progress = cliProgressCallback({ project: ['sft sample', 'sft train'], summary: 'sft' });
      let report: SftReport;
      try {
        report = await runRejectionSft({
          model: s('model'), questions, inputPath: s('input'), out: s('out'), onProgress: progress,
          samplesPerQuestion: integer(s('samplesPerQuestion'), '--samples-per-question', 1), temperature: number(s('temperature'), '--temperature'),
          maxNewTokens: integer(s('maxNewTokens'), '--max-new-tokens', 1), genBatchSize: integer(s('genBatchSize'), '--gen-batch-size', 1),
          prompt: s('prompt'), dedupe: o.dedupe !== false,
          ...loraRunSettingsFromFlags(o as unknown as LoraRunFlags),
        });
      } finally {
        progress.stopAll();
      }
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatSftReport(report)}\n`);
    });
}
