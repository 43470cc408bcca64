/**
 * Scoring one trajectory (prompt + the Expert's greedy continuation) with both models: each back
 * end gives its next-token logits at every generated step from one teacher-forced pass
 * (LanguageModelBackend.stepLogits; on the engine, src/model/step-logits.ts), and the two are
 * contrasted step by step (src/method/contrast.ts). The Expert's pass is skipped when its logits
 * come from generation (LanguageModelBackend.generateGreedyWithLogits).
 */
import type { LanguageModelBackend } from '../backends/backend.js';
import { UserError } from '../util/errors.js';
import { ContrastScratch, contrastStep, type ContrastOptions, type StepContrast } from './contrast.js';

/** Seconds spent in each model's teacher-forced pass, accumulated (the Expert's stays 0 when its logits came from generation). */
export interface ScoringTime {
  expertSeconds: number;
  amateurSeconds: number;
}

export interface ScoredStep extends StepContrast {
  step: number;
}

/**
 * Expert and Amateur distributions at every generated step, contrasted. `firstStep` skips the
 * steps before it (the reference skips step 0). `expertLogits` [T, vocab], when given, are the
 * Expert's rows from its own decoding (row t chose generated[t]) and replace its teacher-forced
 * pass.
 */
export async function scoreTrajectory(expert: LanguageModelBackend, amateur: LanguageModelBackend, promptIds: ArrayLike<number>, generated: ArrayLike<number>, o: ContrastOptions & { firstStep?: number }, timing?: ScoringTime, expertLogits?: Float32Array): Promise<ScoredStep[]> {
  const V = expert.vocabSize;
  if (amateur.vocabSize !== V) throw new UserError(`the Expert (${expert.description}) has ${V} ids per distribution but the Amateur (${amateur.description}) has ${amateur.vocabSize}`);
  if (expertLogits && expertLogits.length !== generated.length * V) {
    throw new Error(`scoreTrajectory: the Expert's logits from generation hold ${expertLogits.length / V} rows of ${V} for ${generated.length} generated tokens`);
  }
  const t0 = performance.now();
  const e = expertLogits ?? await expert.stepLogits(promptIds, generated);
  const t1 = performance.now();
  const a = await amateur.stepLogits(promptIds, generated);
  if (timing) {
    if (!expertLogits) timing.expertSeconds += (t1 - t0) / 1000;
    timing.amateurSeconds += (performance.now() - t1) / 1000;
  }
  return contrastTrajectory(e, a, generated.length, V, o);
}

/** Contrast the Expert's and Amateur's logits [T, vocab] step by step, from `firstStep` on. */
export function contrastTrajectory(expertLogits: Float32Array, amateurLogits: Float32Array, T: number, V: number, o: ContrastOptions & { firstStep?: number }): ScoredStep[] {
  const scratch = new ContrastScratch(V);
  const out: ScoredStep[] = [];
  for (let t = o.firstStep ?? 0; t < T; t++) out.push({ step: t, ...contrastStep(expertLogits, t * V, amateurLogits, t * V, o, scratch) });
  return out;
}
