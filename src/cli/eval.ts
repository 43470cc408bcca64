/**
 * `lightreasoner eval`: greedy pass@1 on math word problems, in three modes:
 *   lightreasoner eval --model DIR [--adapter DIR] --input test.jsonl --out results.jsonl
 *   lightreasoner eval --predictions preds.jsonl --input test.jsonl [--out results.jsonl]
 *   lightreasoner eval --compare A.jsonl B.jsonl
 * The first generates the completions, the second grades completions made elsewhere, the third
 * tells whether the accuracy difference between two runs on the same problems is real.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { readQuestions, requireValidQuestions } from '../data/questions.js';
import { requireGold, compareResults, formatComparison, formatSummary, type Comparison, type EvalSummary, type GoldQuestion } from '../eval/grade.js';
import { readPredictions } from '../eval/predictions.js';
import { resolvePrompt } from '../eval/prompts.js';
import { readDoneIds, readResults, runGrading } from '../eval/results.js';
import { evalPrompts, generateCompletions } from '../eval/generate.js';
import { checkResultsFile, writeEvalManifest, type EvalManifest } from '../eval/manifest.js';
import { modelFingerprint } from '../model/load.js';
import { UserError } from '../util/errors.js';
import { CD_DEFAULTS, contrastiveChooser } from '../baselines/contrastive-decoding.js';
import { assertContrastable } from '../method/sample.js';
import type { Transformer } from '../model/transformer.js';
import type { TokenChooser } from '../model/generate.js';
import { addBackendOptions, backendSettings } from './backend-options.js';
import { openModel } from '../backends/open.js';
import { cliProgressCallback, type ProgressCallback } from '../util/progress.js';
import { addRevisionOptions, resolveCliAdapter, resolveCliModel } from '../hub/cli.js';

export interface EvalCliOptions {
  input?: string;
  predictions?: string;
  model?: string;
  adapter?: string;
  out?: string;
  overwrite?: boolean;
  maxNewTokens: string;
  batchSize?: string;
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
  /** Commander's `--no-percent-scaling` sets this false. */
  percentScaling: boolean;
  json?: boolean;
}

export interface PredictionsReport {
  input: string;
  predictions: string;
  out: string | null;
  /** Problems in the input (after --limit). */
  problems: number;
  /** Problems graded by this run. */
  graded: number;
  /** Problems that were already in --out. */
  resumed: number;
  /** Problems of the input that have no completion. */
  missing: number;
  summary: EvalSummary;
}

export interface CompareReport extends Comparison {
  a: string;
  b: string;
}

/** Parse a positive integer option, naming the option when it is not one. */
function finiteNumber(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UserError(`${option} must be a number, got "${value}"`);
  return n;
}

export function positiveInt(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new UserError(`${option} must be a positive integer, got "${value}"`);
  return Number(value);
}

/** Read the input's questions; every line must be valid and carry a gold answer. */
export function loadGoldQuestions(input: string, limit?: number): { all: GoldQuestion[]; chosen: GoldQuestion[] } {
  const all = requireGold(requireValidQuestions(readQuestions(input)), input);
  return { all, chosen: limit === undefined ? all : all.slice(0, limit) };
}

/** `eval --predictions`: grade completions made elsewhere. */
export async function evalPredictions(opts: {
  input: string; predictions: string; out?: string; overwrite?: boolean; limit?: number; percentScaling?: boolean;
}): Promise<PredictionsReport> {
  const { all, chosen } = loadGoldQuestions(opts.input, opts.limit);
  // Match against the whole input so that completions beyond --limit are not mistaken for strays.
  const matched = readPredictions(opts.predictions, all, opts.input);
  const chosenIds = new Set(chosen.map((q) => q.id));
  const predictions = matched.filter((p) => chosenIds.has(p.id));
  if (predictions.length === 0) {
    throw new UserError(`none of the ${chosen.length} problems${opts.limit !== undefined ? ` (--limit ${opts.limit})` : ''} of ${opts.input} has a completion in ${opts.predictions}`);
  }
  // Grading a file takes milliseconds: no progress bar.
  const outcome = await runGrading(chosen, predictions, {
    ...(opts.out !== undefined ? { out: opts.out } : {}),
    overwrite: opts.overwrite ?? false,
    equivalence: { percentScaling: opts.percentScaling ?? true },
  });
  return {
    input: opts.input,
    predictions: opts.predictions,
    out: opts.out ?? null,
    problems: chosen.length,
    graded: outcome.graded,
    resumed: outcome.resumed,
    missing: chosen.length - outcome.results.length,
    summary: outcome.summary,
  };
}

