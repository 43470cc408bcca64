/**
 * Scoring one trajectory (prompt + the Expert's greedy continuation) with both models.
 *
 * The reference implementation re-runs the Amateur once per step on a re-tokenised prefix
 * (O(T²) work, and re-tokenising decoded text can change the ids). Causal attention makes one
 * teacher-forced pass over prompt + generated tokens give every next-token distribution at
 * once, on the Expert's exact ids: the distribution for step t (predicting generated[t]) is the
 * output at row promptLength − 1 + t.
 */
import type { Transformer } from '../model/transformer.js';
import { packSequences } from '../model/transformer.js';
import { ContrastScratch, contrastStep, type ContrastOptions, type StepContrast } from './contrast.js';

/** Next-token logits [T, vocab] at the T generated steps of one trajectory, from one causal pass. */
export function stepLogits(model: Transformer, promptIds: ArrayLike<number>, generated: ArrayLike<number>): Float32Array {
  const T = generated.length;
  if (T === 0) return new Float32Array(0);
  const seq = new Int32Array(promptIds.length + T - 1); // the last generated token predicts nothing we score
  seq.set(Array.from(promptIds), 0);
  seq.set(Array.from(generated).slice(0, T - 1), promptIds.length);
  const rows = Int32Array.from({ length: T }, (_, t) => promptIds.length - 1 + t);
  return model.forward(packSequences([seq]), { logitRows: rows }).logits;
}

/** Seconds spent in each model's teacher-forced pass, accumulated. */
export interface ScoringTime {
  expertSeconds: number;
  amateurSeconds: number;
}

export interface ScoredStep extends StepContrast {
  step: number;
}

/**
 * Expert and Amateur distributions at every generated step, contrasted. `firstStep` skips the
 * steps before it (the reference skips step 0).
 */
export function scoreTrajectory(expert: Transformer, amateur: Transformer, promptIds: ArrayLike<number>, generated: ArrayLike<number>, o: ContrastOptions & { firstStep?: number }, timing?: ScoringTime): ScoredStep[] {
  const t0 = performance.now();
  const e = stepLogits(expert, promptIds, generated);
  const t1 = performance.now();
  const a = stepLogits(amateur, promptIds, generated);
  if (timing) {
    timing.expertSeconds += (t1 - t0) / 1000;
    timing.amateurSeconds += (performance.now() - t1) / 1000;
  }
  return contrastTrajectory(e, a, generated.length, expert.config.vocabSize, o);
}

/** Contrast the Expert's and Amateur's logits [T, vocab] step by step, from `firstStep` on. */
export function contrastTrajectory(expertLogits: Float32Array, amateurLogits: Float32Array, T: number, V: number, o: ContrastOptions & { firstStep?: number }): ScoredStep[] {
  const scratch = new ContrastScratch(V);
  const out: ScoredStep[] = [];
  for (let t = o.firstStep ?? 0; t < T; t++) out.push({ step: t, ...contrastStep(expertLogits, t * V, amateurLogits, t * V, o, scratch) });
  return out;
}
