/**
 * The training loop every training command runs: steps, a JSONL log (step, loss, lr, grad norm,
 * targets, tokens, seconds), a progress bar with the loss, checkpoints every `saveSteps`, and
 * `resume` from the last checkpoint (refused when the arguments or data changed). A finished run
 * leaves `trainer_state.json` beside its artifact, so resuming it again does nothing.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StepData, StepStats, Trainer } from './trainer.js';
import { fingerprintDifference, listCheckpoints, removeUnfinishedCheckpoints, restoreCheckpoint, saveCheckpoint, type TrainerState } from './checkpoint.js';
import { JsonlAppender } from '../util/jsonl.js';
import { readJsonFile, writeFileAtomic, writeJsonAtomic } from '../util/fsx.js';
import { UserError } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';

export interface LoopOptions {
  outDir: string;
  maxSteps: number;
  saveSteps: number;
  resume: boolean;
  /** Identity of the run: arguments and data that must not change on resume. */
  fingerprint: Record<string, unknown>;
  /** Write the model (adapter or full) into a directory: checkpoints and the final output. */
  writeArtifact: (dir: string) => void;
  onProgress?: ProgressCallback;
  stage?: string;
}

export interface LoopResult {
  /** Steps run by this call. */
  steps: StepStats[];
  /** Step this call started from: 0, a checkpoint's step, or maxSteps for a run that had already finished. */
  resumedFrom: number;
  seconds: number;
  tokens: number;
  targets: number;
}

export const LOG_FILE = 'training_log.jsonl';
/** Written into outDir after the final artifact: the run is complete. */
export const FINAL_STATE_FILE = 'trainer_state.json';

export function runTraining(trainer: Trainer, data: (step: number) => StepData, o: LoopOptions): LoopResult {
  const t0 = performance.now();
  mkdirSync(o.outDir, { recursive: true });
  const logPath = join(o.outDir, LOG_FILE);
  mkdirSync(o.outDir, { recursive: true });
  const finalPath = join(o.outDir, FINAL_STATE_FILE);
  if (existsSync(finalPath)) {
    if (!o.resume) throw new UserError(`${o.outDir} already holds a finished training run; choose another output directory`);
    const state = readJsonFile<TrainerState>(finalPath, 'trainer state');
    const diff = fingerprintDifference(state.fingerprint, o.fingerprint);
    if (diff) throw new UserError(`cannot resume ${o.outDir}: the finished run there had other settings (${diff}); use a new output directory`);
    return { steps: [], resumedFrom: state.step, seconds: (performance.now() - t0) / 1000, tokens: 0, targets: 0 };
  }
  const checkpoints = listCheckpoints(o.outDir);
  let start = 0;
  if (checkpoints.length > 0 || existsSync(logPath)) {
    if (!o.resume) {
      throw new UserError(`${o.outDir} already holds a training run (${checkpoints.length ? `checkpoint at step ${checkpoints.at(-1)!.step}` : LOG_FILE}); pass --resume to continue it, or choose another output directory`);
    }
    removeUnfinishedCheckpoints(o.outDir);
    const last = checkpoints.at(-1);
    if (last) {
      const state = restoreCheckpoint(last.dir, trainer.params, trainer.optimizer);
      const diff = fingerprintDifference(state.fingerprint, o.fingerprint);
      if (diff) throw new UserError(`cannot resume ${o.outDir}: the run's settings changed (${diff}); use the original arguments or a new output directory`);
      start = state.step;
    }
    // Steps logged after the checkpoint will be redone: drop them so the log stays one line per step.
    if (existsSync(logPath)) {
      const kept = readFileSync(logPath, 'utf8').split('\n').filter((l) => {
        if (!l.trim()) return false;
        try {
          return (JSON.parse(l) as { step: number }).step < start;
        } catch {
          return false;
        }
      });
      writeFileAtomic(logPath, kept.map((l) => `${l}\n`).join(''));
    }
  }
  const log = new JsonlAppender(logPath);
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
      if (o.saveSteps > 0 && (s + 1) % o.saveSteps === 0 && s + 1 < o.maxSteps) {
        saveCheckpoint(o.outDir, s + 1, trainer.params, trainer.optimizer, o.fingerprint, o.writeArtifact);
      }
    }
  } finally {
    log.close();
  }
  o.writeArtifact(o.outDir);
  const state: TrainerState = { step: o.maxSteps, fingerprint: o.fingerprint, savedAt: new Date().toISOString() };
  writeJsonAtomic(finalPath, state);
  return { steps, resumedFrom: start, seconds: (performance.now() - t0) / 1000, tokens, targets };
}