/** `eval --compare`: paired comparison of two results files. */
export function compareResultFiles(a: string, b: string): CompareReport {
  return { a, b, ...compareResults(readResults(a), readResults(b)) };
}

/** What `eval --model` did. */
export interface ModelEvalReport {
  input: string;
  model: string;
  adapter: string | null;
  /** The Amateur of contrastive decoding, when used. */
  amateur: string | null;
  prompt: string;
  out: string | null;
  /** Problems in the input (after --limit). */
  problems: number;
  /** Problems generated and graded by this run. */
  graded: number;
  /** Problems that were already in --out. */
  resumed: number;
  summary: EvalSummary;
}

export const DEFAULT_EVAL_BATCH_SIZE = 8;

/**
 * `eval --model`: generate with our engine (src/eval/generate.ts), grading each completion as it
 * arrives through `runGrading`, so results, summary and resume are those of `--predictions`.
 */
export async function evalWithModel(opts: EvalCliOptions & { model: string }, onProgress?: ProgressCallback): Promise<ModelEvalReport> {
  if (opts.input === undefined) throw new UserError('eval --model needs --input (the questions JSONL)');
  const maxNewTokens = positiveInt(opts.maxNewTokens, '--max-new-tokens')!;
  const batchSize = positiveInt(opts.batchSize, '--batch-size') ?? DEFAULT_EVAL_BATCH_SIZE;
  const limit = positiveInt(opts.limit, '--limit');
  const preset = resolvePrompt(opts.prompt);
  const questions = loadGoldQuestions(opts.input, limit).chosen;
  // Hub ids become snapshot directories before anything (the manifest's fingerprint included) reads them.
  opts.model = await resolveCliModel(opts.model, opts.revision);
  opts.adapter = await resolveCliAdapter(opts.adapter);
  if (opts.amateur !== undefined) opts.amateur = await resolveCliModel(opts.amateur, opts.amateurRevision);
  const overwrite = opts.overwrite ?? false;
  // Refuse a mismatched results file before spending minutes loading weights.
  const manifest: EvalManifest = {
    lightreasoner_eval: 1,
    model: { dir: resolve(opts.model), fingerprint: modelFingerprint(opts.model, opts.adapter) },
    adapter: opts.adapter === undefined ? null : resolve(opts.adapter),
    prompt: preset.kind === 'preset' ? preset.name : preset.template,
    maxNewTokens,
    batchSize,
    ...(opts.backend && opts.backend !== 'engine' ? { backend: opts.backend } : {}),
  };
  const cd = opts.amateur === undefined ? null : {
    alpha: opts.cdAlpha === undefined ? CD_DEFAULTS.alpha : finiteNumber(opts.cdAlpha, '--cd-alpha'),
    beta: opts.cdBeta === undefined ? CD_DEFAULTS.beta : finiteNumber(opts.cdBeta, '--cd-beta'),
  };
  if (cd) {
    if (!(cd.alpha > 0 && cd.alpha <= 1)) throw new UserError(`--cd-alpha must be in (0, 1], got ${cd.alpha}`);
    if (!(cd.beta >= 0)) throw new UserError(`--cd-beta must be >= 0, got ${cd.beta}`);
    manifest.contrastiveDecoding = { amateur: { dir: resolve(opts.amateur!), fingerprint: modelFingerprint(opts.amateur!) }, ...cd };
  } else if (opts.cdAlpha !== undefined || opts.cdBeta !== undefined) {
    throw new UserError('--cd-alpha and --cd-beta need --amateur (contrastive decoding)');
  }
  if (opts.out !== undefined) checkResultsFile(opts.out, manifest, overwrite);
  const backend = backendSettings(opts as unknown as Record<string, unknown>);
  if (cd && backend.backend !== 'engine') throw new UserError('contrastive decoding (--amateur) runs on the engine back end only: it decodes two models in lock step');
  const lm = await openModel({ ...backend, modelDir: opts.model, ...(opts.adapter !== undefined ? { adapter: opts.adapter } : {}), ...(opts.gguf ? { gguf: opts.gguf } : {}), ...(onProgress ? { onProgress } : {}) });
  let contrast: { expert: Transformer; amateur: Transformer; choose: TokenChooser } | undefined;
  if (cd) {
    const amateur = await openModel({ backend: 'engine', modelDir: opts.amateur!, ...(onProgress ? { onProgress } : {}) });
    assertContrastable(lm, amateur);
    contrast = { expert: lm.engine!.model, amateur: amateur.engine!.model, choose: contrastiveChooser(cd, lm.config.vocabSize) };
  }
  const prompts = evalPrompts(lm, questions, preset, opts.input);
  if (opts.out !== undefined) writeEvalManifest(opts.out, manifest);
  const done = opts.out !== undefined && !overwrite ? readDoneIds(opts.out) : new Set<string>();
  onProgress?.({ stage: 'eval', done: questions.filter((q) => done.has(q.id)).length, total: questions.length, unit: 'problems' });
  const completions = generateCompletions(lm, questions, prompts, { maxNewTokens, batchSize, stopIds: lm.stopIds, done, ...(contrast ? { contrast } : {}) });
  let outcome;
  try {
    outcome = await runGrading(questions, completions, {
      ...(opts.out !== undefined ? { out: opts.out } : {}),
      overwrite,
      equivalence: { percentScaling: opts.percentScaling },
      measureThroughput: true,
      ...(onProgress ? { onProgress } : {}),
    });
  } finally {
    await lm.backend.dispose();
  }
  return {
    input: opts.input,
    model: opts.model,
    adapter: opts.adapter ?? null,
    amateur: opts.amateur ?? null,
    prompt: opts.prompt,
    out: opts.out ?? null,
    problems: questions.length,
    graded: outcome.graded,
    resumed: outcome.resumed,
    summary: outcome.summary,
  };
}

