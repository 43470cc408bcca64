/**
 * The pre-registered program of docs/experiments.md §5 (issue 13), as code: the settings search on
 * the DEV split, the choice by the pre-registered rule, then the test runs and the tables. One
 * driver for both worlds: a world file (tools/experiments/configs/world-*.json) names its models,
 * its evaluation budget and which settings it takes as fixed instead of searching them.
 *
 *   node dist/tools/experiments/program.js dev    --world tools/experiments/configs/world-base.json --out runs/program-base
 *   node dist/tools/experiments/program.js test   --world ... --out ...   (needs <out>/choices.json, written by dev)
 *   node dist/tools/experiments/program.js tables --world ... --out ...   (Markdown of whatever has finished)
 *
 * `--shard i/n` splits each stage's independent runs over n processes started with the same
 * arguments (each waits for the others at the end of a stage); start shard 0 first, it makes the data.
 *
 * Everything is resumable at three levels: a finished unit (one evaluation, one sampling run, one
 * LoRA or SFT run) is recorded in <out>/units/ with its figures and time and never redone; an
 * unfinished evaluation, sampling run or training run continues from its own files (the commands'
 * resume). Kill it at any point and run the same command again.
 *
 * `test` refuses to start without choices.json, and `dev` never reads a test file: the test split is
 * generated only by `test`.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { generateProblems } from '../../src/data/synthetic/generate.js';
import { writeGsm8kJsonl } from '../../src/data/synthetic/gsm8k-jsonl.js';
import { readQuestions, requireValidQuestions } from '../../src/data/questions.js';
import { requireGold } from '../../src/eval/grade.js';
import { compareResultFiles, runEval, type ModelEvalReport } from '../../src/eval/run.js';
import type { FormatSummary, Share } from '../../src/eval/formats.js';
import { openModel } from '../../src/backends/open.js';
import { DEFAULT_SAMPLE_SETTINGS, runSample, type SampleStats } from '../../src/method/sample.js';
import { DEFAULT_TRAIN_SETTINGS, trainLora, type TrainReport } from '../../src/train/train-lora.js';
import { DEFAULT_SFT_SETTINGS, runRejectionSft, type SftReport } from '../../src/baselines/rejection-sft.js';
import { LINEAR_NAMES, type LinearName } from '../../src/model/params.js';
import { readJsonFile, writeFileAtomic, writeJsonAtomic } from '../../src/util/fsx.js';

// ---------------------------------------------------------------------------------------------
// The pre-registration (docs/experiments.md §5.3–5.4). Changing anything here after the test split
// has been looked at would break it.

const EVAL_PROMPT = 'qwen25-math-cot';
const LORA = { r: 8, loraAlpha: 16, dropout: 0.05 };
const REFERENCE = { beta: 0.4, alpha: 0.2 };
const TARGETS: Record<string, LinearName[]> = { qv: ['q_proj', 'v_proj'], all: [...LINEAR_NAMES] };
const STAGE_A = { lr: [5e-4, 1e-3, 2e-3], steps: [300, 500], targets: ['qv', 'all'] };
const STAGE_B: ReadonlyArray<{ beta: number; alpha: number }> = [
  { beta: 0.2, alpha: 0.2 }, { beta: 0.8, alpha: 0.2 }, { beta: 0.4, alpha: 0.1 }, { beta: 0.4, alpha: 0.3 },
];
const SFT_GRID = { lr: [5e-4, 1e-3, 2e-3], steps: [100, 250, 500] };
const CD_GRID = { cdAlpha: 0.1, cdBeta: [0.5, 1.0] };
const SEEDS = [0, 1, 2];
/** Questions: 400 of the train split, seed 5 for the dev sweeps and seed 7 for the test runs; 500 test problems, seed 7; dev seed 1. */
const DATA = { questions: 400, devSeed: 1, devCount: 1000, sweepSeed: 5, testSeed: 7, testCount: 500 };

/** A world: its models and the parts of the program it takes as given. */
export interface World {
  name: string;
  /** Model directories, relative to the world file's directory's repository root (the working directory). */
  expert: string;
  amateur: string;
  /** Amateur study: same Expert, other Amateurs (label → directory); absent directories are left out. */
  studyAmateurs: Record<string, string>;
  /** Dev problems used for every choice (first devLimit of the generated dev split). */
  devLimit: number;
  evalMaxNewTokens: number;
  evalBatchSize: number;
  /** SFT samples with the evaluation's prompt and this budget. */
  sftMaxNewTokens: number;
  sampleBatchSize: number;
  /** Settings this world takes as given (chosen on dev earlier) instead of searching them here. */
  fixed?: { lightreasoner?: LrChoice };
  /** Smaller data for a smoke run of the program itself (tools/experiments/configs/world-smoke.json); never for results. */
  smoke?: { questions?: number; testCount?: number };
}

