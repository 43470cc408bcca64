/**
 * The eval job: greedy pass@1 on math word problems. `runEval` generates with a model (our engine
 * or another back end, optionally contrastive decoding against an Amateur) and grades each
 * completion as it arrives; `evalPredictions` grades completions made elsewhere; both write the
 * same results file and summary (src/eval/results.ts), so a restarted run continues it.
 * `compareResultFiles` tells whether two runs on the same problems differ.
 *
 * Settings are typed numbers with their defaults (DEFAULT_EVAL_SETTINGS) and their one validation
 * (validateEvalSettings) here; the CLI (src/cli/eval.ts), the demo and the experiment tools call
 * these functions.
 *
 *   const report = await runEval({ model: 'models/expert', input: 'test.jsonl', out: 'results.jsonl', settings: { maxNewTokens: 256 } });
 */
import { resolve } from 'node:path';
import { readQuestions, requireValidQuestions, type GoldQuestion } from '../data/questions.js';
import { requireGold, compareResults, type Comparison, type EvalSummary } from './grade.js';
import { readPredictions } from './predictions.js';
import { resolvePrompt } from '../data/prompts.js';
import { readDoneIds, readResultsInput, runGrading } from './results.js';
import { evalPrompts, generateCompletions } from './generate.js';
import { checkResultsFile, writeEvalManifest, type EvalManifest } from './manifest.js';
import { withRunLock, type RunLock } from '../util/run-dir.js';
import { modelFingerprint } from '../model/load.js';
import { resolveModelDir } from '../model/resolve.js';
import type { Transformer } from '../model/transformer.js';
import type { TokenChooser } from '../model/generate.js';
import { CD_DEFAULTS, contrastiveChooser, type ContrastiveDecodingOptions } from '../baselines/contrastive-decoding.js';
import { assertContrastable } from '../method/sample.js';
import { openModel, requireWeightsDtypeFits, type OpenModelOptions } from '../backends/open.js';
import { UserError } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';

export interface EvalSettings {
  /** Most tokens generated per problem (flag --max-new-tokens). */
  maxNewTokens: number;
  /** Problems generated together; also the fixed group a restart re-decodes (flag --batch-size). */
  batchSize: number;
  /** "qwen25-math-cot", "plain", or a text file with a {question} placeholder (flag --prompt). */
  prompt: string;
  /** Use only the first `limit` problems of the input; null for all (flag --limit). */
  limit: number | null;
  /** Accept an answer 100 times or 1/100 of the gold, as the Qwen2.5-Math toolkit does (flag --no-percent-scaling). */
  percentScaling: boolean;
}

export const DEFAULT_EVAL_SETTINGS: Readonly<EvalSettings> = { maxNewTokens: 512, batchSize: 8, prompt: 'qwen25-math-cot', limit: null, percentScaling: true };

/** Contrastive decoding (baseline) against this Amateur; parameters default to CD_DEFAULTS. */
export interface ContrastiveDecodingSettings extends Partial<ContrastiveDecodingOptions> {
  amateur: string;
}

/** Throw a UserError naming the flag of the first setting that is out of range. */
export function validateEvalSettings(s: EvalSettings, cd: ContrastiveDecodingOptions | null = null): void {
  const bad = (flag: string, v: unknown, want: string): never => {
    throw new UserError(`${flag} must be ${want}, got ${JSON.stringify(v)}`);
  };
  if (!(Number.isInteger(s.maxNewTokens) && s.maxNewTokens >= 1)) bad('--max-new-tokens', s.maxNewTokens, 'a positive integer');
  if (!(Number.isInteger(s.batchSize) && s.batchSize >= 1)) bad('--batch-size', s.batchSize, 'a positive integer');
  if (s.limit !== null && !(Number.isInteger(s.limit) && s.limit >= 1)) bad('--limit', s.limit, 'a positive integer');
  if (cd) {
    if (!(cd.cdAlpha > 0 && cd.cdAlpha <= 1)) bad('--cd-alpha', cd.cdAlpha, 'in (0, 1]');
    if (!(cd.cdBeta >= 0 && Number.isFinite(cd.cdBeta))) bad('--cd-beta', cd.cdBeta, 'a finite number >= 0');
  }
}

