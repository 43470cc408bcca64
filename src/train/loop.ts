/**
 * The training loop every training command runs: steps, a JSONL log (step, loss, lr, grad norm,
 * targets, tokens, seconds), a progress bar with the loss, checkpoints every `saveSteps`, and
 * continuation: started again on the same output, it continues from the last checkpoint when the
 * run's settings match (training_manifest.json) and refuses naming each setting that changed. A
 * finished run leaves `trainer_state.json` beside its artifact, so running it again does nothing.
 *
 * Which settings may grow: only the number of steps, and only where that leaves the steps already
 * run unchanged, i.e. with the constant schedule (the warmup depends on --warmup-steps alone). With
 * linear or cosine decay the rate of every step depends on the total, so a longer run is a
 * different run from its first step: that is refused, not silently re-scheduled. A finished run is
 * extended from its final checkpoint (written when --save-steps is not 0), bit for bit the run that
 * had asked for the larger number of steps from the start.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { StepData, StepStats, Trainer } from './trainer.js';
import { listCheckpoints, removeUnfinishedCheckpoints, restoreCheckpoint, saveCheckpoint, type TrainerState } from './checkpoint.js';
import type { ScheduleKind } from './schedule.js';
import { readJsonl, type JsonlAppender } from '../util/jsonl.js';
import { readJsonFile, writeFileAtomic, writeJsonAtomic } from '../util/fsx.js';
import { UserError } from '../util/errors.js';
import { defaultWarn, fingerprintDifferences, lockPathFor, openAppendLog, readManifest, writeManifest } from '../util/run-dir.js';
import type { ProgressCallback } from '../util/progress.js';

export interface LoopOptions {
  outDir: string;
  maxSteps: number;
  saveSteps: number;
  /** Identity of the run: arguments and data that must not change when it continues (not the step count). */
  fingerprint: Record<string, unknown>;
  /** The learning-rate schedule: decides whether the step count may grow (see the module comment). */
  schedule: ScheduleKind;
  /** The flag that sets maxSteps, for messages. */
  maxStepsFlag?: string;
  /** Write the model (adapter or full) into a directory: checkpoints and the final output. */
  writeArtifact: (dir: string) => void;
  onProgress?: ProgressCallback;
  /** Notices (a repaired log, an extended run); default stderr. */
  onWarning?: (message: string) => void;
  stage?: string;
}

export interface LoopResult {
  /** Steps run by this call. */
  steps: StepStats[];
  /** The whole run's figures, from its log: what a report of the run must give, however often it was resumed. */
  run: RunTotals;
  /** Step this call started from: 0, a checkpoint's step, or maxSteps for a run that had already finished. */
  resumedFrom: number;
  seconds: number;
  tokens: number;
  targets: number;
}

export const LOG_FILE = 'training_log.jsonl';

/** A training run's figures over all its steps, read back from its log (one line per step run). */
export interface RunTotals {
  steps: number;
  /** Supervised target positions (tuned tokens), counted per step: repeated epochs count again. */
  targets: number;
  tokens: number;
  /** Sum of the steps' own seconds (time spent stepping, across every process that ran the run). */
  seconds: number;
  losses: number[];
}

export function trainingRunTotals(outDir: string): RunTotals {
  const logPath = join(outDir, LOG_FILE);
  const steps = existsSync(logPath) ? readJsonl<{ loss: number; targets: number; tokens: number; seconds: number }>(logPath, 'training log').records.map((r) => r.value) : [];
  return {
    steps: steps.length,
    targets: steps.reduce((a, x) => a + x.targets, 0),
    tokens: steps.reduce((a, x) => a + x.tokens, 0),
    seconds: steps.reduce((a, x) => a + x.seconds, 0),
    losses: steps.map((x) => x.loss),
  };
}
/** Written into outDir after the final artifact: the run is complete. */
export const FINAL_STATE_FILE = 'trainer_state.json';
/** Written into outDir when a run starts: what it was started with. */
export const TRAINING_MANIFEST_FILE = 'training_manifest.json';

interface TrainingManifest {
  lightreasoner_training: 1;
  fingerprint: Record<string, unknown>;
  maxSteps: number;
  schedule: ScheduleKind;
}

/** Fingerprint keys under which runs written before the manifest kept their step count. */
const LEGACY_STEP_KEYS = ['max_steps', 'maxSteps', 'steps'];

