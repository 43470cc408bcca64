/**
 * Stage 1 of LightReasoner: build the supervision set.
 *
 * For each question: chat-format it with the Expert's template, let the Expert continue greedily
 * up to `maxNewTokens` (batched, KV caches), then score the Expert's exact token ids with the
 * Amateur in one teacher-forced pass (src/method/trajectory.ts), and keep the steps where
 * KL(pE ‖ pA) ≥ β with the contrastive soft label on the plausible set (src/method/contrast.ts).
 * The Expert's distributions are the logits its decoding chose each token from, where its back
 * end hands them over (the engine); otherwise, or with `expertRescore`, the Expert scores its
 * own tokens in a teacher-forced pass too (the same rows up to float32 summation order; that pass
 * was about a third of stage 1's time at the paper's shapes, tools/bench/README.md).
 *
 * Long runs survive being killed: questions are processed in fixed chunks of `batchSize`
 * (aligned to the question index, so a chunk is decoded with the same batch whether or not the
 * run was interrupted — results are bit-identical), each question's samples and then its
 * trajectory record are appended and flushed, and a restarted run with the same arguments
 * continues after the last question whose trajectory record is on disk. A manifest beside the
 * output refuses a restart whose models or settings changed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ModelConfig } from '../model/config.js';
import type { HfTokenizer } from '../tokenizer/index.js';
import type { LanguageModelBackend } from '../backends/backend.js';
import type { Generation } from '../model/generate.js';
import { modelFingerprint } from '../model/load.js';
import type { WeightsDtype } from '../model/bf16-weights.js';
import { promptTooLong } from '../data/questions.js';
import { scoreTrajectory, type ScoringTime } from './trajectory.js';
import type { ContrastOptions } from './contrast.js';
import { manifestPath, trajectoriesPath, type SampleRecord, type TrajectoryRecord } from './samples.js';
import type { QuestionRecord } from '../data/questions.js';
import { SAMPLING_SYSTEM_PROMPT } from '../data/chat-format.js';
import { assertSameVocabulary, vocabularyFingerprint } from '../tokenizer/index.js';
import { readJsonl } from '../util/jsonl.js';
import { writeFileAtomic } from '../util/fsx.js';
import { acquireRunLock, defaultWarn, openAppendLog, readManifest, settingDifferences, withRunLock, writeManifest, type RunLock } from '../util/run-dir.js';
import { UserError } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';

/** The paper's sampling system prompt (defined with the other system prompts in src/data/chat-format.ts). */
export const DEFAULT_SAMPLING_SYSTEM_PROMPT = SAMPLING_SYSTEM_PROMPT;

/**
 * Stage 1's settings. Field names are what samples.manifest.json stores (a resumed run compares
 * them key by key), so the plausibility threshold keeps the name `alpha` here; it becomes
 * ContrastOptions.plausibilityAlpha where it is used.
 */
export interface SampleSettings {
  /** Plausibility threshold α: the soft label covers tokens with pE ≥ α · max pE (flag --alpha). */
  alpha: number;
  /** KL threshold β in nats: a step is kept when KL(pE‖pA) ≥ β (flag --beta). */
  beta: number;
  maxNewTokens: number;
  /** Questions decoded together; also the chunk size that makes resumed runs bit-identical. */
  batchSize: number;
  systemPrompt: string;
  /** First step contrasted (the reference skips step 0; we keep it by default). */
  firstStep: number;
  label: NonNullable<ContrastOptions['label']>;
  /**
   * Score the Expert's trajectory with its own teacher-forced pass instead of keeping the logits
   * its decoding computed (flag --expert-rescore): how every run before the flag existed worked,
   * so their results can be reproduced. Back ends without generateGreedyWithLogits always do.
   * Absent means false (library callers written before it); the manifest always records it.
   */
  expertRescore?: boolean;
}

