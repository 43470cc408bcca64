/**
 * A baseline the bench compares our engine with, on the same CPU. Rows name their baseline:
 * PyTorch in its own process (tools/bench/torch-baseline.ts), llama.cpp in ours
 * (tools/bench/llama-baseline.ts).
 */
import type { BenchRow, Sample } from './spec.js';

export interface Baseline {
  /** Shown in the table header, e.g. "PyTorch". */
  readonly name: string;
  /** How the baseline computes (library versions, BLAS kernel, threads), for the report. */
  readonly info: Record<string, unknown>;
  /** Build the row's model and inputs; untimed. */
  prepare(row: BenchRow, hfConfig: Record<string, unknown>): Promise<void>;
  /** One timed repetition of a prepared row. */
  run(rowId: string): Promise<Sample>;
  close(): Promise<void>;
}

/** Why a baseline could not start, and what the user can do about it. */
export interface BaselineMissing {
  missing: string;
  hint: string;
}
