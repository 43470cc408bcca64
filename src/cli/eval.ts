/**
 * `lightreasoner eval`: greedy pass@1 on math word problems, in three modes:
 *   lightreasoner eval --model DIR [--adapter DIR] --input test.jsonl --out results.jsonl
 *   lightreasoner eval --predictions preds.jsonl --input test.jsonl [--out results.jsonl]
 *   lightreasoner eval --compare A.jsonl B.jsonl
 * The first generates the completions, the second grades completions made elsewhere, the third
 * tells whether the accuracy difference between two runs on the same problems is real. Every report
 * also gives the format shares of src/eval/formats.ts (boxed answers, stops, run-ons, budget). The jobs
 * themselves are in src/eval/run.ts; this file turns flags into their settings and prints reports.
 */
import type { Command } from 'commander';
import { addWeightsDtypeOption, weightsDtypeOption } from './weights-dtype.js';
import type { WeightsDtype } from '../model/bf16-weights.js';
import { formatComparison, formatSummary } from '../eval/grade.js';
import { compareResultFiles, DEFAULT_EVAL_SETTINGS, evalPredictions, runEval, validateEvalSettings, type EvalSettings, type ModelEvalReport, type PredictionsReport } from '../eval/run.js';
import { UserError } from '../util/errors.js';
import { QWEN25_MATH_COT_SYSTEM, resolvePrompt } from '../data/prompts.js';
import { CD_DEFAULTS } from '../baselines/contrastive-decoding.js';
import { addBackendOptions, backendSettings, remoteFor } from './backend-options.js';
import { finiteNumber, JSON_HELP, optional, positiveInt, printSummary, withDefault } from './flags.js';
import { cliProgressCallback } from '../util/progress.js';
import { addRevisionOptions, resolveCliAdapter, resolveCliModel } from './hub-options.js';

export interface EvalCliOptions {
  input?: string;
  /** --weights-dtype f32 | bf16 (src/cli/weights-dtype.ts). */
  weightsDtype?: string;
  predictions?: string;
  model?: string;
  adapter?: string;
  out?: string;
  overwrite?: boolean;
  maxNewTokens: string;
  batchSize: string;
  prompt: string;
  limit?: string;
  compare?: string[];
  /** Contrastive decoding against this Amateur (baseline). */
  amateur?: string;
  /** Revisions of --model and --amateur when they are Hub ids. */
  revision?: string;
  amateurRevision?: string;
  cdAlpha?: string;
  cdBeta?: string;
  /** Back end (engine | llama.cpp) and its options (src/cli/backend-options.ts). */
  backend?: string;
  gguf?: string;
  /** --backend openai: the servers running --model. */
  url?: string[];
  /** Commander's `--no-percent-scaling` sets this false. */
  percentScaling: boolean;
  json?: boolean;
}

/** The eval job's settings from the flags (form checked here, ranges by the job). */
function evalSettingsFromFlags(opts: EvalCliOptions): EvalSettings {
  return {
    maxNewTokens: positiveInt(opts.maxNewTokens, '--max-new-tokens'),
    batchSize: positiveInt(opts.batchSize, '--batch-size'),
    prompt: opts.prompt,
    limit: optional(positiveInt, opts.limit, '--limit') ?? null,
    percentScaling: opts.percentScaling,
  };
}

/** `eval --model`: the eval job (src/eval/run.ts) with the flags' settings. */
async function evalWithModel(opts: EvalCliOptions & { model: string; input: string }, onProgress: ReturnType<typeof cliProgressCallback>): Promise<ModelEvalReport> {
  if (opts.amateur === undefined && (opts.cdAlpha !== undefined || opts.cdBeta !== undefined)) {
    throw new UserError('--cd-alpha and --cd-beta need --amateur (contrastive decoding)');
  }
  const settings = evalSettingsFromFlags(opts);
  // Flag mistakes first (they cost nothing); then Hub ids become snapshot directories before
  // anything (the manifest's fingerprint included) reads them.
  const cd = opts.amateur === undefined ? undefined : {
    amateur: opts.amateur,
    ...(opts.cdAlpha !== undefined ? { cdAlpha: finiteNumber(opts.cdAlpha, '--cd-alpha') } : {}),
    ...(opts.cdBeta !== undefined ? { cdBeta: finiteNumber(opts.cdBeta, '--cd-beta') } : {}),
  };
  validateEvalSettings(settings, cd ? { cdAlpha: cd.cdAlpha ?? CD_DEFAULTS.cdAlpha, cdBeta: cd.cdBeta ?? CD_DEFAULTS.cdBeta } : null);
  resolvePrompt(settings.prompt);
  opts.model = await resolveCliModel(opts.model, opts.revision);
  opts.adapter = await resolveCliAdapter(opts.adapter);
  if (opts.amateur !== undefined) opts.amateur = await resolveCliModel(opts.amateur, opts.amateurRevision);
  return runEval({
    model: opts.model,
    ...(opts.adapter !== undefined ? { adapter: opts.adapter } : {}),
    input: opts.input,
    ...(opts.out !== undefined ? { out: opts.out } : {}),
    overwrite: opts.overwrite ?? false,
    settings,
    ...(cd ? { contrastiveDecoding: { ...cd, amateur: opts.amateur! } } : {}),
    backend: backendWithServers(opts),
    ...(opts.gguf ? { gguf: opts.gguf } : {}),
    onProgress,
  });
}