interface LrChoice { lr: number; steps: number; targets: string; beta: number; alpha: number }
interface SftChoice { lr: number; steps: number }
interface CdChoice { cdAlpha: number; cdBeta: number }

interface Choices {
  world: string;
  lightreasoner: LrChoice & { why: string };
  sft: SftChoice & { why: string };
  cd: CdChoice & { why: string };
  dev: { expert: number; rows: DevRow[] };
}

interface DevRow { name: string; accuracy: number; correct: number; count: number; settings: Record<string, unknown> }

// ---------------------------------------------------------------------------------------------
// Units: each finished one is recorded once with its figures and time.

interface Unit<T> { seconds: number; result: T }

export class Program {
  readonly unitsDir: string;
  constructor(readonly out: string, readonly w: World, readonly shard: { i: number; n: number } | null = null, readonly pollMs = 15_000) {
    this.unitsDir = join(out, 'units');
    mkdirSync(this.unitsDir, { recursive: true });
  }

  /**
   * Independent runs of one stage. Unsharded: each in turn. With --shard i/n (n processes, e.g. one
   * OpenBLAS thread each, which on 2 cores finishes more small-model work than one process with two
   * threads): this process runs items i, i+n, ..., then waits for the other shards' items, and
   * returns every item's result (read back from the finished units).
   */
  async parallel<T>(items: ReadonlyArray<{ name: string; run: () => Promise<T> }>): Promise<T[]> {
    const marker = (name: string): string => join(this.unitsDir, `item-${name}.json`);
    for (const [k, it] of items.entries()) {
      if (this.shard && k % this.shard.n !== this.shard.i) continue;
      if (!existsSync(marker(it.name))) {
        await it.run();
        writeJsonAtomic(marker(it.name), { done: true });
      }
    }
    for (let waited = false; items.some((it) => !existsSync(marker(it.name))); waited = true) {
      if (!waited) process.stderr.write(`program: waiting for other shards: ${items.filter((it) => !existsSync(marker(it.name))).map((it) => it.name).join(', ')}\n`);
      await new Promise((res) => setTimeout(res, this.pollMs));
    }
    const out: T[] = [];
    for (const it of items) out.push(await it.run()); // every unit is finished: read back
    return out;
  }

  private async unit<T>(name: string, run: () => Promise<T>): Promise<Unit<T>> {
    const file = join(this.unitsDir, `${name}.json`);
    if (existsSync(file)) return readJsonFile<Unit<T>>(file, 'program unit');
    process.stderr.write(`program: ${name} ...\n`);
    const t0 = performance.now();
    const result = await run();
    const u = { seconds: (performance.now() - t0) / 1000, result };
    writeJsonAtomic(file, u);
    process.stderr.write(`program: ${name} done in ${u.seconds.toFixed(0)} s\n`);
    return u;
  }

