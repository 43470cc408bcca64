/**
 * `lightreasoner demo`: the whole method on the bundled tiny Expert and Amateur, through the same
 * functions the commands use (eval, sample, train, merge), ending in a before/after table.
 *
 *   held-out test set (synthetic test split) ─┬─ eval Amateur
 *                                              ├─ eval Expert
 *   training questions (train split) → sample (Expert vs Amateur) → train LoRA → merge → eval
 *
 * Every stage writes its files under --out and is resumable; a second run reuses what is done, and
 * reports the finished stages with the times and figures of the run that did them (kept in
 * demo-stages.json), so rerunning a finished demo never overwrites its report with empty numbers.
 * One demo at a time per --out (a lock).
 * Nothing is selected or tuned on the test split: the demo's settings were chosen on the dev split
 * (docs/experiments.md), and the test problems are generated, not picked.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { generateProblems, writeGsm8kJsonl } from '../data/synthetic/index.js';
import { readQuestions, requireValidQuestions } from '../data/questions.js';
import { runEval, compareResultFiles, type ModelEvalReport } from '../eval/run.js';
import { openModel } from '../backends/open.js';
import { DEFAULT_SAMPLE_SETTINGS, expertRescoreOfExistingRun, runSample, type SampleSettings, type SampleStats } from '../method/sample.js';
import { trajectoriesPath, type TrajectoryRecord } from '../method/samples.js';
import { trainLora, DEFAULT_TRAIN_SETTINGS, type TrainReport, type TrainSettings } from '../train/train-lora.js';
import { mergeAdapterDir } from '../model/merge.js';
import { DEFAULT_SFT_SETTINGS, runRejectionSft, type SftReport } from '../baselines/rejection-sft.js';
import type { ContrastiveDecodingOptions } from '../baselines/contrastive-decoding.js';
import { requireGold } from '../eval/grade.js';
import { existingEvalBatchSize } from '../eval/manifest.js';
import { UserError } from '../util/errors.js';
import { engineInfo } from '../engine/blas.js';
import { readJsonl } from '../util/jsonl.js';
import { readJsonFile, writeFileAtomic, writeJsonAtomic } from '../util/fsx.js';
import { acquireRunLock } from '../util/run-dir.js';
import { trainingRunTotals } from '../train/loop.js';
import type { ProgressCallback } from '../util/progress.js';
import { bundledModelPath } from '../util/bundled.js';
import { markdownReport, svgChart, type DemoReport, type ModelRow } from './report.js';
import { DEFAULT_DEMO_WORLD, WORLDS, type DemoWorld } from './worlds.js';

export interface DemoSettings {
  /** Which synthetic world's bundled pair and settings (src/demo/worlds.ts). */
  world: DemoWorld;
  expert: string;
  amateur: string;
  out: string;
  /** Held-out problems (synthetic test split). */
  testCount: number;
  /** Training questions sampled by Stage 1 (synthetic train split). */
  sampleCount: number;
  dataSeed: number;
  evalMaxNewTokens: number;
  evalBatchSize: number;
  sample: SampleSettings;
  train: TrainSettings;
  /** Baselines in the same table (issue: the paper's comparisons); off with --no-baselines. */
  baselines: boolean;
  /** Rejection-sampling SFT: its own schedule (chosen on dev), LightReasoner's LoRA configuration. */
  sft: { samplesPerQuestion: number; temperature: number; maxNewTokens: number; lr: number; maxSteps: number };
  cd: ContrastiveDecodingOptions;
  /** Delete what an earlier run left in `out` first (once its lock is held). */
  fresh?: boolean;
}

