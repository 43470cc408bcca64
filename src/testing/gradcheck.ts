/**
 * Finite-difference gradient checks for tests: central differences of a scalar loss against an
 * analytic gradient, element by element (or on a sample of elements for large tensors).
 */
import assert from 'node:assert/strict';

export interface GradCheckOptions {
  eps?: number;
  /** Relative tolerance against the larger of the two values. */
  rtol?: number;
  /** Absolute tolerance, as a fraction of the largest analytic gradient magnitude. */
  atolFrac?: number;
  /** Check at most this many elements (spread evenly). */
  maxElements?: number;
}

export function checkGradient(name: string, param: Float32Array, analytic: Float32Array, loss: () => number, o: GradCheckOptions = {}): void {
  const eps = o.eps ?? 1e-2, rtol = o.rtol ?? 2e-2, atolFrac = o.atolFrac ?? 2e-3;
  assert.equal(analytic.length, param.length, `${name}: gradient has ${analytic.length} elements, parameter ${param.length}`);
  let gmax = 0;
  for (const g of analytic) gmax = Math.max(gmax, Math.abs(g));
  assert.ok(gmax > 0, `${name}: analytic gradient is identically zero (test would be vacuous)`);
  const atol = atolFrac * gmax;
  const n = param.length, count = Math.min(n, o.maxElements ?? n);
  for (let c = 0; c < count; c++) {
    const i = count === n ? c : Math.floor((c * n) / count);
    const keep = param[i]!;
    param[i] = keep + eps;
    const up = loss();
    param[i] = keep - eps;
    const down = loss();
    param[i] = keep;
    const numeric = (up - down) / (2 * eps);
    const a = analytic[i]!;
    assert.ok(Math.abs(a - numeric) <= atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)),
      `${name}[${i}]: analytic ${a} vs finite difference ${numeric}`);
  }
}

/** Deterministic values in [-scale, scale). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    a[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return a;
}

/** Σ w ⊙ y in float64: a scalar loss whose gradient w.r.t. y is w. */
export function weightedSum(y: Float32Array, w: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i]! * w[i]!;
  return s;
}