/** Read the input's questions; every line must be valid and carry a gold answer. */
export function loadGoldQuestions(input: string, limit?: number | null): { all: GoldQuestion[]; chosen: GoldQuestion[] } {
  const all = requireGold(requireValidQuestions(readQuestions(input)), input);
  return { all, chosen: limit === undefined || limit === null ? all : all.slice(0, limit) };
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

/** `eval --predictions`: grade completions made elsewhere. */
export async function evalPredictions(opts: {
  input: string; predictions: string; out?: string; overwrite?: boolean; limit?: number | null; percentScaling?: boolean;
}): Promise<PredictionsReport> {
  if (opts.limit !== undefined && opts.limit !== null) validateEvalSettings({ ...DEFAULT_EVAL_SETTINGS, limit: opts.limit });
  const { all, chosen } = loadGoldQuestions(opts.input, opts.limit);
  // Match against the whole input so that completions beyond --limit are not mistaken for strays.
  const matched = readPredictions(opts.predictions, all, opts.input);
  const chosenIds = new Set(chosen.map((q) => q.id));
  const predictions = matched.filter((p) => chosenIds.has(p.id));
  if (predictions.length === 0) {
    throw new UserError(`none of the ${chosen.length} problems${opts.limit != null ? ` (--limit ${opts.limit})` : ''} of ${opts.input} has a completion in ${opts.predictions}`);
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

export interface CompareReport extends Comparison {
  a: string;
  b: string;
}

/** `eval --compare`: paired comparison of two results files. */
export function compareResultFiles(a: string, b: string): CompareReport {
  return { a, b, ...compareResults(readResultsInput(a), readResultsInput(b)) };
}

/** What `runEval` did. */
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

export interface EvalJob {
  /** Model directory (Hugging Face layout). */
  model: string;
  /** LoRA adapter directory (PEFT layout) on top of `model`. */
  adapter?: string;
  /** Questions JSONL with gold answers. */
  input: string;
  /** Results JSONL; continued when it exists (unless `overwrite`). */
  out?: string;
  overwrite?: boolean;
  /** Defaults: DEFAULT_EVAL_SETTINGS. */
  settings?: Partial<EvalSettings>;
  contrastiveDecoding?: ContrastiveDecodingSettings;
  /** What runs the model (default: our engine) and its options. */
  backend?: Omit<OpenModelOptions, 'modelDir' | 'adapter' | 'gguf' | 'onProgress'>;
  /** llama.cpp: run this GGUF instead of exporting `model`. */
  gguf?: string;
  onProgress?: ProgressCallback;
}

/**
 * `eval --model`: generate (src/eval/generate.ts), grading each completion as it arrives through
 * `runGrading`, so results, summary and resume are those of `evalPredictions`.
 */
export async function runEval(job: EvalJob): Promise<ModelEvalReport> {
  // The results file's lock first: a second writer, or an --out that cannot be written, fails before any weights load.
  return job.out === undefined ? runEvalLocked(job, undefined) : withRunLock(job.out, 'file', undefined, (lock) => runEvalLocked(job, lock));
}

async function runEvalLocked(job: EvalJob, lock: RunLock | undefined): Promise<ModelEvalReport> {
  const s: EvalSettings = { ...DEFAULT_EVAL_SETTINGS, ...job.settings };
  const cd: ContrastiveDecodingOptions | null = job.contrastiveDecoding
    ? { cdAlpha: job.contrastiveDecoding.cdAlpha ?? CD_DEFAULTS.cdAlpha, cdBeta: job.contrastiveDecoding.cdBeta ?? CD_DEFAULTS.cdBeta }
    : null;
  validateEvalSettings(s, cd);
  requireWeightsDtypeFits(job.backend?.weightsDtype, job.backend?.backend ?? 'engine');
  const preset = resolvePrompt(s.prompt);
  const questions = loadGoldQuestions(job.input, s.limit).chosen;
  const overwrite = job.overwrite ?? false;
  const backend = job.backend ?? { backend: 'engine' as const };
  const { onProgress } = job;
  // References (directories or Hub ids) become directories once, before the manifest fingerprints them.
  const progress = onProgress ? { onProgress } : {};
  const modelDir = await resolveModelDir(job.model, progress);
  const adapterDir = job.adapter === undefined ? undefined : await resolveModelDir(job.adapter, { kind: 'adapter', ...progress });
  const amateurDir = cd ? await resolveModelDir(job.contrastiveDecoding!.amateur, { what: 'Amateur model', ...progress }) : undefined;
  // Refuse a mismatched results file before spending minutes loading weights.
  const manifest: EvalManifest = {
    lightreasoner_eval: 1,
    model: { dir: resolve(modelDir), fingerprint: modelFingerprint(modelDir, adapterDir, backend.weightsDtype) },
    adapter: adapterDir === undefined ? null : resolve(adapterDir),
    prompt: preset.kind === 'preset' ? preset.name : preset.template,
    maxNewTokens: s.maxNewTokens,
    batchSize: s.batchSize,
    ...(backend.backend !== 'engine' ? { backend: backend.backend } : {}),
  };
  if (cd && amateurDir !== undefined) {
    // The file format keeps the CD parameters as "alpha" and "beta" inside "contrastiveDecoding".
    manifest.contrastiveDecoding = { amateur: { dir: resolve(amateurDir), fingerprint: modelFingerprint(amateurDir, null, backend.weightsDtype) }, alpha: cd.cdAlpha, beta: cd.cdBeta };
  }
  if (job.out !== undefined) checkResultsFile(job.out, manifest, overwrite);
  if (cd && backend.backend !== 'engine') throw new UserError('contrastive decoding (--amateur) runs on the engine back end only: it decodes two models in lock step');
  const lm = await openModel({ ...backend, modelDir, ...(adapterDir !== undefined ? { adapter: adapterDir } : {}), ...(job.gguf ? { gguf: job.gguf } : {}), ...progress });
  let contrast: { expert: Transformer; amateur: Transformer; choose: TokenChooser } | undefined;
  if (cd) {
    const amateur = await openModel({ backend: 'engine', modelDir: amateurDir!, ...(backend.weightsDtype ? { weightsDtype: backend.weightsDtype } : {}), ...progress });
    assertContrastable(lm, amateur);
    contrast = { expert: lm.engine!.model, amateur: amateur.engine!.model, choose: contrastiveChooser(cd, lm.config.vocabSize) };
  }
  const prompts = evalPrompts(lm, questions, preset, job.input);
  if (job.out !== undefined) writeEvalManifest(job.out, manifest);
  const done = job.out !== undefined && !overwrite ? readDoneIds(job.out) : new Set<string>();
  onProgress?.({ stage: 'eval', done: questions.filter((q) => done.has(q.id)).length, total: questions.length, unit: 'problems' });
  const completions = generateCompletions(lm, questions, prompts, { maxNewTokens: s.maxNewTokens, batchSize: s.batchSize, stopIds: lm.stopIds, done, ...(contrast ? { contrast } : {}) });
  let outcome;
  try {
    outcome = await runGrading(questions, completions, {
      ...(job.out !== undefined ? { out: job.out } : {}),
      overwrite,
      equivalence: { percentScaling: s.percentScaling },
      measureThroughput: true,
      ...(onProgress ? { onProgress } : {}),
      ...(lock ? { lock } : {}),
    });
  } finally {
    await lm.backend.dispose();
  }
  return {
    input: job.input,
    model: job.model,
    adapter: job.adapter ?? null,
    amateur: job.contrastiveDecoding?.amateur ?? null,
    prompt: s.prompt,
    out: job.out ?? null,
    problems: questions.length,
    graded: outcome.graded,
    resumed: outcome.resumed,
    summary: outcome.summary,
  };
}