/** The back end's settings, with --url's servers when it is --backend openai. */
function backendWithServers(opts: EvalCliOptions): ReturnType<typeof backendSettings> & ReturnType<typeof remoteFor> & { weightsDtype: WeightsDtype } {
  const b = backendSettings(opts as unknown as Record<string, unknown>);
  return { ...b, ...remoteFor(b, opts.url, '--url'), weightsDtype: weightsDtypeOption(opts.weightsDtype) };
}

/** The text summary of `eval --model`. */
export function formatModelEvalReport(r: ModelEvalReport): string {
  const model = `${r.adapter ? `${r.model} + adapter ${r.adapter}` : r.model}${r.amateur ? ` contrasted with ${r.amateur} (contrastive decoding)` : ''}`;
  const head = r.graded === 0 && r.resumed > 0
    ? `nothing was left to do: all ${r.resumed} problems of ${r.input} were already graded in ${r.out} with ${model}`
    : `evaluated ${r.summary.count} of ${r.problems} problems of ${r.input} with ${model} (prompt ${r.prompt}, greedy)${r.out ? ` → ${r.out}` : ''}`;
  return `${head}\n${formatSummary(r.summary)}`;
}

function printModelReport(r: ModelEvalReport, json: boolean): void {
  if (!json && r.resumed > 0 && r.graded > 0) process.stderr.write(`${r.out}: ${r.resumed} problems were already graded there and were kept (use --overwrite to regenerate them)\n`);
  printSummary(r, json, formatModelEvalReport);
}

/** The text summary of `eval --predictions`. */
export function formatPredictionsReport(r: PredictionsReport): string {
  const head = `graded ${r.summary.count} of ${r.problems} problems of ${r.input} with completions from ${r.predictions}${r.out ? ` → ${r.out}` : ''}`;
  return `${head}\n${formatSummary(r.summary)}`;
}