/** The demo's defaults for a world (src/demo/worlds.ts); `quick` is a few-minute version of the same pipeline. */
export function demoSettings(quick: boolean, out?: string, world: DemoWorld = DEFAULT_DEMO_WORLD): DemoSettings {
  const w = WORLDS[world];
  const train: TrainSettings = {
    ...DEFAULT_TRAIN_SETTINGS,
    lora: { r: 8, loraAlpha: 16, dropout: 0.05, targets: [...w.lightreasoner.targets] },
    lr: w.lightreasoner.lr,
    maxSteps: quick ? w.quick.steps : w.lightreasoner.steps,
    saveSteps: quick ? 0 : 100,
    batchSize: 8,
    gradAccum: 2,
  };
  return {
    world,
    expert: bundledModelPath(w.expert),
    amateur: bundledModelPath(w.amateur),
    out: out ?? (quick ? `${w.out}-quick` : w.out),
    testCount: quick ? w.quick.testCount : 500,
    sampleCount: quick ? w.quick.sampleCount : 400,
    dataSeed: 7,
    evalMaxNewTokens: w.evalMaxNewTokens,
    evalBatchSize: w.evalBatchSize,
    sample: { ...DEFAULT_SAMPLE_SETTINGS, beta: w.lightreasoner.beta, alpha: w.lightreasoner.alpha, batchSize: 32 },
    train,
    baselines: true,
    sft: {
      samplesPerQuestion: DEFAULT_SFT_SETTINGS.samplesPerQuestion, temperature: DEFAULT_SFT_SETTINGS.temperature, maxNewTokens: w.sft.maxNewTokens,
      lr: w.sft.lr, maxSteps: quick ? w.quick.sftSteps : w.sft.steps,
    },
    cd: { ...w.cd },
  };
}

/** Chunks the demo's SFT decodes together (rejection-sft.ts: the samples do not depend on it). */
const SFT_DECODE_CHUNKS = 4;

interface StageTime { stage: string; seconds: number; detail?: string }

export interface DemoResult {
  report: DemoReport;
  files: { markdown: string; json: string; svg: string };
}

/** What demo-stages.json keeps of each finished stage. */
interface StageRecord { seconds: number; detail?: string; result?: unknown }

export async function runDemo(s: DemoSettings, command: string, onProgress?: ProgressCallback, log: (line: string) => void = () => {}): Promise<DemoResult> {
  const out = resolve(s.out);
  // One demo per directory: two would write every stage's files twice.
  const lock = acquireRunLock(out, 'dir');
  try {
    if (s.fresh) for (const f of readdirSync(out)) if (join(out, f) !== lock.path) rmSync(join(out, f), { recursive: true, force: true });
    return await demoLocked(s, out, command, onProgress, log);
  } finally {
    lock.release();
  }
}

const WORLD_FILE = 'demo-world.json';

/**
 * A demo directory holds one world's run: continuing it with the other world's models would reuse
 * stages of the wrong pair. Directories from before the base-regime world (no demo-world.json,
 * but stages done) hold the instruct world.
 */
export function requireSameWorld(out: string, world: DemoWorld): void {
  const file = join(out, WORLD_FILE);
  const had: DemoWorld | null = existsSync(file) ? readJsonFile<{ world: DemoWorld }>(file, 'demo world record').world
    : existsSync(join(out, 'demo-stages.json')) ? 'instruct' : null;
  if (had !== null && had !== world) {
    throw new UserError(`${out} holds a demo of the ${had} world; continue it with --world ${had}, start afresh with --fresh, or use another --out`);
  }
  if (had === null || !existsSync(file)) writeJsonAtomic(file, { world });
}

