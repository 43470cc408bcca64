/**
 * From kept steps to training batches (Stage 2).
 *
 * Every kept step of a trajectory trains the model's next-token distribution at one position of
 * the same token sequence (prompt + generated tokens). The reference runs one forward/backward per
 * record, each over its own prefix. Causal attention makes one pass over the longest prefix
 * needed, with the loss at every kept position, mathematically the same objective (METHOD.md
 * defect 4): that is packing. `pack: false` runs one sequence per record instead (same records,
 * same order, same loss), for checking and for comparison.
 *
 * Order: records are consumed as one endless stream, epoch after epoch, each epoch a fresh
 * seeded permutation. 'trajectories' shuffles whole trajectories and keeps each one's steps
 * together (so a micro-batch shares prefixes and packing pays off); 'records' shuffles records
 * uniformly, as Hugging Face's Trainer would. Optimiser step s takes records
 * [s·R, (s+1)·R) of the stream, R = batchSize × gradAccum; a resumed run needs only s.
 */
import type { StepData, TrainSequence } from './trainer.js';
import { Rng } from '../util/rng.js';

/** A kept step: train position (length − 1) of trajectory `group`'s first `length` tokens toward (ids, weights). */
export interface KeptStep {
  group: number;
  length: number;
  ids: number[];
  weights: number[];
}

export interface BatchPlan {
  /** Token ids of every trajectory (prompt + generated), by group. */
  sequences: Map<number, Int32Array>;
  steps: KeptStep[];
  batchSize: number;
  gradAccum: number;
  shuffle: 'trajectories' | 'records';
  pack: boolean;
  seed: number;
}

function epochOrder(plan: BatchPlan, epoch: number): KeptStep[] {
  const rng = new Rng((plan.seed * 7919 + epoch * 104729) >>> 0);
  if (plan.shuffle === 'records') return rng.shuffle([...plan.steps]);
  const byGroup = new Map<number, KeptStep[]>();
  for (const s of plan.steps) {
    let g = byGroup.get(s.group);
    if (!g) byGroup.set(s.group, (g = []));
    g.push(s);
  }
  const groups = rng.shuffle([...byGroup.keys()].sort((a, b) => a - b));
  return groups.flatMap((g) => byGroup.get(g)!.sort((a, b) => a.length - b.length));
}

/** Records [from, to) of the endless stream. */
export function streamSlice(plan: BatchPlan, from: number, to: number, cache = new Map<number, KeptStep[]>()): KeptStep[] {
  const n = plan.steps.length;
  if (n === 0) throw new Error('no kept steps to train on');
  const out: KeptStep[] = [];
  for (let k = from; k < to; k++) {
    const epoch = Math.floor(k / n);
    let order = cache.get(epoch);
    if (!order) {
      cache.clear();
      cache.set(epoch, (order = epochOrder(plan, epoch)));
    }
    out.push(order[k % n]!);
  }
  return out;
}

/** Sequences for one micro-batch of records: one per trajectory when packing, one per record otherwise. */
export function microBatch(plan: BatchPlan, records: KeptStep[]): TrainSequence[] {
  const seqOf = (g: number): Int32Array => {
    const s = plan.sequences.get(g);
    if (!s) throw new Error(`kept step refers to unknown trajectory ${g}`);
    return s;
  };
  if (!plan.pack) {
    return records.map((r) => ({ ids: seqOf(r.group).subarray(0, r.length), targets: [{ row: r.length - 1, ids: r.ids, weights: r.weights }] }));
  }
  const byGroup = new Map<number, KeptStep[]>();
  for (const r of records) {
    let g = byGroup.get(r.group);
    if (!g) byGroup.set(r.group, (g = []));
    g.push(r);
  }
  return [...byGroup].map(([g, rs]) => {
    const len = Math.max(...rs.map((r) => r.length));
    return { ids: seqOf(g).subarray(0, len), targets: rs.map((r) => ({ row: r.length - 1, ids: r.ids, weights: r.weights })) };
  });
}

/**
 * One optimiser step's records as micro-batches. Unpacked: `batchSize` records each, one sequence
 * per record. Packed: every record of a trajectory anywhere in the step rides on one sequence (up
 * to the longest prefix any of them needs), and those sequences fill micro-batches of at most
 * `batchSize` sequences, in order. The loss is normalised over the whole step (Trainer.step), so
 * how records fall into micro-batches does not change the objective; with 'trajectories' order a
 * trajectory's kept steps usually straddle the step's micro-batches, and packing across them runs
 * its shared prefix once instead of once per micro-batch. No pass holds more sequences, or longer
 * ones, than an unpacked micro-batch would, so memory stays within the same bound.
 * (LoRA dropout draws one mask per pass: records packed together share their prefix's mask, as
 * they already did inside a packed micro-batch.)
 */
export function stepBatches(plan: BatchPlan, records: KeptStep[]): StepData {
  const out: StepData = [];
  if (!plan.pack) {
    for (let m = 0; m < records.length; m += plan.batchSize) out.push(microBatch(plan, records.slice(m, m + plan.batchSize)));
    return out;
  }
  const sequences = microBatch(plan, records);
  for (let m = 0; m < sequences.length; m += plan.batchSize) out.push(sequences.slice(m, m + plan.batchSize));
  return out;
}

/** The data of optimiser step `step`. */
export function stepData(plan: BatchPlan, step: number, cache?: Map<number, KeptStep[]>): StepData {
  const R = plan.batchSize * plan.gradAccum;
  return stepBatches(plan, streamSlice(plan, step * R, (step + 1) * R, cache));
}
