/**
 * scoreTrajectory (src/method/trajectory.ts) on back ends instead of engine models: the Expert's and
 * the Amateur's next-token distributions at every generated step, from one teacher-forced pass each,
 * contrasted step by step. On the engine back end the result is identical to scoreTrajectory's.
 */
import type { ContrastOptions } from '../method/contrast.js';
import { contrastTrajectory, type ScoredStep, type ScoringTime } from '../method/trajectory.js';
import { UserError } from '../util/errors.js';
import type { LanguageModelBackend } from './backend.js';

export async function scoreTrajectoryOn(expert: LanguageModelBackend, amateur: LanguageModelBackend, promptIds: ArrayLike<number>, generated: ArrayLike<number>, o: ContrastOptions & { firstStep?: number }, timing?: ScoringTime): Promise<ScoredStep[]> {
  const V = expert.vocabSize;
  if (amateur.vocabSize !== V) throw new UserError(`the Expert (${expert.description}) has ${V} ids per distribution but the Amateur (${amateur.description}) has ${amateur.vocabSize}`);
  const t0 = performance.now();
  const e = await expert.stepLogits(promptIds, generated);
  const t1 = performance.now();
  const a = await amateur.stepLogits(promptIds, generated);
  if (timing) {
    timing.expertSeconds += (t1 - t0) / 1000;
    timing.amateurSeconds += (performance.now() - t1) / 1000;
  }
  return contrastTrajectory(e, a, generated.length, V, o);
}