/** The paper's settings (α 0.2, β 0.4) and ours for the rest; `sample --help` shows these. */
export const DEFAULT_SAMPLE_SETTINGS: Readonly<SampleSettings> = {
  alpha: 0.2, beta: 0.4, maxNewTokens: 128, batchSize: 8, systemPrompt: DEFAULT_SAMPLING_SYSTEM_PROMPT, firstStep: 0, label: 'contrastive', expertRescore: false,
};

/**
 * Settings a manifest written before they existed stands for: those runs re-scored the Expert's
 * trajectories (a resumed old run must be given --expert-rescore, and then continues it).
 */
const SETTINGS_OF_OLDER_MANIFESTS: Partial<SampleSettings> = { expertRescore: true };

/** How much of a skipped question's text its trajectory record keeps. */
const SKIPPED_QUESTION_CHARS = 1000;

export interface SampleManifest {
  lightreasoner_samples: 1;
  expert: { dir: string; fingerprint: string };
  amateur: { dir: string; fingerprint: string };
  vocabulary: string;
  input: string;
  settings: SampleSettings;
  /** What ran the models (engine or llama.cpp): a resumed run must not mix their numbers. */
  backend?: string;
  /** Set when KL and labels come from top-k log-probabilities (an inference server; docs/top-k-kl.md). */
  approximation?: { kl: 'top-k, uniform tail'; top_k: number };
}

export interface SampleStats {
  questions: number;
  /** Questions not sampled (e.g. prompt longer than the context window). */
  skipped: number;
  /** Each skipped question and why. */
  skippedQuestions: Array<{ index: number; id: string; reason: string }>;
  generatedSteps: number;
  contrastedSteps: number;
  keptSteps: number;
  keptFraction: number;
  klPercentiles: Record<'p10' | 'p25' | 'p50' | 'p75' | 'p90' | 'p99' | 'max', number>;
  meanPlausibleSetSize: number;
  /** This process only (a resumed run reports what it did itself). */
  throughput: {
    questionsPerSecond: number;
    expertGenerationTokensPerSecond: number;
    /** null when the Expert's logits came from its generation (no re-score). */
    expertScoringTokensPerSecond: number | null;
    amateurScoringTokensPerSecond: number;
    seconds: number;
  };
  resumedQuestions: number;
  out: string;
  trajectories: string;
}