function printPredictionsReport(r: PredictionsReport, json: boolean): void {
  if (!json) {
    if (r.resumed > 0) process.stderr.write(`${r.out}: ${r.resumed} problems were already graded there and were kept (use --overwrite to regrade)\n`);
    if (r.missing > 0) process.stderr.write(`note: ${r.missing} of ${r.problems} problems have no completion in ${r.predictions}; the accuracy is over the ${r.summary.count} graded\n`);
  }
  printSummary(r, json, formatPredictionsReport);
}

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('Greedy pass@1 on math word problems: generate and grade (--model), grade completions made elsewhere (--predictions), or test whether two runs differ (--compare). Each summary also gives the format shares: \\boxed{} answers, stops after the answer, runs on into a new problem, hits the token budget, accuracy when well-formed (README, "Format shares").')
    .option('--input <file>', 'questions JSONL: GSM8K lines {"question", "answer": "... #### 18"}, or {"id"?, "question", "answer"} with the gold as "answer"; with --model, {"id"?, "prompt", "answer"} is a raw prompt given to the model as is (no chat template)')
    .option('--predictions <file>', 'grade completions made elsewhere (vLLM, llama.cpp, an API) instead of generating: JSONL lines {"id" or "question", "completion", "completionTokens"?, "finish"? or "finish_reason"? ("stop" | "length"; for the format shares)}')
    .option('--model <dir>', 'Hugging Face model directory to generate with (config.json, model.safetensors, tokenizer.json) — or a Hugging Face id ORG/NAME (from the Hub cache, downloaded when absent)')
    .option('--adapter <dir>', 'LoRA adapter directory (PEFT layout) applied on top of --model')
    .option('--out <file>', 'results JSONL, one line per problem (id, question, completion, extracted, gold, correct, completionTokens = generated tokens including the stop token, finish = "stop" | "length" | "context"); appended to as problems are graded, and problems already in it are skipped, so a restarted run continues — with --model it writes exactly what an uninterrupted run would, and a restart with another model, --adapter, --prompt, --max-new-tokens or --batch-size is refused (they are kept in results.manifest.json beside it)')
    .option('--overwrite', 'start --out afresh instead of continuing it')
    .option('--max-new-tokens <n>', 'most tokens generated per problem (greedy decoding stops earlier, at the model\'s end of sequence, <|im_end|> or <|endoftext|>)', String(DEFAULT_EVAL_SETTINGS.maxNewTokens))
    .option('--batch-size <n>', 'problems generated together; larger is faster until memory runs out. Problems are decoded in fixed groups of this size, so it is part of what a restart must repeat', String(DEFAULT_EVAL_SETTINGS.batchSize))
    .option('--prompt <preset|file>', `prompt: "qwen25-math-cot" (system "${QWEN25_MATH_COT_SYSTEM}", as the paper evaluates), "plain" (the question alone), or a text file with a {question} placeholder`, DEFAULT_EVAL_SETTINGS.prompt)
    .option('--limit <n>', 'use only the first n problems of --input')
    .option('--compare <files...>', 'compare two results files A.jsonl B.jsonl problem by problem: accuracy difference, McNemar\'s exact test, and each format share (boxed, stops after the answer, runs on, hits the budget, accuracy when well-formed) as A → B')
    .option('--no-percent-scaling', 'do not accept an answer 100 times or 1/100 of the gold (the Qwen2.5-Math toolkit does, for percentages; an explicit % sign is still understood)')
    .option('--amateur <dir>', 'baseline: contrastive decoding (Li et al. 2022; O\'Brien & Lewis 2023) — at every step pick argmax of (1+beta)·log pE − beta·log pA over the Expert\'s plausible head {pE >= alpha·max pE}, with this model as the Amateur (same tokenizer as --model)')
    .option('--cd-alpha <x>', withDefault('contrastive decoding plausibility threshold alpha', CD_DEFAULTS.cdAlpha))
    .option('--cd-beta <x>', withDefault('contrastive decoding weight beta (0 is plain greedy)', CD_DEFAULTS.cdBeta))
    .option('--json', `${JSON_HELP} (with --compare: the comparison)`);
  addRevisionOptions(cmd, '--model', true);
  addWeightsDtypeOption(cmd);
  addBackendOptions(cmd, [{ flag: 'gguf', model: 'model' }], [{ flag: 'url', model: 'model' }]);
  cmd.action(async (opts: EvalCliOptions) => {
      const modes = [opts.compare && '--compare', opts.predictions && '--predictions', opts.model && '--model'].filter(Boolean);
      if (modes.length === 0) throw new UserError('eval needs one of --model DIR, --predictions FILE or --compare A.jsonl B.jsonl');
      if (modes.length > 1) throw new UserError(`eval takes one of --model, --predictions, --compare; got ${modes.join(' and ')}`);
      if (opts.compare) {
        if (opts.compare.length !== 2) throw new UserError(`--compare takes exactly two results files, got ${opts.compare.length}`);
        const report = compareResultFiles(opts.compare[0]!, opts.compare[1]!);
        printSummary(report, opts.json, (c) => formatComparison(c, c.a, c.b));
        return;
      }
      if (opts.adapter !== undefined && opts.model === undefined) throw new UserError('--adapter applies to --model; completions from --predictions are graded as they are');
      if (opts.predictions) {
        if (opts.input === undefined) throw new UserError('eval --predictions needs --input (the questions JSONL with gold answers)');
        const limit = optional(positiveInt, opts.limit, '--limit');
        const report = await evalPredictions({
          input: opts.input,
          predictions: opts.predictions,
          ...(opts.out !== undefined ? { out: opts.out } : {}),
          overwrite: opts.overwrite ?? false,
          ...(limit !== undefined ? { limit } : {}),
          percentScaling: opts.percentScaling,
        });
        printPredictionsReport(report, opts.json ?? false);
        return;
      }
      const progress = cliProgressCallback({ summary: 'eval' });
      try {
        if (opts.input === undefined) throw new UserError('eval --model needs --input (the questions JSONL)');
        printModelReport(await evalWithModel({ ...opts, model: opts.model!, input: opts.input }, progress), opts.json ?? false);
      } finally {
        progress.stopAll();
      }
    });
}