  /** Data files, generated deterministically (the same generator and seeds as make-data). */
  data(kind: 'dev' | 'sweep-questions' | 'test-questions' | 'test'): string {
    const file = join(this.out, 'data', `${kind}.jsonl`);
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      const d = { ...DATA, ...this.w.smoke };
      const problems = kind === 'dev' ? generateProblems({ split: 'dev', count: d.devCount, seed: d.devSeed })
        : kind === 'test' ? generateProblems({ split: 'test', count: d.testCount, seed: d.testSeed })
          : generateProblems({ split: 'train', count: d.questions, seed: kind === 'sweep-questions' ? d.sweepSeed : d.testSeed });
      writeGsm8kJsonl(file, problems);
    }
    return file;
  }

  async evaluate(name: string, split: 'dev' | 'test', o: { model?: string; adapter?: string; cd?: CdChoice; amateur?: string } = {}): Promise<Unit<EvalFigures>> {
    return this.unit(`eval-${name}`, async () => {
      const r: ModelEvalReport = await runEval({
        model: o.model ?? this.w.expert, input: this.data(split), out: this.resultsFile(name),
        settings: { maxNewTokens: this.w.evalMaxNewTokens, batchSize: this.w.evalBatchSize, prompt: EVAL_PROMPT, percentScaling: true, limit: split === 'dev' ? this.w.devLimit : null },
        ...(o.adapter ? { adapter: o.adapter } : {}),
        ...(o.cd ? { contrastiveDecoding: { amateur: o.amateur ?? this.w.amateur, ...o.cd } } : {}),
      });
      return { accuracy: r.summary.accuracy, correct: r.summary.correct, count: r.summary.count, wilson95: r.summary.wilson95, meanTokens: r.summary.meanCompletionTokens, formats: r.summary.formats };
    });
  }

  resultsFile(name: string): string { return join(this.out, 'results', `${name}.jsonl`); }

  async sample(name: string, questions: string, o: { beta: number; alpha: number; label?: 'contrastive' | 'expert'; amateur?: string }): Promise<Unit<SampleFigures>> {
    const file = join(this.out, 'samples', name, 'samples.jsonl');
    return this.unit(`sample-${name}`, async () => {
      const read = readQuestions(questions);
      requireValidQuestions(read);
      const s: SampleStats = await runSample({
        expert: await openModel({ backend: 'engine', modelDir: this.w.expert }),
        amateur: await openModel({ backend: 'engine', modelDir: o.amateur ?? this.w.amateur }),
        questions: read.questions, inputPath: questions, out: file,
        settings: { ...DEFAULT_SAMPLE_SETTINGS, beta: o.beta, alpha: o.alpha, label: o.label ?? 'contrastive', batchSize: this.w.sampleBatchSize },
      });
      return { file, questions: s.questions, keptSteps: s.keptSteps, contrastedSteps: s.contrastedSteps, keptFraction: s.keptFraction, klP50: s.klPercentiles.p50 };
    });
  }

  async lora(name: string, samples: string, c: { lr: number; steps: number; targets: string; seed: number }): Promise<Unit<TrainFigures>> {
    const out = join(this.out, 'lora', name);
    return this.unit(`lora-${name}`, async () => {
      const r: TrainReport = await trainLora({
        ...DEFAULT_TRAIN_SETTINGS, lora: { ...LORA, targets: TARGETS[c.targets]! }, lr: c.lr, maxSteps: c.steps, batchSize: 8, gradAccum: 2,
        warmupSteps: 0, saveSteps: 100, seed: c.seed, expert: this.w.expert, samples, out, resume: true,
      });
      return { adapter: out, tunedTokens: r.tunedTokens, firstLoss: r.firstLoss, lastLoss: r.lastLoss, trainSeconds: r.seconds };
    });
  }

  /** Rejection-sampling SFT; runs with the same seed share their sampling (copied from `shareFrom` when it has finished it). */
  async sft(name: string, questions: string, c: { lr: number; steps: number; targets: string; seed: number }, shareFrom?: string): Promise<Unit<SftFigures | null>> {
    const out = join(this.out, 'sft', name);
    return this.unit(`sft-${name}`, async () => {
      if (shareFrom && !existsSync(join(out, 'sft_manifest.json'))) {
        const from = join(this.out, 'sft', shareFrom);
        mkdirSync(out, { recursive: true });
        for (const f of ['sft_manifest.json', 'sft_samples.jsonl']) copyFileSync(join(from, f), join(out, f));
      }
      const read = readQuestions(questions);
      requireValidQuestions(read);
      try {
        const r: SftReport = await runRejectionSft({
          ...DEFAULT_TRAIN_SETTINGS, lora: { ...LORA, targets: TARGETS[c.targets]! }, lr: c.lr, maxSteps: c.steps, batchSize: 8, gradAccum: 2,
          warmupSteps: 0, saveSteps: 100, seed: c.seed, model: this.w.expert, questions: requireGold(read.questions, questions), inputPath: questions, out,
          samplesPerQuestion: DEFAULT_SFT_SETTINGS.samplesPerQuestion, temperature: DEFAULT_SFT_SETTINGS.temperature, maxNewTokens: this.w.sftMaxNewTokens,
          genBatchSize: Math.max(1, Math.floor(this.w.sampleBatchSize / DEFAULT_SFT_SETTINGS.samplesPerQuestion)), decodeChunks: DEFAULT_SFT_SETTINGS.decodeChunks,
          prompt: EVAL_PROMPT, dedupe: true,
        });
        return { adapter: out, tunedTokens: r.tunedTokens, keptTrajectories: r.keptTrajectories, correctCompletions: r.correctCompletions, sampledCompletions: r.sampledCompletions, samplingSeconds: r.samplingSeconds, trainSeconds: r.trainingSeconds };
      } catch (e) {
        // A model that solves none of its training questions gives SFT nothing to learn from: a result, not a failure.
        if (e instanceof Error && /kept no correct solution/.test(e.message)) return null;
        throw e;
      }
    });
  }
}