function printModelReport(r: ModelEvalReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  if (r.resumed > 0) process.stderr.write(`${r.out}: ${r.resumed} problems were already graded there and were kept (use --overwrite to regenerate them)\n`);
  const model = `${r.adapter ? `${r.model} + adapter ${r.adapter}` : r.model}${r.amateur ? ` contrasted with ${r.amateur} (contrastive decoding)` : ''}`;
  const head = `evaluated ${r.summary.count} of ${r.problems} problems of ${r.input} with ${model} (prompt ${r.prompt}, greedy)${r.out ? ` → ${r.out}` : ''}`;
  process.stdout.write(`${head}\n${formatSummary(r.summary)}\n`);
}

function printPredictionsReport(r: PredictionsReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  if (r.resumed > 0) process.stderr.write(`${r.out}: ${r.resumed} problems were already graded there and were kept (use --overwrite to regrade)\n`);
  if (r.missing > 0) process.stderr.write(`note: ${r.missing} of ${r.problems} problems have no completion in ${r.predictions}; the accuracy is over the ${r.summary.count} graded\n`);
  const head = `graded ${r.summary.count} of ${r.problems} problems of ${r.input} with completions from ${r.predictions}${r.out ? ` → ${r.out}` : ''}`;
  process.stdout.write(`${head}\n${formatSummary(r.summary)}\n`);
}

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('Greedy pass@1 on math word problems: generate and grade (--model), grade completions made elsewhere (--predictions), or test whether two runs differ (--compare).')
    .option('--input <file>', 'questions JSONL: GSM8K lines {"question", "answer": "... #### 18"}, or {"id"?, "question", "answer"} with the gold as "answer"; with --model, {"id"?, "prompt", "answer"} is a raw prompt given to the model as is (no chat template)')
    .option('--predictions <file>', 'grade completions made elsewhere (vLLM, llama.cpp, an API) instead of generating: JSONL lines {"id" or "question", "completion", "completionTokens"?}')
    .option('--model <dir>', 'Hugging Face model directory to generate with (config.json, model.safetensors, tokenizer.json) — or a Hugging Face id ORG/NAME (from the Hub cache, downloaded when absent)')
    .option('--adapter <dir>', 'LoRA adapter directory (PEFT layout) applied on top of --model')
    .option('--out <file>', 'results JSONL, one line per problem (id, question, completion, extracted, gold, correct, completionTokens = generated tokens including the stop token); appended to as problems are graded, and problems already in it are skipped, so a restarted run continues — with --model it writes exactly what an uninterrupted run would, and a restart with another model, --adapter, --prompt, --max-new-tokens or --batch-size is refused (they are kept in results.manifest.json beside it)')
    .option('--overwrite', 'start --out afresh instead of continuing it')
    .option('--max-new-tokens <n>', 'most tokens generated per problem (greedy decoding stops earlier, at the model\'s end of sequence, <|im_end|> or <|endoftext|>)', '512')
    .option('--batch-size <n>', `problems generated together (default ${DEFAULT_EVAL_BATCH_SIZE}); larger is faster until memory runs out. Problems are decoded in fixed groups of this size, so it is part of what a restart must repeat`)
    .option('--prompt <preset|file>', 'prompt: "qwen25-math-cot" (system "Please reason step by step, and put your final answer within \\boxed{}.", as the paper evaluates), "plain" (the question alone), or a text file with a {question} placeholder', 'qwen25-math-cot')
    .option('--limit <n>', 'use only the first n problems of --input')
    .option('--compare <files...>', 'compare two results files A.jsonl B.jsonl problem by problem: accuracy difference and McNemar\'s exact test')
    .option('--no-percent-scaling', 'do not accept an answer 100 times or 1/100 of the gold (the Qwen2.5-Math toolkit does, for percentages; an explicit % sign is still understood)')
    .option('--amateur <dir>', 'baseline: contrastive decoding (Li et al. 2022; O\'Brien & Lewis 2023) — at every step pick argmax of (1+beta)·log pE − beta·log pA over the Expert\'s plausible head {pE >= alpha·max pE}, with this model as the Amateur (same tokenizer as --model)')
    .option('--cd-alpha <x>', `contrastive decoding plausibility threshold alpha (default ${CD_DEFAULTS.alpha})`)
    .option('--cd-beta <x>', `contrastive decoding weight beta (default ${CD_DEFAULTS.beta}; 0 is plain greedy)`)
    .option('--json', 'print the summary (or comparison) as JSON');
  addRevisionOptions(cmd, '--model', true);
  addBackendOptions(cmd, [{ flag: 'gguf', model: 'model' }]);
  cmd.action(async (opts: EvalCliOptions) => {
      const modes = [opts.compare && '--compare', opts.predictions && '--predictions', opts.model && '--model'].filter(Boolean);
      if (modes.length === 0) throw new UserError('eval needs one of --model DIR, --predictions FILE or --compare A.jsonl B.jsonl');
      if (modes.length > 1) throw new UserError(`eval takes one of --model, --predictions, --compare; got ${modes.join(' and ')}`);
      if (opts.compare) {
        if (opts.compare.length !== 2) throw new UserError(`--compare takes exactly two results files, got ${opts.compare.length}`);
        const report = compareResultFiles(opts.compare[0]!, opts.compare[1]!);
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatComparison(report, report.a, report.b)}\n`);
        return;
      }
      if (opts.adapter !== undefined && opts.model === undefined) throw new UserError('--adapter applies to --model; completions from --predictions are graded as they are');
      if (opts.predictions) {
        if (opts.input === undefined) throw new UserError('eval --predictions needs --input (the questions JSONL with gold answers)');
        const limit = positiveInt(opts.limit, '--limit');
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
        printModelReport(await evalWithModel({ ...opts, model: opts.model! }, progress), opts.json ?? false);
      } finally {
        progress.stopAll();
      }
    });
}
