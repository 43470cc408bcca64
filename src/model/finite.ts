/**
 * NaN and ±Inf checks for weights as they are loaded and for every logit a model produces: a
 * non-finite value anywhere would otherwise run to the end and print "log-probability NaN", keep
 * zero steps, or write "!!!!" completions (argmax over NaN is token 0).
 */
import { UserError } from '../util/errors.js';

/**
 * Index of the first NaN or ±Inf in `a`, or -1. The fast pass sums x·0, which is ±0 for every
 * finite x and NaN for NaN and ±Inf: one multiply-add per value and no branch (about 1 ns a value,
 * 5 ms for the bundled models' 5M weights). Only when it is not 0 does a second pass find the index.
 */
export function firstNonFinite(a: Float32Array): number {
  const n = a.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i]! * 0;
  if (s === 0) return -1;
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    if (x - x !== 0) return i;
  }
  return -1;
}

/** "NaN", "+Inf" or "-Inf". */
export function nonFiniteName(x: number): string {
  return Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf';
}

/** Row-major index → "[i, j, ...]" for a tensor of `shape`. */
export function indexInShape(index: number, shape: readonly number[]): string {
  const out: number[] = new Array(shape.length);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    out[d] = n > 0 ? rest % n : 0;
    rest = n > 0 ? Math.floor(rest / n) : 0;
  }
  return `[${out.join(', ')}]`;
}

/** Throw a UserError naming the file and tensor when `data` holds a NaN or ±Inf. */
export function assertFiniteTensor(data: Float32Array, shape: readonly number[], name: string, file: string): void {
  const bad = firstNonFinite(data);
  if (bad < 0) return;
  let count = 0;
  for (let i = bad; i < data.length; i++) if (data[i]! - data[i]! !== 0) count++;
  throw new UserError(`${file}: tensor "${name}" holds ${nonFiniteName(data[bad]!)} at ${indexInShape(bad, shape)} (${count} non-finite value${count === 1 ? '' : 's'} in all); the weights are damaged or overflowed when they were saved`);
}

/**
 * The error for a NaN/±Inf logit at flat index `index` of logits [rows.length, vocab] from a
 * packed batch: which model, which sequence of the batch, which absolute position, which token.
 */
export function nonFiniteLogit(model: string, batch: { seqStart: Int32Array; seqLen: Int32Array }, positions: Int32Array, rows: Int32Array, index: number, vocab: number, value: number): UserError {
  const p = Math.floor(index / vocab), tokenId = index % vocab;
  const row = rows[p]!;
  let seq = 0;
  while (seq + 1 < batch.seqStart.length && batch.seqStart[seq + 1]! <= row) seq++;
  return new UserError(`model ${model} produced a ${nonFiniteName(value)} logit (token id ${tokenId}) at position ${positions[row]} of sequence ${seq} in its batch; stopping instead of writing results computed from it (the weights or config overflow: check for NaN/Inf in the weights and the config's rms_norm_eps and rope_theta)`);
}