interface EvalFigures { accuracy: number; correct: number; count: number; wilson95: [number, number]; meanTokens: number | null; formats: FormatSummary }
interface SampleFigures { file: string; questions: number; keptSteps: number; contrastedSteps: number; keptFraction: number; klP50: number }
interface TrainFigures { adapter: string; tunedTokens: number; firstLoss: number; lastLoss: number; trainSeconds: number }
interface SftFigures { adapter: string; tunedTokens: number; keptTrajectories: number; correctCompletions: number; sampledCompletions: number; samplingSeconds: number; trainSeconds: number }

const tag = (x: number): string => String(x).replace('.', 'p');
const lrTag = (c: { lr: number; steps: number; targets: string }): string => `lr${c.lr}-s${c.steps}-${c.targets}`;

// ---------------------------------------------------------------------------------------------
// The choice rules (§5.4), as pure functions so a test can pin them.

/**
 * Highest accuracy; ties to the reference (β 0.4, α 0.2), then fewer steps, then the lower lr, then the
 * reference's targets q_proj,v_proj — the registered rule; a tie it leaves (two stage-B settings, neither
 * the reference) goes to the one listed first in the grid (the sort is stable), as docs/experiments.md §5.6 says.
 */
export function chooseLightReasoner<T extends { accuracy: number; c: LrChoice }>(rows: readonly T[]): T {
  const ref = (c: LrChoice): number => (c.beta === REFERENCE.beta && c.alpha === REFERENCE.alpha ? 0 : 1);
  return [...rows].sort((a, b) => b.accuracy - a.accuracy || ref(a.c) - ref(b.c) || a.c.steps - b.c.steps || a.c.lr - b.c.lr || (a.c.targets === 'qv' ? 0 : 1) - (b.c.targets === 'qv' ? 0 : 1))[0]!;
}

/** SFT: highest accuracy; ties to fewer steps, then the lower lr. */
export function chooseSft<T extends { accuracy: number; c: SftChoice }>(rows: readonly T[]): T {
  return [...rows].sort((a, b) => b.accuracy - a.accuracy || a.c.steps - b.c.steps || a.c.lr - b.c.lr)[0]!;
}

/** Contrastive decoding: highest accuracy; ties to the lower β_CD (the CD default, 0.5). */
export function chooseCd<T extends { accuracy: number; c: CdChoice }>(rows: readonly T[]): T {
  return [...rows].sort((a, b) => b.accuracy - a.accuracy || a.c.cdBeta - b.c.cdBeta)[0]!;
}

// ---------------------------------------------------------------------------------------------

