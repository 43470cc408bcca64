/**
 * Checkpoints that make long training resumable: `<out>/checkpoints/step-N/` holds
 *   state.safetensors   every trainable parameter and its AdamW moments (param.*, exp_avg.*, exp_avg_sq.*)
 *   trainer_state.json  completed steps and the run's fingerprint (arguments and data identity)
 *   + the artifact at that point (an adapter or a model directory), usable as is.
 * Each checkpoint is written under a temp name and renamed into place, so a killed process leaves
 * only whole checkpoints. Resuming restores parameters and optimiser state bit for bit; the data
 * order is a function of the step (src/train/batches.ts), so nothing else is needed.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ParamRef } from './adamw.js';
import type { AdamW } from './adamw.js';
import { readSafetensors, writeSafetensors } from '../model/safetensors.js';
import { UserError } from '../util/errors.js';
import { readJsonFile, writeJsonAtomic } from '../util/fsx.js';

export interface TrainerState {
  /** Optimiser steps completed. */
  step: number;
  fingerprint: Record<string, unknown>;
  savedAt: string;
}

export function checkpointsDir(outDir: string): string {
  return join(outDir, 'checkpoints');
}

/** Completed checkpoints, oldest first. */
export function listCheckpoints(outDir: string): Array<{ step: number; dir: string }> {
  const root = checkpointsDir(outDir);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => /^step-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(root, m[0], 'trainer_state.json')))
    .map((m) => ({ step: Number(m[1]), dir: join(root, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

/** Remove checkpoints a killed process left half-written (temp directories); returns how many. */
export function removeUnfinishedCheckpoints(outDir: string): number {
  const root = checkpointsDir(outDir);
  if (!existsSync(root)) return 0;
  const stale = readdirSync(root).filter((name) => /^\.step-\d+\.tmp-\d+$/.test(name));
  for (const name of stale) rmSync(join(root, name), { recursive: true, force: true });
  return stale.length;
}

export function saveCheckpoint(outDir: string, step: number, params: ParamRef[], opt: AdamW, fingerprint: Record<string, unknown>, writeArtifact: (dir: string) => void, keep = 2): string {
  const root = checkpointsDir(outDir);
  const final = join(root, `step-${step}`);
  const tmp = join(root, `.step-${step}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const tensors = params.flatMap((p, i) => [
    { name: `param.${p.name}`, shape: [p.param.length], data: p.param },
    { name: `exp_avg.${p.name}`, shape: [p.param.length], data: opt.state.m[i]! },
    { name: `exp_avg_sq.${p.name}`, shape: [p.param.length], data: opt.state.v[i]! },
  ]);
  writeSafetensors(join(tmp, 'state.safetensors'), tensors, { dtype: 'F32', metadata: { optimizer_step: String(opt.state.step) } });
  writeArtifact(tmp);
  const state: TrainerState = { step, fingerprint, savedAt: new Date().toISOString() };
  writeJsonAtomic(join(tmp, 'trainer_state.json'), state);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  for (const old of listCheckpoints(outDir).slice(0, -keep)) rmSync(old.dir, { recursive: true, force: true });
  return final;
}

/** Restore parameters and optimiser moments from a checkpoint; returns its state. */
export function restoreCheckpoint(dir: string, params: ParamRef[], opt: AdamW): TrainerState {
  const state = readJsonFile<TrainerState>(join(dir, 'trainer_state.json'), 'trainer state');
  const tensors = readSafetensors(join(dir, 'state.safetensors'));
  params.forEach((p, i) => {
    for (const [prefix, dest] of [['param', p.param], ['exp_avg', opt.state.m[i]!], ['exp_avg_sq', opt.state.v[i]!]] as const) {
      const t = tensors.get(`${prefix}.${p.name}`);
      if (!t || t.data.length !== dest.length) {
        throw new UserError(`${dir}/state.safetensors: "${prefix}.${p.name}" is ${t ? `of size ${t.data.length}, expected ${dest.length}` : 'missing'}; the checkpoint is from a different model or configuration`);
      }
      dest.set(t.data);
    }
  });
  opt.state.step = state.step;
  return state;
}