export interface SampleJob {
  expert: SampleModel;
  amateur: SampleModel;
  questions: QuestionRecord[];
  inputPath: string;
  out: string;
  settings: SampleSettings;
  onProgress?: ProgressCallback;
  /** Test hook: called after each question is written. */
  afterQuestion?: (index: number) => void;
  /** The lock on `out` when the caller took it already (`lockSampleOutput`, before loading models). */
  lock?: RunLock;
  /** Notices about repairs of an interrupted run's files (default: stderr). */
  onWarning?: (message: string) => void;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Check that the two models can be contrasted token by token. */
/** What sampling needs of a model: its tokenizer and stop ids, and a back end that runs it (src/backends/open.ts). */
export interface SampleModel {
  dir: string;
  adapterDir: string | null;
  tokenizer: HfTokenizer;
  config: ModelConfig;
  stopIds: readonly number[];
  backend: LanguageModelBackend;
  /** As ModelRef.weightsDtype (openModel sets it). */
  weightsDtype?: WeightsDtype;
}

export function assertContrastable(expert: Pick<SampleModel, 'dir' | 'tokenizer' | 'config'>, amateur: Pick<SampleModel, 'dir' | 'tokenizer' | 'config'>): void {
  assertSameVocabulary(expert.tokenizer, amateur.tokenizer, `expert tokenizer (${expert.dir})`, `amateur tokenizer (${amateur.dir})`);
  if (expert.config.vocabSize !== amateur.config.vocabSize) {
    throw new UserError(`the expert (${expert.dir}) has vocab_size ${expert.config.vocabSize} but the amateur (${amateur.dir}) has ${amateur.config.vocabSize}; their next-token distributions cannot be compared`);
  }
}

/** A model as a manifest names it. */
export interface ModelRef {
  dir: string;
  adapterDir: string | null;
  /** bf16 weights compute different numbers: marked in the fingerprint (default f32). */
  weightsDtype?: WeightsDtype;
}

/**
 * The manifest a run with these models and settings writes (cheap: no weights are read). Settings
 * out of range are refused here (validateSampleSettings), the one place they become a run, so the
 * CLI refuses them before loading anything and runSample for library callers.
 */
export function sampleManifest(expert: ModelRef, amateur: ModelRef, vocabulary: string, inputPath: string, settings: SampleSettings, backend = 'engine'): SampleManifest {
  validateSampleSettings(settings);
  settings = { ...settings, expertRescore: settings.expertRescore ?? false };
  return {
    backend,
    lightreasoner_samples: 1,
    expert: { dir: resolve(expert.dir), fingerprint: modelFingerprint(expert.dir, expert.adapterDir, expert.weightsDtype) },
    amateur: { dir: resolve(amateur.dir), fingerprint: modelFingerprint(amateur.dir, amateur.adapterDir, amateur.weightsDtype) },
    vocabulary,
    input: resolve(inputPath),
    settings,
  };
}

/**
 * Whether the samples file `out` was started with the Expert re-scoring its trajectories (runs
 * from before the setting existed did), or null when no run is there. A caller that continues
 * whatever is there (the demo) passes it on, so an older directory resumes as it started.
 */
export function expertRescoreOfExistingRun(out: string): boolean | null {
  const have = readManifest<SampleManifest>(manifestPath(out), 'samples manifest');
  if (have === null) return null;
  return { ...SETTINGS_OF_OLDER_MANIFESTS, ...have.settings }.expertRescore ?? false;
}

/**
 * Throw a UserError unless a run described by `want` may write to `out`: either nothing is there
 * yet, or its manifest has the same models and settings (a continuation). Writes nothing, so the
 * CLI can call it before loading any weights.
 */
export function checkSampleOutput(out: string, want: SampleManifest): void {
  const path = manifestPath(out);
  const trajPath = trajectoriesPath(out);
  const have = readManifest<SampleManifest>(path, 'samples manifest');
  if (have === null) {
    if ((existsSync(out) && statSync(out).size > 0) || existsSync(trajPath)) {
      throw new UserError(`${out} exists but has no manifest (${path}); refusing to mix runs. Choose a new --out file or remove the old one`);
    }
    return;
  }
  const haveSettings: Partial<SampleSettings> | undefined = have.settings && { ...SETTINGS_OF_OLDER_MANIFESTS, ...have.settings };
  const diffs = settingDifferences([
    { label: 'expert model (weights fingerprint)', was: have.expert?.fingerprint, now: want.expert.fingerprint },
    { label: 'amateur model (weights fingerprint)', was: have.amateur?.fingerprint, now: want.amateur.fingerprint },
    { label: '--backend', was: have.backend ?? 'engine', now: want.backend ?? 'engine' },
    { label: '--server-logprobs', was: have.approximation?.top_k ?? 'full', now: want.approximation?.top_k ?? 'full' },
    ...(Object.keys(want.settings) as Array<keyof SampleSettings>).map((k) => ({ label: `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, was: haveSettings?.[k], now: want.settings[k] })),
  ]);
  if (diffs.length > 0) {
    throw new UserError(`${path}: this output was started with other settings (${diffs.join('; ')}). Resume with the original arguments, or write to a new --out file`);
  }
}

/**
 * Take the exclusive lock on a samples file (`<out>.lock`, covering the trajectories and manifest
 * beside it): a second `sample` on the same --out is refused naming the first. Checks that --out
 * can be written, so the CLI calls it before loading any model.
 */
export function lockSampleOutput(out: string): RunLock {
  return acquireRunLock(out, 'file');
}

/** Throw a UserError naming the setting that is out of range. */
export function validateSampleSettings(s: SampleSettings): void {
  const bad = (flag: string, v: unknown, want: string): never => {
    throw new UserError(`${flag} must be ${want}, got ${JSON.stringify(v)}`);
  };
  if (!(s.alpha > 0 && s.alpha <= 1)) bad('--alpha', s.alpha, 'a number in (0, 1] (the plausible set keeps tokens with pE >= alpha * max pE)');
  if (!(s.beta >= 0 && Number.isFinite(s.beta))) bad('--beta', s.beta, 'a finite number >= 0 (the KL threshold, in nats)');
  if (!(Number.isInteger(s.maxNewTokens) && s.maxNewTokens >= 1)) bad('--max-new-tokens', s.maxNewTokens, 'a positive integer');
  if (!(Number.isInteger(s.batchSize) && s.batchSize >= 1)) bad('--batch-size', s.batchSize, 'a positive integer');
  if (!(Number.isInteger(s.firstStep) && s.firstStep >= 0)) bad('--first-step', s.firstStep, 'an integer >= 0');
  if (s.label !== 'contrastive' && s.label !== 'expert') bad('--label', s.label, '"contrastive" or "expert"');
  if (s.expertRescore !== undefined && typeof s.expertRescore !== 'boolean') bad('--expert-rescore', s.expertRescore, 'true or false');
}

/**
 * Read what a previous run finished: the trajectories on disk. Samples of a question whose
 * trajectory record is missing (killed between the two writes) are removed from the samples file,
 * and so is a torn last line. Each finished trajectory's kept count is checked against its sample
 * lines: a question whose samples are missing or doubled (a damaged file) is done again. Every
 * repair is reported through `warn`.
 */
function recoverPrevious(out: string, trajPath: string, questions: readonly QuestionRecord[], inputPath: string, warn: (m: string) => void): { done: Map<number, TrajectoryRecord> } {
  const done = new Map<number, TrajectoryRecord>();
  const trajLines = new Map<number, string>();
  if (existsSync(trajPath)) {
    const t = readJsonl<TrajectoryRecord>(trajPath, 'trajectories file');
    if (t.problems.length > 0) throw new UserError(`${trajPath}:${t.problems[0]!.line}: damaged line (${t.problems[0]!.message}); cannot resume safely`);
    for (const { line, value: r } of t.records) {
      // Work is keyed by position in the input: a changed input would pair old work with new questions.
      const q = questions[r.index];
      if (q !== undefined && q.id !== r.id) {
        throw new UserError(`${trajPath}:${line}: question ${r.index} was "${r.id}" when this output was started, but is "${q.id}" (${inputPath}:${q.line}) now; the input changed. Resume with the original input, or write to a new --out file`);
      }
      if (done.has(r.index)) throw new UserError(`${trajPath}:${line}: question ${r.index} ("${r.id}") has a second trajectory record; two runs wrote this file. Write to a new --out file`);
      done.set(r.index, r);
      trajLines.set(r.index, JSON.stringify(r));
    }
  }
  const text = existsSync(out) ? readFileSync(out, 'utf8') : '';
  const lines = text.split('\n');
  const parsed: Array<{ raw: string; trajectory: number | undefined }> = [];
  let torn: { line: number; bytes: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l.trim()) continue;
    let rec: SampleRecord;
    try {
      rec = JSON.parse(l) as SampleRecord;
    } catch {
      if (i === lines.length - 1) { torn = { line: i + 1, bytes: Buffer.byteLength(l) }; continue; } // torn last line of a killed run
      throw new UserError(`${out}:${i + 1}: damaged line; cannot resume safely`);
    }
    parsed.push({ raw: l, trajectory: rec.trajectory });
  }
  // Each finished question must have exactly the sample lines its trajectory record counts.
  const count = new Map<number, number>();
  for (const p of parsed) if (p.trajectory !== undefined) count.set(p.trajectory, (count.get(p.trajectory) ?? 0) + 1);
  const redo: number[] = [];
  for (const [index, t] of done) {
    const have = count.get(index) ?? 0;
    if (have !== t.kept) {
      redo.push(index);
      warn(`${out}: question ${index} ("${t.id}") has ${have} sample line${have === 1 ? '' : 's'} but its trajectory record (${trajPath}) kept ${t.kept}; the file was damaged, so that question is sampled again`);
    }
  }
  if (redo.length > 0) {
    for (const index of redo) { done.delete(index); trajLines.delete(index); }
    writeFileAtomic(trajPath, [...trajLines.values()].map((l) => `${l}\n`).join(''));
  }
  const keep = parsed.filter((p) => p.trajectory !== undefined && done.has(p.trajectory));
  const redone = new Set(redo);
  const orphans = parsed.filter((p) => !(p.trajectory !== undefined && (done.has(p.trajectory) || redone.has(p.trajectory)))).length;
  if (torn) warn(`${out}: cut an incomplete last line (line ${torn.line}, ${torn.bytes} bytes without a newline) left by an interrupted run (killed, or a full disk); its question is sampled again`);
  if (orphans > 0) warn(`${out}: removed ${orphans} sample line${orphans === 1 ? '' : 's'} of questions whose trajectory record was never written (the run was interrupted); they are sampled again`);
  if (torn || orphans > 0 || redo.length > 0) writeFileAtomic(out, keep.map((p) => `${p.raw}\n`).join(''));
  return { done };
}

export async function runSample(job: SampleJob): Promise<SampleStats> {
  // One writer per samples file: two would write every question twice.
  return withRunLock(job.out, 'file', job.lock, () => sampleLocked(job));
}

async function sampleLocked(job: SampleJob): Promise<SampleStats> {
  const t0 = performance.now();
  const { expert, amateur, questions, settings: s, out } = job;
  assertContrastable(expert, amateur);
  if (questions.length === 0) throw new UserError(`${job.inputPath}: no questions to sample`);
  const warn = job.onWarning ?? defaultWarn;
  const trajPath = trajectoriesPath(out);
  const manifest = sampleManifest(expert, amateur, vocabularyFingerprint(expert.tokenizer), job.inputPath, s, expert.backend.kind);
  const approxK = expert.backend.logprobsTopK ?? amateur.backend.logprobsTopK ?? null;
  if (approxK !== null) manifest.approximation = { kl: 'top-k, uniform tail', top_k: approxK };
  checkSampleOutput(out, manifest);
  const { done } = recoverPrevious(out, trajPath, questions, job.inputPath, warn);
  writeManifest(manifestPath(out), manifest);
  const stopIds = expert.stopIds;

  const samples = openAppendLog(out, warn);
  const trajectories = openAppendLog(trajPath, warn);
  const maxContext = Math.min(expert.backend.contextSize, amateur.backend.contextSize);
  let genTokens = 0, genSeconds = 0, scoreTokens = 0, processed = 0;
  const timing: ScoringTime = { expertSeconds: 0, amateurSeconds: 0 };
  let kept = [...done.values()].reduce((a, t) => a + t.kept, 0);
  const resumed = done.size;
  const total = questions.length;
  const report = (): void => job.onProgress?.({ stage: 'sample', done: done.size, total, unit: 'questions', info: { kept } });
  report();
  // An HTTP back end overlaps calls (several endpoints, several requests each): decode up to
  // `window` chunks ahead and score a chunk's questions together. Results are still written in
  // question order, so the files are those of a sequential run. In-process back ends use window 1.
  const window = Math.max(1, Math.min(expert.backend.concurrency ?? 1, 64));
  const overlapScoring = (expert.backend.concurrency ?? 1) > 1 || (amateur.backend.concurrency ?? 1) > 1;
  const approx = approxK === null ? {} : { kl_top_k: approxK };
  const chunkStarts: number[] = [];
  for (let c0 = 0; c0 < total; c0 += s.batchSize) {
    if (!questions.slice(c0, c0 + s.batchSize).every((_, k) => done.has(c0 + k))) chunkStarts.push(c0);
  }
  // A question far beyond the context window is skipped before it is tokenized (promptTooLong): its prompt stays empty.
  const promptsOf = (c0: number): { prompts: number[][]; tooLong: Array<string | null> } => {
    const qs = questions.slice(c0, c0 + s.batchSize);
    const tooLong = qs.map((q) => promptTooLong(q.prompt ?? q.question!, expert.tokenizer, maxContext));
    const prompts = qs.map((q, k) => (tooLong[k] !== null ? [] : q.prompt !== undefined
      ? expert.tokenizer.encode(q.prompt, { addSpecialTokens: true })
      : expert.tokenizer.encodeChat([
        ...(s.systemPrompt ? [{ role: 'system', content: s.systemPrompt }] : []),
        { role: 'user', content: q.question! },
      ], { addGenerationPrompt: true })));
    return { prompts, tooLong };
  };
  // The Expert's logits from its own decoding stand in for its teacher-forced pass where the back
  // end hands them over. Memory: each decoded chunk holds its trajectories' rows until they are
  // scored (each is dropped right after), so at most window × batchSize × maxNewTokens × vocab
  // f32 (window is 1 for in-process back ends, the only ones with these rows): 78 MB per
  // question at the paper's shapes (151,936 ids × 128 steps × 4 B), 622 MB for a chunk of 8.
  const withLogits = s.expertRescore ? undefined : expert.backend.generateGreedyWithLogits?.bind(expert.backend);
  const expertGenerate: LanguageModelBackend['generateGreedy'] = withLogits ?? expert.backend.generateGreedy.bind(expert.backend);
  const fitsOf = (prompts: number[][], tooLong: Array<string | null>): boolean[] => prompts.map((p, k) => tooLong[k] === null && p.length < maxContext);
  const decoding = new Map<number, Promise<{ prompts: number[][]; tooLong: Array<string | null>; fits: boolean[]; gens: Generation[]; seconds: number }>>();
  let nextChunk = 0;
  const startDecoding = (): void => {
    while (nextChunk < chunkStarts.length && decoding.size < window) {
      const c0 = chunkStarts[nextChunk++]!;
      const { prompts, tooLong } = promptsOf(c0);
      const fits = fitsOf(prompts, tooLong);
      const tg = performance.now();
      const p = expertGenerate(prompts.filter((_, k) => fits[k]), { maxNewTokens: s.maxNewTokens, stopIds, batchSize: s.batchSize })
        .then((gens) => ({ prompts, tooLong, fits, gens, seconds: (performance.now() - tg) / 1000 }));
      p.catch(() => undefined); // awaited in order below; this only keeps a later failure from being reported as unhandled first
      decoding.set(c0, p);
    }
  };
  const contrastOpts = { plausibilityAlpha: s.alpha, beta: s.beta, label: s.label, firstStep: s.firstStep };
  try {
    for (const c0 of chunkStarts) {
      startDecoding();
      const { prompts, tooLong, fits, gens, seconds } = await decoding.get(c0)!;
      decoding.delete(c0);
      startDecoding();
      genSeconds += seconds;
      const chunk = questions.slice(c0, c0 + s.batchSize).map((q, k) => ({ q, index: c0 + k }));
      let g = 0;
      const genOf = fits.map((f) => (f ? gens[g++]! : null));
      const scoring = chunk.map(({ index }, k) => {
        const gen = genOf[k];
        if (!overlapScoring || !gen || done.has(index)) return null;
        const p = scoreTrajectory(expert.backend, amateur.backend, prompts[k]!, gen.tokens, contrastOpts, timing, gen.logits);
        p.catch(() => undefined);
        return p;
      });
      for (const [k, { q, index }] of chunk.entries()) {
        const gen = genOf[k];
        if (done.has(index)) continue;
        const prompt = prompts[k]!;
        const base = { index, id: q.id, question: q.question ?? q.prompt ?? '', prompt_token_ids: prompt };
        let traj: TrajectoryRecord & { step_kl?: number[] };
        if (!gen) {
          // A skipped question keeps no samples, so its record keeps only the start of a huge text
          // (a 20 MB question must not become a 20 MB line); the input file still has all of it.
          const question = base.question.length > SKIPPED_QUESTION_CHARS ? `${base.question.slice(0, SKIPPED_QUESTION_CHARS)}… [${base.question.length} characters in all]` : base.question;
          traj = { ...base, question, generated_token_ids: [], finish: 'skipped', steps: 0, kept: 0, skipped: tooLong[k] ?? `prompt has ${prompt.length} tokens; the context window is ${maxContext}` };
        } else {
          genTokens += gen.tokens.length;
          const steps = await (scoring[k] ?? scoreTrajectory(expert.backend, amateur.backend, prompt, gen.tokens, contrastOpts, timing, gen.logits));
          delete gen.logits; // scored: its rows (tokens × vocab f32) are not needed again
          scoreTokens += prompt.length + gen.tokens.length;
          const records: SampleRecord[] = steps.filter((st) => st.keep).map((st) => ({
            prompt_id: base.question,
            step: st.step,
            prefix: expert.tokenizer.decode(gen.tokens.slice(0, st.step)),
            tokens: st.tokenIds.map((id) => expert.tokenizer.decode([id])),
            token_ids: st.tokenIds,
            weights: st.weights,
            kl_divergence: st.klDivergence,
            id: q.id,
            trajectory: index,
            ...approx,
          }));
          samples.appendMany(records);
          kept += records.length;
          traj = {
            ...base, generated_token_ids: gen.tokens, finish: gen.finish, steps: steps.length, kept: records.length,
            step_kl: steps.map((st) => Number(st.klDivergence.toPrecision(6))),
          };
        }
        trajectories.append(traj); // written after its samples: its presence marks the question done
        done.set(index, traj);
        processed++;
        report();
        job.afterQuestion?.(index);
      }
    }
  } finally {
    samples.close();
    trajectories.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return summarize(out, trajPath, {
    questionsPerSecond: processed / Math.max(seconds, 1e-9),
    expertGenerationTokensPerSecond: genTokens / Math.max(genSeconds, 1e-9),
    expertScoringTokensPerSecond: withLogits ? null : scoreTokens / Math.max(timing.expertSeconds, 1e-9),
    amateurScoringTokensPerSecond: scoreTokens / Math.max(timing.amateurSeconds, 1e-9),
    seconds,
  }, resumed);
}

/** Statistics of a whole samples file (all runs that wrote it). */
export function summarize(out: string, trajPath: string, throughput: SampleStats['throughput'], resumedQuestions: number): SampleStats {
  const traj = readJsonl<TrajectoryRecord & { step_kl?: number[] }>(trajPath, 'trajectories file').records.map((r) => r.value);
  const samples = existsSync(out) ? readJsonl<SampleRecord>(out, 'samples file').records.map((r) => r.value) : [];
  const kls = traj.flatMap((t) => t.step_kl ?? []).sort((a, b) => a - b);
  const contrasted = traj.reduce((a, t) => a + t.steps, 0);
  return {
    questions: traj.length,
    skipped: traj.filter((t) => t.skipped).length,
    skippedQuestions: traj.filter((t) => t.skipped).map((t) => ({ index: t.index, id: t.id, reason: t.skipped! })),
    generatedSteps: traj.reduce((a, t) => a + t.generated_token_ids.length, 0),
    contrastedSteps: contrasted,
    keptSteps: samples.length,
    keptFraction: contrasted > 0 ? samples.length / contrasted : 0,
    klPercentiles: {
      p10: percentile(kls, 0.1), p25: percentile(kls, 0.25), p50: percentile(kls, 0.5), p75: percentile(kls, 0.75),
      p90: percentile(kls, 0.9), p99: percentile(kls, 0.99), max: kls.at(-1) ?? NaN,
    },
    meanPlausibleSetSize: samples.length > 0 ? samples.reduce((a, r) => a + r.token_ids.length, 0) / samples.length : 0,
    throughput,
    resumedQuestions,
    out,
    trajectories: trajPath,
  };
}