async function dev(p: Program, w: World): Promise<Choices> {
  const questions = p.data('sweep-questions');
  const rows: DevRow[] = [];
  const devRow = (name: string, e: Unit<EvalFigures>, settings: Record<string, unknown>): void => {
    rows.push({ name, accuracy: e.result.accuracy, correct: e.result.correct, count: e.result.count, settings });
  };
  const [expert] = await p.parallel([{ name: 'dev-expert', run: () => p.evaluate('dev-expert', 'dev') }]);
  devRow('dev-expert', expert!, {});

  let lrChoice: LrChoice & { why: string };
  if (w.fixed?.lightreasoner) {
    lrChoice = { ...w.fixed.lightreasoner, why: 'fixed by the world file (chosen on dev earlier)' };
  } else {
    // Stage A: β 0.4, α 0.2 fixed; lr × steps × targets, one sampling run for all of them.
    const refName = `dev-b${tag(REFERENCE.beta)}-a${tag(REFERENCE.alpha)}`;
    const [refSamples] = await p.parallel([{ name: `sample-${refName}`, run: () => p.sample(refName, questions, REFERENCE) }]);
    const gridA: LrChoice[] = [];
    for (const targets of STAGE_A.targets) for (const steps of STAGE_A.steps) for (const lr of STAGE_A.lr) gridA.push({ lr, steps, targets, ...REFERENCE });
    const stageA = await p.parallel(gridA.map((c) => ({
      name: `dev-A-${lrTag(c)}`,
      run: async () => {
        const t = await p.lora(`dev-A-${lrTag(c)}`, refSamples!.result.file, { ...c, seed: 0 });
        return { e: await p.evaluate(`dev-A-${lrTag(c)}`, 'dev', { adapter: t.result.adapter }), c };
      },
    })));
    for (const { e, c } of stageA) devRow(`dev-A-${lrTag(c)}`, e, { ...c });
    const bestA = chooseLightReasoner(stageA.map(({ e, c }) => ({ accuracy: e.result.accuracy, c })));
    // Stage B: the best (lr, steps, targets) with other (β, α); stage A's winner is the reference candidate.
    const stageB = await p.parallel(STAGE_B.map((ba) => {
      const c: LrChoice = { ...bestA.c, ...ba }, name = `dev-B-b${tag(ba.beta)}-a${tag(ba.alpha)}`;
      return {
        name: `${name}-${lrTag(c)}`,
        run: async () => {
          const smp = await p.sample(name, questions, ba);
          const t = await p.lora(`${name}-${lrTag(c)}`, smp.result.file, { ...c, seed: 0 });
          return { e: await p.evaluate(`${name}-${lrTag(c)}`, 'dev', { adapter: t.result.adapter }), c, name: `${name}-${lrTag(c)}` };
        },
      };
    }));
    for (const { e, c, name } of stageB) devRow(name, e, { ...c });
    const best = chooseLightReasoner([bestA, ...stageB.map(({ e, c }) => ({ accuracy: e.result.accuracy, c }))]);
    lrChoice = { ...best.c, why: `highest dev accuracy of stages A and B (${(100 * best.accuracy).toFixed(2)}%; ties: reference β/α, fewer steps, lower lr, q_proj,v_proj)` };
  }

  // SFT: its own schedule, LoRA targets as chosen for LightReasoner; the grid's first run samples,
  // the others copy its samples (same seed, same sampling settings).
  const gridSft: SftChoice[] = [];
  for (const steps of SFT_GRID.steps) for (const lr of SFT_GRID.lr) gridSft.push({ lr, steps });
  const sftName = (c: SftChoice): string => `dev-sft-lr${c.lr}-s${c.steps}`;
  const sftItem = (c: SftChoice, shareFrom?: string) => ({
    name: sftName(c),
    run: async () => {
      const s = await p.sft(sftName(c), questions, { ...c, targets: lrChoice.targets, seed: 0 }, shareFrom);
      return { c, e: s.result === null ? null : await p.evaluate(sftName(c), 'dev', { adapter: s.result.adapter }) };
    },
  });
  const sftRuns = [...await p.parallel([sftItem(gridSft[0]!)]), ...await p.parallel(gridSft.slice(1).map((c) => sftItem(c, sftName(gridSft[0]!))))];
  const sftRows: Array<{ accuracy: number; c: SftChoice }> = [];
  for (const { c, e } of sftRuns) {
    if (e === null) continue;
    devRow(sftName(c), e, { ...c, targets: lrChoice.targets });
    sftRows.push({ accuracy: e.result.accuracy, c });
  }
  const sftBest = sftRows.length ? chooseSft(sftRows) : null;

  const cdRuns = await p.parallel(CD_GRID.cdBeta.map((cdBeta) => {
    const c = { cdAlpha: CD_GRID.cdAlpha, cdBeta };
    return { name: `dev-cd-b${tag(cdBeta)}`, run: async () => ({ c, e: await p.evaluate(`dev-cd-b${tag(cdBeta)}`, 'dev', { cd: c }) }) };
  }));
  for (const { c, e } of cdRuns) devRow(`dev-cd-b${tag(c.cdBeta)}`, e, { ...c });
  const cdBest = chooseCd(cdRuns.map(({ c, e }) => ({ accuracy: e.result.accuracy, c })));

  const choices: Choices = {
    world: w.name,
    lightreasoner: lrChoice,
    sft: sftBest ? { ...sftBest.c, why: `highest dev accuracy of the SFT grid (${(100 * sftBest.accuracy).toFixed(2)}%; ties: fewer steps, lower lr)` }
      : { lr: NaN, steps: 0, why: 'rejection sampling kept no correct solution: no SFT baseline' },
    cd: { ...cdBest.c, why: `highest dev accuracy (${(100 * cdBest.accuracy).toFixed(2)}%; ties: lower β_CD)` },
    dev: { expert: expert!.result.accuracy, rows },
  };
  writeJsonAtomic(join(p.out, 'choices.json'), choices);
  return choices;
}

interface TestRow {
  group: 'main' | 'seeds' | 'ablation' | 'amateur study';
  label: string;
  eval: EvalFigures;
  /** Paired against the Expert (McNemar). */
  vsExpert?: { difference: number; onlyExpert: number; onlyThis: number; pValue: number };
  tunedTokens?: number;
  /** Sampling + training seconds (the tuned rows). */
  buildSeconds?: number;
  keptSteps?: number;
  seed?: number;
}