async function demoLocked(s: DemoSettings, out: string, command: string, onProgress: ProgressCallback | undefined, log: (line: string) => void): Promise<DemoResult> {
  const t0 = performance.now();
  mkdirSync(join(out, 'results'), { recursive: true });
  const stages: StageTime[] = [];
  requireSameWorld(out, s.world);
  const cachePath = join(out, 'demo-stages.json');
  const cache: Record<string, StageRecord> = existsSync(cachePath) ? readJsonFile<Record<string, StageRecord>>(cachePath, 'demo stage record') : {};
  /** Seconds of reused stages as the earlier run spent them, minus what checking them took now. */
  let reusedSeconds = 0;
  /**
   * Run a stage. When `reused` says it found its work already done, the figures of the run that
   * did it are reported (from demo-stages.json) instead of this process's empty ones.
   */
  const timed = async <T>(stage: string, f: () => T | Promise<T>, detail?: (r: T) => string, reused?: (r: T) => boolean, legacy?: (r: T) => { result: T; seconds: number }): Promise<T> => {
    const t = performance.now();
    log(`demo: ${stage} ...`);
    let r: T = await f();
    let seconds = (performance.now() - t) / 1000;
    if (reused?.(r)) {
      const cached = cache[stage];
      const earlier = cached ? { result: (cached.result ?? r) as T, seconds: cached.seconds } : legacy ? legacy(r) : { result: r, seconds: NaN };
      reusedSeconds += (Number.isFinite(earlier.seconds) ? earlier.seconds : 0) - seconds;
      r = earlier.result;
      seconds = earlier.seconds;
      const d = detail ? detail(r) : undefined;
      stages.push({ stage, seconds, ...(d !== undefined ? { detail: d } : {}) });
      log(`demo: ${stage} was already done by an earlier run${Number.isFinite(seconds) ? ` in ${seconds.toFixed(1)} s` : ''}${d ? ` (${d})` : ''}; reusing it`);
      return r;
    }
    const d = detail ? detail(r) : undefined;
    stages.push({ stage, seconds, ...(d !== undefined ? { detail: d } : {}) });
    cache[stage] = { seconds, ...(d !== undefined ? { detail: d } : {}), ...(r !== undefined ? { result: r } : {}) };
    writeJsonAtomic(cachePath, cache);
    log(`demo: ${stage} done in ${seconds.toFixed(1)} s${d ? ` (${d})` : ''}`);
    return r;
  };

  // Data: generated deterministically; the test split is disjoint from the training split by construction.
  const testFile = join(out, 'test.jsonl'), questionsFile = join(out, 'train-questions.jsonl');
  await timed('data', () => {
    const had = existsSync(testFile) && existsSync(questionsFile);
    if (!existsSync(testFile)) writeGsm8kJsonl(testFile, generateProblems({ split: 'test', count: s.testCount, seed: s.dataSeed }));
    if (!existsSync(questionsFile)) writeGsm8kJsonl(questionsFile, generateProblems({ split: 'train', count: s.sampleCount, seed: s.dataSeed }));
    return had;
  }, () => `${s.testCount} held-out test problems, ${s.sampleCount} training questions`, (had) => had, (had) => ({ result: had, seconds: 0 }));

  const evalOne = (label: string, model: string, extra: { adapter?: string; amateur?: string } = {}): Promise<ModelEvalReport> => timed(`eval ${label}`, () => {
    const results = join(out, 'results', `${label}.jsonl`);
    // A directory from a demo with another default batch size continues with its own (the completions are the same).
    const batchSize = existingEvalBatchSize(results) ?? s.evalBatchSize;
    return runEval({
      model, input: testFile, out: results,
      settings: { maxNewTokens: s.evalMaxNewTokens, batchSize, prompt: 'qwen25-math-cot', percentScaling: true },
      ...(extra.adapter ? { adapter: extra.adapter } : {}),
      ...(extra.amateur ? { contrastiveDecoding: { amateur: extra.amateur, ...s.cd } } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
  }, (r) => `${(100 * r.summary.accuracy).toFixed(1)}%, ${r.summary.tokensPerSecond ? `${r.summary.tokensPerSecond.toFixed(0)} tokens/s` : 'resumed'}`, (r) => r.graded === 0 && r.resumed > 0);

  const amateurEval = await evalOne('amateur', s.amateur);
  const expertEval = await evalOne('expert', s.expert);

  const samplesFile = join(out, 'samples.jsonl');
  const sampleStats: SampleStats = await timed('sample', async () => {
    const read = readQuestions(questionsFile);
    requireValidQuestions(read);
    const expert = await openModel({ backend: 'engine', modelDir: s.expert }), amateur = await openModel({ backend: 'engine', modelDir: s.amateur });
    // A demo directory written before the Expert's logits were kept from its decoding continues
    // with the second pass it started with (its manifest says so), instead of refusing to resume.
    const settings = { ...s.sample, expertRescore: expertRescoreOfExistingRun(samplesFile) ?? s.sample.expertRescore };
    return runSample({ expert, amateur, questions: read.questions, inputPath: questionsFile, out: samplesFile, settings, ...(onProgress ? { onProgress } : {}) });
  }, (r) => `${r.questions} questions, ${r.keptSteps} of ${r.contrastedSteps} steps kept (${(100 * r.keptFraction).toFixed(1)}%)`, (r) => r.resumedQuestions === r.questions);

  const adapterDir = join(out, 'adapter');
  const train: TrainReport = await timed('train', () => trainLora({
    ...s.train, expert: s.expert, samples: samplesFile, out: adapterDir,
    ...(onProgress ? { onProgress } : {}),
    onWarning: (m) => log(`demo: warning: ${m}`),
  }), (r) => `${r.maxSteps} steps, loss ${r.firstLoss.toFixed(3)} → ${r.lastLoss.toFixed(3)}`, (r) => r.steps === 0 && r.resumedFrom >= r.maxSteps, (r) => {
    // The report's tuned tokens and losses are the whole run's already; its time is this process's (none).
    const seconds = trainingRunTotals(adapterDir).seconds;
    return { result: { ...r, seconds }, seconds };
  });

  const mergedDir = join(out, 'expert-lightreasoner');
  await timed('merge', () => {
    const had = existsSync(join(mergedDir, 'model.safetensors'));
    if (!had) mergeAdapterDir({ base: s.expert, adapter: adapterDir, out: mergedDir });
    return had;
  }, undefined, (had) => had);
  const tunedEval = await evalOne('expert-lightreasoner', mergedDir);

  // Baselines: contrastive decoding (the Amateur at every inference step) and rejection-sampling SFT
  // (uses the gold answers; LightReasoner's LoRA configuration, its own steps and learning rate, chosen on dev).
  let cdEval: ModelEvalReport | null = null, sftEval: ModelEvalReport | null = null, sft: SftReport | null = null;
  if (s.baselines) {
    cdEval = await evalOne('expert-cd', s.expert, { amateur: s.amateur });
    const sftDir = join(out, 'sft');
    const sftRun = (): Promise<SftReport> => {
      const read = readQuestions(questionsFile);
      requireValidQuestions(read);
      return runRejectionSft({
        ...s.train, lr: s.sft.lr, maxSteps: s.sft.maxSteps, model: s.expert, questions: requireGold(read.questions, questionsFile), inputPath: questionsFile, out: sftDir,
        samplesPerQuestion: s.sft.samplesPerQuestion, temperature: s.sft.temperature, maxNewTokens: s.sft.maxNewTokens,
        genBatchSize: Math.max(1, Math.floor(s.sample.batchSize / s.sft.samplesPerQuestion)), prompt: 'qwen25-math-cot', dedupe: true,
        // Four chunks of 32 sequences decoded as one batch of 128: the same samples, fuller products.
        decodeChunks: SFT_DECODE_CHUNKS,
        ...(onProgress ? { onProgress } : {}),
      });
    };
    sft = await timed('sft', async () => {
      try {
        return await sftRun();
      } catch (e) {
        // A model that solves none of its training questions gives SFT nothing to learn from.
        if (e instanceof UserError && /kept no correct solution/.test(e.message)) {
          log(`demo: SFT baseline skipped: ${e.message}`);
          return null;
        }
        throw e;
      }
    }, (r) => (r ? `${r.sampledProblems} problems x ${s.sft.samplesPerQuestion} samples, ${r.keptTrajectories} correct trajectories kept, loss ${r.firstLoss.toFixed(3)} → ${r.lastLoss.toFixed(3)}` : 'no correct sample to train on'), (r) => r !== null && r.steps === 0, (r) => {
      return { result: r && { ...r, trainingSeconds: trainingRunTotals(sftDir).seconds }, seconds: NaN };
    });
    if (sft) sftEval = await evalOne('expert-sft', s.expert, { adapter: sftDir });
  }

  const row = (label: string, description: string, r: ModelEvalReport, evalSeconds: number): ModelRow => ({
    label, description, correct: r.summary.correct, count: r.summary.count, accuracy: r.summary.accuracy, wilson95: r.summary.wilson95, evalSeconds, formats: r.summary.formats,
  });
  const evalSeconds = (label: string): number => stages.find((x) => x.stage === `eval ${label}`)!.seconds;
  const vs = (label: string) => {
    const c = compareResultFiles(join(out, 'results', 'expert.jsonl'), join(out, 'results', `${label}.jsonl`));
    return { difference: c.difference, onlyExpert: c.onlyA, onlyThis: c.onlyB, pValue: c.pValue };
  };
  const stageSeconds = (name: string): number => stages.find((x) => x.stage === name)?.seconds ?? 0;
  const rows: ModelRow[] = [
    { ...row('Amateur', 'bundled Amateur', amateurEval, evalSeconds('amateur')), vsExpert: vs('amateur') },
    row('Expert', 'bundled Expert', expertEval, evalSeconds('expert')),
  ];
  if (cdEval) {
    rows.push({ ...row('Expert + CD', 'contrastive decoding with the Amateur (no tuning)', cdEval, evalSeconds('expert-cd')), vsExpert: vs('expert-cd'), inferenceNote: 'none (Amateur at inference)' });
  }
  if (sftEval && sft) {
    rows.push({
      ...row('Expert + SFT', 'rejection-sampling SFT LoRA (uses gold answers)', sftEval, evalSeconds('expert-sft')),
      vsExpert: vs('expert-sft'),
      sampledProblems: sft.sampledProblems,
      trainingData: `${sft.keptTrajectories} trajectories`.replace(/^1 trajectories/, "1 trajectory"),
      tunedTokens: sft.tunedTokens,
      buildSeconds: stageSeconds('sft'),
    });
  }
  rows.push({
    ...row('Expert + LightReasoner', 'Expert with the LightReasoner LoRA merged', tunedEval, evalSeconds('expert-lightreasoner')),
    vsExpert: vs('expert-lightreasoner'),
    sampledProblems: sampleStats.questions,
    trainingData: `${sampleStats.keptSteps} steps`,
    // A demo-stages.json from before the report had tunedTokens kept supervisedPositions (the same figure for a run never resumed).
    tunedTokens: (train.tunedTokens as number | undefined) ?? train.supervisedPositions,
    buildSeconds: stageSeconds('sample') + stageSeconds('train') + stageSeconds('merge'),
  });
  const klValues = readJsonl<TrajectoryRecord & { step_kl?: number[] }>(trajectoriesPath(samplesFile), 'trajectories').records.flatMap((r) => r.value.step_kl ?? []);
  const e = engineInfo();
  const report: DemoReport = {
    title: `LightReasoner demo on the bundled tiny models (${s.world} world)`,
    command,
    machine: `${cpus()[0]?.model ?? 'cpu'} (${cpus().length} cores), engine ${e.kind}${e.coreName ? ` (OpenBLAS ${e.coreName})` : ''}, node ${process.version}`,
    rows,
    stages,
    // Wall time of the whole pipeline: stages reused from an earlier run count with their own time.
    totalSeconds: (performance.now() - t0) / 1000 + reusedSeconds,
    settings: { ...s, expert: s.expert, amateur: s.amateur, fresh: undefined },
    klValues,
    beta: s.sample.beta,
  };
  const files = { markdown: join(out, 'demo.md'), json: join(out, 'demo.json'), svg: join(out, 'demo.svg') };
  writeFileAtomic(files.markdown, markdownReport(report));
  writeJsonAtomic(files.json, { ...report, klValues: undefined, klSummary: sampleStats.klPercentiles, sample: sampleStats, train, sft });
  writeFileAtomic(files.svg, svgChart(report));
  return { report, files };
}