/** Fingerprint keys whose flag is not the key spelled as a flag. */
const KEY_LABELS: Record<string, string> = {
  expert: '--expert (weights fingerprint)', model: '--model (weights fingerprint)', data: '--samples (data fingerprint)',
  arch: 'architecture (--hidden, --layers, --heads, --kv-heads, --intermediate, --max-positions, --rope-theta, --untied; or --init)',
  warmup: '--warmup-steps', trajectories: 'kept trajectories (from the sampling settings)', lora: 'LoRA (--rank, --lora-alpha, --lora-dropout, --target)',
  pack: '--pack / --no-pack', dedupe: '--dedupe / --no-dedupe', examples: 'training records (--train)', vocab: 'tokenizer vocabulary size (--tokenizer)',
  questions: 'number of questions (--input, --limit)',
};

/** The flag behind a fingerprint key (`batch_size`, `batchSize` → `--batch-size`), for messages. */
export function fingerprintLabel(key: string): string {
  return KEY_LABELS[key] ?? `--${key.replace(/_/g, '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** True when `outDir` holds (part of) a training run. */
export function holdsTrainingRun(outDir: string): boolean {
  return [TRAINING_MANIFEST_FILE, FINAL_STATE_FILE, LOG_FILE, 'checkpoints'].some((f) => existsSync(join(outDir, f)));
}

/**
 * Refuse an --out that holds other files but no training run (a typo'd path to a model directory,
 * say): continuing there would mix our files into someone else's. Cheap: call it before loading.
 */
export function checkTrainingOutDir(outDir: string, options: { flag?: string; ours?: (name: string) => boolean } = {}): void {
  const flag = options.flag ?? '--out';
  if (!existsSync(outDir)) return;
  if (!statSync(outDir).isDirectory()) throw new UserError(`${flag} ${outDir} exists and is not a directory`);
  if (holdsTrainingRun(outDir)) return;
  const lockName = basename(lockPathFor(outDir, 'dir'));
  const other = readdirSync(outDir).filter((f) => f !== lockName && !options.ours?.(f));
  if (other.length > 0) {
    throw new UserError(`${flag} ${outDir} is not empty (${other.slice(0, 3).join(', ')}${other.length > 3 ? ', ...' : ''}) and holds no training run; choose a new or empty directory`);
  }
}

export function runTraining(trainer: Trainer, data: (step: number) => StepData, o: LoopOptions): LoopResult {
  const t0 = performance.now();
  const warn = o.onWarning ?? defaultWarn;
  const stepsFlag = o.maxStepsFlag ?? '--max-steps';
  mkdirSync(o.outDir, { recursive: true });
  const logPath = join(o.outDir, LOG_FILE);
  const finalPath = join(o.outDir, FINAL_STATE_FILE);
  const manifestPath = join(o.outDir, TRAINING_MANIFEST_FILE);
  const final = existsSync(finalPath) ? readJsonFile<TrainerState>(finalPath, 'trainer state') : null;
  const unfinished = removeUnfinishedCheckpoints(o.outDir);
  if (unfinished > 0) warn(`${o.outDir}: removed ${unfinished} checkpoint${unfinished === 1 ? '' : 's'} that an interrupted run was still writing`);
  const checkpoints = listCheckpoints(o.outDir);
  const last = checkpoints.at(-1);
  const lastState = last ? readJsonFile<TrainerState>(join(last.dir, 'trainer_state.json'), 'trainer state') : null;

  // What the run in outDir was started with: its manifest, or (runs from before the manifest) the
  // fingerprint its final state or checkpoint carries.
  const manifest = readManifest<TrainingManifest>(manifestPath, 'training manifest');
  const saved = manifest?.fingerprint ?? final?.fingerprint ?? lastState?.fingerprint ?? null;
  let start = 0;
  if (saved) {
    const legacySteps = LEGACY_STEP_KEYS.map((k) => saved[k]).find((v) => typeof v === 'number') as number | undefined;
    const comparable = Object.fromEntries(Object.entries(saved).filter(([k]) => !(manifest === null && LEGACY_STEP_KEYS.includes(k) && !(k in o.fingerprint))));
    const diffs = fingerprintDifferences(comparable, o.fingerprint, fingerprintLabel);
    if (diffs.length > 0) {
      throw new UserError(`cannot continue the training run in ${o.outDir}: it was started with other settings (${diffs.join('; ')}). Run again with the original arguments, or use a new output directory`);
    }
    const savedMax = manifest?.maxSteps ?? legacySteps ?? final?.step ?? o.maxSteps;
    const done = Math.max(final?.step ?? 0, last?.step ?? 0);
    if (o.maxSteps < done) {
      throw new UserError(`${o.outDir} already holds ${done} trained steps; ${stepsFlag} ${o.maxSteps} is fewer. Use ${stepsFlag} ${savedMax} (its own setting), or a new output directory`);
    }
    if (o.maxSteps !== savedMax && o.schedule !== 'constant' && done > 0) {
      throw new UserError(`${o.outDir} was started with ${stepsFlag} ${savedMax}; it cannot become ${o.maxSteps}: with the ${o.schedule} schedule the learning rate of every step depends on ${stepsFlag}, so the ${done} steps already run are not those of a ${o.maxSteps}-step run. Only runs with --schedule constant can grow; train a new output directory for ${o.maxSteps} steps`);
    }
    if (final && final.step === o.maxSteps) {
      return { steps: [], run: trainingRunTotals(o.outDir), resumedFrom: final.step, seconds: (performance.now() - t0) / 1000, tokens: 0, targets: 0 };
    }
    if (final && (!last || last.step < final.step)) {
      throw new UserError(`${o.outDir} holds a finished ${final.step}-step run without its optimiser state at step ${final.step} (trained with --save-steps 0, or by an older version), so it cannot be extended exactly to ${o.maxSteps} steps; train a new output directory`);
    }
    if (last) {
      const state = restoreCheckpoint(last.dir, trainer.params, trainer.optimizer);
      start = state.step;
    }
    if (final) {
      warn(`${o.outDir}: extending the finished ${final.step}-step run to ${o.maxSteps} steps (${stepsFlag} grew; the constant schedule leaves the steps already run unchanged)`);
      rmSync(finalPath, { force: true });
    }
  }
  writeManifest(manifestPath, { lightreasoner_training: 1, fingerprint: o.fingerprint, maxSteps: o.maxSteps, schedule: o.schedule } satisfies TrainingManifest);
  // Steps logged after the checkpoint will be redone: drop them so the log stays one line per step.
  if (existsSync(logPath)) {
    const lines = readFileSync(logPath, 'utf8').split('\n');
    let torn = false;
    const kept = lines.filter((l, i) => {
      if (!l.trim()) return false;
      try {
        return (JSON.parse(l) as { step: number }).step < start;
      } catch {
        if (i === lines.length - 1) torn = true;
        return false;
      }
    });
    if (torn) warn(`${logPath}: cut an incomplete last line (line ${lines.length}) left by an interrupted run (killed, or a full disk)`);
    writeFileAtomic(logPath, kept.map((l) => `${l}\n`).join(''));
  }
  const log: JsonlAppender = openAppendLog(logPath, warn);
  const steps: StepStats[] = [];
  let tokens = 0, targets = 0, lossAvg = NaN;
  o.onProgress?.({ stage: o.stage ?? 'train', done: start, total: o.maxSteps, unit: 'steps' });
  try {
    for (let s = start; s < o.maxSteps; s++) {
      const st = trainer.step(s, data(s));
      steps.push(st);
      tokens += st.tokens;
      targets += st.targets;
      lossAvg = Number.isNaN(lossAvg) ? st.loss : 0.9 * lossAvg + 0.1 * st.loss;
      if (!Number.isFinite(st.loss)) throw new UserError(`training diverged at step ${s}: loss is ${st.loss}; lower --lr`);
      log.append({ step: s, loss: st.loss, lr: st.lr, grad_norm: st.gradNorm, targets: st.targets, tokens: st.tokens, seconds: Number(st.seconds.toFixed(4)) });
      o.onProgress?.({ stage: o.stage ?? 'train', done: s + 1, total: o.maxSteps, unit: 'steps', info: { loss: lossAvg.toFixed(4), lr: st.lr.toExponential(2) } });
      // The final step's checkpoint too: it is what lets a constant-schedule run be extended exactly.
      if (o.saveSteps > 0 && ((s + 1) % o.saveSteps === 0 || s + 1 === o.maxSteps)) {
        saveCheckpoint(o.outDir, s + 1, trainer.params, trainer.optimizer, o.fingerprint, o.writeArtifact);
      }
    }
  } finally {
    log.close();
  }
  o.writeArtifact(o.outDir);
  const state: TrainerState = { step: o.maxSteps, fingerprint: o.fingerprint, savedAt: new Date().toISOString() };
  writeJsonAtomic(finalPath, state);
  return { steps, run: trainingRunTotals(o.outDir), resumedFrom: start, seconds: (performance.now() - t0) / 1000, tokens, targets };
}