async function test(p: Program, w: World, choices: Choices): Promise<void> {
  const questions = p.data('test-questions');
  const L = choices.lightreasoner;
  type Made = Omit<TestRow, 'vsExpert'> & { results: string };
  const evalItem = (name: string, label: string, o: { model?: string; cd?: CdChoice }) => ({
    name, run: async (): Promise<Made | null> => ({ group: 'main', label, eval: (await p.evaluate(name, 'test', o)).result, results: name }),
  });
  const lrItem = (label: string, group: TestRow['group'], sampleName: string, so: { beta: number; alpha: number; label?: 'contrastive' | 'expert'; amateur?: string }, seed: number) => {
    const name = `${sampleName}-${lrTag(L)}-seed${seed}`;
    return {
      name, run: async (): Promise<Made | null> => {
        const s = await p.sample(sampleName, questions, so);
        if (s.result.keptSteps === 0) {
          // Nothing to tune on (e.g. an Amateur that agrees with the Expert everywhere): a result, stated, not a crash.
          process.stderr.write(`program: ${label}: sampling kept no step, so there is nothing to train; left out of the table\n`);
          return null;
        }
        const t = await p.lora(name, s.result.file, { ...L, seed });
        const e = await p.evaluate(name, 'test', { adapter: t.result.adapter });
        return { group, label, eval: e.result, results: name, tunedTokens: t.result.tunedTokens, buildSeconds: s.seconds + t.seconds, keptSteps: s.result.keptSteps, seed };
      },
    };
  };
  const sftName = (seed: number): string => `test-sft-lr${choices.sft.lr}-s${choices.sft.steps}-seed${seed}`;
  const sftItem = (seed: number) => ({
    name: sftName(seed), run: async (): Promise<Made | null> => {
      const s = await p.sft(sftName(seed), questions, { ...choices.sft, targets: L.targets, seed });
      if (s.result === null) return null;
      const e = await p.evaluate(sftName(seed), 'test', { adapter: s.result.adapter });
      return { group: seed === 0 ? 'main' : 'seeds', label: `Expert + SFT (seed ${seed})`, eval: e.result, results: sftName(seed), tunedTokens: s.result.tunedTokens, buildSeconds: s.seconds, seed };
    },
  });
  const mainSamples = `test-b${tag(L.beta)}-a${tag(L.alpha)}`;
  const study = Object.entries(w.studyAmateurs).filter(([label, dir]) => {
    if (!existsSync(dir)) process.stderr.write(`program: amateur study: ${dir} is absent; ${label} left out\n`);
    return existsSync(dir);
  });
  // The seeds share one sampling run: it is made first, on its own.
  await p.parallel([{ name: `sample-${mainSamples}`, run: () => p.sample(mainSamples, questions, { beta: L.beta, alpha: L.alpha }) }]);
  const made = await p.parallel([
    evalItem('test-amateur', 'Amateur', { model: w.amateur }),
    evalItem('test-expert', 'Expert', {}),
    evalItem('test-cd', `Expert + CD (β_CD ${choices.cd.cdBeta})`, { cd: choices.cd }),
    ...SEEDS.map((seed) => lrItem(`Expert + LightReasoner (seed ${seed})`, seed === 0 ? 'main' : 'seeds', mainSamples, { beta: L.beta, alpha: L.alpha }, seed)),
    ...(Number.isFinite(choices.sft.lr) ? SEEDS.map(sftItem) : []),
    // Ablations (seed 0): no KL filter (β 0), no contrast (the Expert's own distribution as label), neither.
    lrItem('no KL filter (β 0)', 'ablation', `test-b0-a${tag(L.alpha)}`, { beta: 0, alpha: L.alpha }, 0),
    lrItem('no contrast (label: Expert)', 'ablation', `test-b${tag(L.beta)}-a${tag(L.alpha)}-expertlabel`, { beta: L.beta, alpha: L.alpha, label: 'expert' }, 0),
    lrItem('neither', 'ablation', `test-b0-a${tag(L.alpha)}-expertlabel`, { beta: 0, alpha: L.alpha, label: 'expert' }, 0),
    // Amateur study (seed 0): the same Expert contrasted with other Amateurs.
    ...study.map(([label, dir]) => lrItem(`Amateur: ${label}`, 'amateur study', `test-b${tag(L.beta)}-a${tag(L.alpha)}-amateur-${label}`, { beta: L.beta, alpha: L.alpha, amateur: dir }, 0)),
  ]);
  const vs = (name: string): TestRow['vsExpert'] => {
    const c = compareResultFiles(p.resultsFile('test-expert'), p.resultsFile(name));
    return { difference: c.difference, onlyExpert: c.onlyA, onlyThis: c.onlyB, pValue: c.pValue };
  };
  const rows: TestRow[] = made.filter((m): m is Made => m !== null).map(({ results, ...r }) => (results === 'test-expert' ? r : { ...r, vsExpert: vs(results) }));
  // LightReasoner vs SFT, paired on the test problems (seed 0 of each), for the rule's second half.
  const lr0 = `${mainSamples}-${lrTag(L)}-seed0`;
  const vsSft = existsSync(p.resultsFile(sftName(0))) ? compareResultFiles(p.resultsFile(sftName(0)), p.resultsFile(lr0)) : null;
  writeJsonAtomic(join(p.out, 'test-results.json'), {
    world: w.name, choices, rows,
    summary: decide(rows, vsSft && { difference: vsSft.difference, onlySft: vsSft.onlyA, onlyLightReasoner: vsSft.onlyB, pValue: vsSft.pValue }),
  });
}

