/**
 * The data order of training on whole examples (pretraining conversations, SFT trajectories): an
 * endless stream of seeded epoch permutations, cut into steps of `gradAccum` micro-batches of
 * `batchSize`. Step s is a pure function of s, so a resumed run sees exactly the data it would
 * have. (LightReasoner's own steps have their own plan, src/train/batches.ts.)
 */
import type { StepData, TrainSequence } from './trainer.js';
import { Rng } from '../util/rng.js';

export interface EpochBatches {
  /** Examples in the set. */
  count: number;
  batchSize: number;
  gradAccum: number;
  /** The seed of epoch `epoch`'s permutation (each command keeps its own formula: its runs stay reproducible). */
  epochSeed: (epoch: number) => number;
  /** Example i as a training sequence. */
  sequence: (i: number) => TrainSequence;
}

/** `(step) => StepData` over epochs of shuffled examples; example k of the stream is in step ⌊k / (batchSize·gradAccum)⌋. */
export function epochBatches(o: EpochBatches): (step: number) => StepData {
  let cache: { epoch: number; order: number[] } | null = null;
  return (step) => {
    const out: StepData = [];
    for (let m = 0; m < o.gradAccum; m++) {
      const mb: TrainSequence[] = [];
      for (let j = 0; j < o.batchSize; j++) {
        const k = (step * o.gradAccum + m) * o.batchSize + j;
        const epoch = Math.floor(k / o.count);
        if (!cache || cache.epoch !== epoch) cache = { epoch, order: new Rng(o.epochSeed(epoch)).shuffle(Array.from({ length: o.count }, (_, i) => i)) };
        mb.push(o.sequence(cache.order[k % o.count]!));
      }
      out.push(mb);
    }
    return out;
  };
}
