/**
 * Interleaved timing: the sides take turns (A B, B A, A B, ...), so slow drift on a shared machine
 * (other jobs starting and stopping) lands on both sides alike instead of on whichever ran in its
 * block. Before each timed run the machine is left idle for `settleMs`, because OpenBLAS worker
 * threads keep spinning after a call (2^28 TSC ticks by default in 0.3.21, ~0.1 s here) and would
 * otherwise steal a core from the side that runs next.
 */
import type { Sample } from './spec.js';

export interface Side {
  name: string;
  run(): Promise<Sample>;
}

export interface MeasureOptions {
  /** Untimed repetitions per side first (JIT, allocator and cache warm-up). */
  warmup: number;
  /** Timed repetitions per side. */
  reps: number;
  settleMs: number;
  /** Called after each timed repetition of a side. */
  onSample?: (side: number, rep: number, s: Sample) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** samples[side][rep]. Repetition r starts with side r mod sides.length. */
export async function measureInterleaved(sides: readonly Side[], opts: MeasureOptions): Promise<Sample[][]> {
  const out: Sample[][] = sides.map(() => []);
  for (let w = 0; w < opts.warmup; w++) for (const s of sides) await s.run();
  for (let r = 0; r < opts.reps; r++) {
    for (let j = 0; j < sides.length; j++) {
      const i = (r + j) % sides.length;
      if (opts.settleMs > 0) await sleep(opts.settleMs);
      const sample = await sides[i]!.run();
      out[i]!.push(sample);
      opts.onSample?.(i, r, sample);
    }
  }
  return out;
}