/** The decision rule (§5.4) on the test rows: a gain needs seed 0 ahead with McNemar p < 0.05 and the three seeds' mean ahead. */
export function decide(rows: readonly TestRow[], lrVsSft: { difference: number; onlySft: number; onlyLightReasoner: number; pValue: number } | null): Decision {
  const expert = rows.find((r) => r.label === 'Expert');
  const lr = rows.filter((r) => r.label.startsWith('Expert + LightReasoner'));
  const sft = rows.filter((r) => r.label.startsWith('Expert + SFT'));
  const lr0 = lr.find((r) => r.seed === 0), sft0 = sft.find((r) => r.seed === 0);
  if (!expert || !lr0) return { complete: false, lightreasoner: null, sft: null, lightreasonerGains: null, lightreasonerBeatsSft: null, lrVsSft };
  const lrStats = meanSd(lr.map((r) => r.eval.accuracy)), sftStats = sft.length ? meanSd(sft.map((r) => r.eval.accuracy)) : null;
  return {
    complete: lr.length === SEEDS.length && (sft.length === 0 || sft.length === SEEDS.length),
    lightreasoner: lrStats, sft: sftStats,
    lightreasonerGains: lr0.vsExpert!.pValue < 0.05 && lr0.eval.accuracy > expert.eval.accuracy && lrStats.mean > expert.eval.accuracy,
    lightreasonerBeatsSft: sft0 && lrVsSft && sftStats ? lrVsSft.pValue < 0.05 && lr0.eval.accuracy > sft0.eval.accuracy && lrStats.mean > sftStats.mean : null,
    lrVsSft,
  };
}

export interface Decision {
  complete: boolean;
  lightreasoner: MeanSd | null;
  sft: MeanSd | null;
  lightreasonerGains: boolean | null;
  lightreasonerBeatsSft: boolean | null;
  lrVsSft: { difference: number; onlySft: number; onlyLightReasoner: number; pValue: number } | null;
}

interface MeanSd { n: number; mean: number; sd: number | null }

/** Mean and sample standard deviation. */
export function meanSd(xs: readonly number[]): MeanSd {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return { n: xs.length, mean: m, sd: xs.length > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1)) : null };
}

// ---------------------------------------------------------------------------------------------
// Tables

const pct = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`);
const share = (s: Share): string => (s.share === null ? '–' : pct(s.share));

export function testTables(res: { world: string; rows: TestRow[]; summary?: Decision }): string {
  const lines = [`### ${res.world} world: test (${res.rows.find((r) => r.label === 'Expert')?.eval.count ?? '?'} problems)`, '', '| model | accuracy (95% CI) | vs Expert (+/−, p) | tuned tokens | build time | \\boxed{} | stops after answer | runs on | hits budget | accuracy when well-formed | first answer correct |', '|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of res.rows) {
    const f = r.eval.formats;
    const v = r.vsExpert ? `${r.vsExpert.difference >= 0 ? '+' : '−'}${Math.abs(100 * r.vsExpert.difference).toFixed(1)} pts (+${r.vsExpert.onlyThis}/−${r.vsExpert.onlyExpert}, p ${r.vsExpert.pValue < 0.001 ? '< 0.001' : r.vsExpert.pValue.toFixed(3)})` : '';
    lines.push(`| ${r.label} | ${pct(r.eval.accuracy)} (${pct(r.eval.wilson95[0])}–${pct(r.eval.wilson95[1])}) | ${v} | ${r.tunedTokens ?? ''} | ${r.buildSeconds !== undefined ? `${r.buildSeconds.toFixed(0)} s` : ''} | ${share(f.boxed)} | ${share(f.stopsAfterAnswer)} | ${share(f.runsOn)} | ${share(f.hitsBudget)} | ${share(f.wellFormedAccuracy)} | ${share(f.firstAnswerCorrect)} |`);
  }
  const d = res.summary;
  if (d?.lightreasoner) {
    const ms = (x: MeanSd): string => `${pct(x.mean)}${x.sd !== null ? ` ± ${(100 * x.sd).toFixed(1)}` : ''} (${x.n} seed${x.n === 1 ? '' : 's'})`;
    lines.push('', `LightReasoner over LoRA seeds: ${ms(d.lightreasoner)}${d.sft ? `; SFT: ${ms(d.sft)}` : ''}.`);
    if (d.lrVsSft) lines.push(`LightReasoner vs SFT (seed 0, paired): ${d.lrVsSft.difference >= 0 ? '+' : '−'}${Math.abs(100 * d.lrVsSft.difference).toFixed(1)} pts (+${d.lrVsSft.onlyLightReasoner}/−${d.lrVsSft.onlySft}, p ${d.lrVsSft.pValue.toFixed(3)}).`);
    lines.push(`Decision rule (§5.4): LightReasoner ${d.lightreasonerGains ? 'GAINS' : 'does not gain'} over the Expert${d.lightreasonerBeatsSft === null ? '' : `; it ${d.lightreasonerBeatsSft ? 'BEATS' : 'does not beat'} SFT`}${d.complete ? '' : ' (incomplete: not every seed has finished)'}.`);
  }
  return lines.join('\n');
}

export function devTable(c: Choices): string {
  const lines = [`### ${c.world} world: dev (settings search)`, '', '| run | settings | dev accuracy |', '|---|---|---|'];
  for (const r of c.dev.rows) lines.push(`| ${r.name} | ${Object.entries(r.settings).map(([k, v]) => `${k} ${String(v)}`).join(', ')} | ${pct(r.accuracy)} (${r.correct}/${r.count}) |`);
  lines.push('', `Chosen: LightReasoner lr ${c.lightreasoner.lr}, ${c.lightreasoner.steps} steps, targets ${c.lightreasoner.targets}, β ${c.lightreasoner.beta}, α ${c.lightreasoner.alpha} (${c.lightreasoner.why}); SFT lr ${c.sft.lr}, ${c.sft.steps} steps (${c.sft.why}); CD α ${c.cd.cdAlpha}, β_CD ${c.cd.cdBeta} (${c.cd.why}).`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const phase = process.argv[2], worldFile = arg('--world'), outArg = arg('--out');
  if (!phase || !['dev', 'test', 'tables'].includes(phase) || !worldFile || !outArg) {
    throw new Error('usage: program.js dev|test|tables --world tools/experiments/configs/world-NAME.json --out DIR');
  }
  const w = JSON.parse(readFileSync(worldFile, 'utf8')) as World;
  const out = resolve(outArg);
  const shardArg = arg('--shard'), m = shardArg?.match(/^(\d+)\/(\d+)$/);
  if (shardArg !== undefined && (!m || Number(m[1]) >= Number(m[2]))) throw new Error(`--shard must be i/n with 0 <= i < n, got ${shardArg}`);
  const p = new Program(out, w, m ? { i: Number(m[1]), n: Number(m[2]) } : null);
  const choicesFile = join(out, 'choices.json');
  if (phase === 'dev') {
    const c = await dev(p, w);
    process.stdout.write(`${devTable(c)}\n`);
  } else if (phase === 'test') {
    if (!existsSync(choicesFile)) throw new Error(`${choicesFile} is missing: run the dev phase first (the test split is not touched before the choices exist)`);
    await test(p, w, readJsonFile<Choices>(choicesFile, 'choices'));
    process.stdout.write(`${testTables(readJsonFile(join(out, 'test-results.json'), 'test results'))}\n`);
  } else {
    const parts: string[] = [];
    if (existsSync(choicesFile)) parts.push(devTable(readJsonFile<Choices>(choicesFile, 'choices')));
    if (existsSync(join(out, 'test-results.json'))) parts.push(testTables(readJsonFile(join(out, 'test-results.json'), 'test results')));
    if (parts.length === 0) parts.push(`nothing finished yet in ${out}: ${existsSync(join(out, 'units')) ? readdirSync(join(out, 'units')).length : 0} units done`);
    writeFileAtomic(join(out, 'tables.md'), `${parts.join('\n\n')}\n`);
    process.stdout.write(`${parts.join('\n\n')}\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
