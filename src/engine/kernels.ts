/**
 * Element-wise kernels with a native (vectorised C++) and a JavaScript implementation. The
 * native one is used when the addon is loaded; the JavaScript one is the fallback and the
 * reference the native one is tested against. Shapes are row-major float32.
 */
import { nativeKernels } from './blas.js';

export interface Kernels {
  /** In-place softmax of rows of a [rows, len] at off; row i keeps its first valid0 + i entries, zeroes the rest. */
  softmaxRows(a: Float32Array, off: number, rows: number, len: number, valid0: number): void;
  /** log-softmax of rows of z [rows, n] into out (optional) and each row's logsumexp into lse (optional). */
  logSoftmaxRows(z: Float32Array, off: number, rows: number, n: number, out: Float32Array | null, outOff: number, lse: Float32Array | null, lseOff: number): void;
  /** out[j] = scale · exp(z[off + j] − shift), j < n. */
  expShiftScale(z: Float32Array, off: number, n: number, shift: number, scale: number, out: Float32Array, outOff: number): void;
  /** a = silu(g) ⊙ u */
  swigluForward(g: Float32Array, u: Float32Array, a: Float32Array, n: number): void;
  /** dg = da ⊙ u ⊙ σ(g)(1 + g(1 − σ(g))), du = da ⊙ silu(g) */
  swigluBackward(da: Float32Array, g: Float32Array, u: Float32Array, dg: Float32Array, du: Float32Array, n: number): void;
  /** RMSNorm rows of x [rows, dim]: y = w ⊙ x / √(mean(x²) + eps); rstd [rows] (optional) receives the 1/√(…) */
  rmsnormForward(x: Float32Array, w: Float32Array, rows: number, dim: number, eps: number, y: Float32Array, rstd: Float32Array | null): void;
  /** Backward of rmsnormForward: dx accumulated into; dw accumulated into when given. */
  rmsnormBackward(dy: Float32Array, x: Float32Array, w: Float32Array, rstd: Float32Array, rows: number, dim: number, dx: Float32Array, dw: Float32Array | null): void;
  /**
   * One decoding step of causal grouped-query attention for several sequences: query row rows[s]
   * of q [*, heads·d] attends all lens[s] cached keys/values ks[s], vs[s] [len, kvHeads·d]; the
   * result goes to row rows[s] of out. One call for every sequence and head of a layer.
   */
  attentionDecode(q: Float32Array, rows: Int32Array, ks: Float32Array[], vs: Float32Array[], lens: Int32Array, heads: number, kvHeads: number, d: number, out: Float32Array): void;
  /** One torch.optim.AdamW update of w from g with moments m, v (see src/train/adamw.ts). */
  adamwUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, stepSize: number, sqrtBc2: number): void;
  /** Σ a² */
  sumSquares(a: Float32Array): number;
}

export const jsKernels: Kernels = {
  softmaxRows(a, off, rows, len, valid0) {
    for (let i = 0; i < rows; i++) {
      const o = off + i * len, valid = Math.min(len, valid0 + i);
      let max = -Infinity;
      for (let j = 0; j < valid; j++) max = Math.max(max, a[o + j]!);
      let sum = 0;
      for (let j = 0; j < valid; j++) {
        const e = Math.exp(a[o + j]! - max);
        a[o + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < valid; j++) a[o + j]! *= inv;
      a.fill(0, o + valid, o + len);
    }
  },
  logSoftmaxRows(z, off, rows, n, out, outOff, lse, lseOff) {
    for (let i = 0; i < rows; i++) {
      const o = off + i * n;
      let max = -Infinity;
      for (let j = 0; j < n; j++) max = Math.max(max, z[o + j]!);
      let sum = 0;
      for (let j = 0; j < n; j++) sum += Math.exp(z[o + j]! - max);
      const l = max + Math.log(sum);
      if (lse) lse[lseOff + i] = l;
      if (out) for (let j = 0; j < n; j++) out[outOff + i * n + j] = z[o + j]! - l;
    }
  },
  expShiftScale(z, off, n, shift, scale, out, outOff) {
    for (let j = 0; j < n; j++) out[outOff + j] = scale * Math.exp(z[off + j]! - shift);
  },
  swigluForward(g, u, a, n) {
    for (let i = 0; i < n; i++) {
      const x = g[i]!;
      a[i] = (x / (1 + Math.exp(-x))) * u[i]!;
    }
  },
  swigluBackward(da, g, u, dg, du, n) {
    for (let i = 0; i < n; i++) {
      const x = g[i]!;
      const s = 1 / (1 + Math.exp(-x));
      const d = da[i]!;
      du[i] = d * x * s;
      dg[i] = d * u[i]! * s * (1 + x * (1 - s));
    }
  },
  rmsnormForward(x, w, rows, dim, eps, y, rstd) {
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      let ss = 0;
      for (let i = 0; i < dim; i++) ss += x[o + i]! * x[o + i]!;
      // HF rounds the normalised activation to float32 before multiplying by the weight.
      const s = Math.fround(1 / Math.sqrt(ss / dim + eps));
      if (rstd) rstd[r] = s;
      for (let i = 0; i < dim; i++) y[o + i] = w[i]! * Math.fround(x[o + i]! * s);
    }
  },
  rmsnormBackward(dy, x, w, rstd, rows, dim, dx, dw) {
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      const s = rstd[r]!;
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += dy[o + i]! * w[i]! * x[o + i]!;
      const c = (dot * s * s) / dim; // mean(dx̂ ⊙ x̂)/s with dx̂ = dy ⊙ w, folded so x̂ is not materialised
      for (let i = 0; i < dim; i++) dx[o + i]! += s * (dy[o + i]! * w[i]! - x[o + i]! * c);
      if (dw) for (let i = 0; i < dim; i++) dw[i]! += dy[o + i]! * x[o + i]! * s;
    }
  },
  adamwUpdate(w, g, m, v, lr, beta1, beta2, eps, weightDecay, stepSize, sqrtBc2) {
    for (let i = 0; i < w.length; i++) {
      const gi = g[i]!;
      if (weightDecay !== 0) w[i]! *= 1 - lr * weightDecay;
      const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * gi);
      const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi);
      w[i]! -= (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
    }
  },
  sumSquares(a) {
    let s = 0;
    for (const x of a) s += x * x;
    return s;
  },
  attentionDecode(q, rows, ks, vs, lens, heads, kvHeads, d, out) {
    const group = heads / kvHeads, qStride = heads * d, kvStride = kvHeads * d, scale = 1 / Math.sqrt(d);
    let maxLen = 1;
    for (const l of lens) maxLen = Math.max(maxLen, l);
    const p = new Float64Array(maxLen);
    for (let s = 0; s < rows.length; s++) {
      const K = ks[s]!, V = vs[s]!, tk = lens[s]!, row = rows[s]!;
      for (let h = 0; h < heads; h++) {
        const qo = row * qStride + h * d, g = Math.floor(h / group);
        let max = -Infinity;
        for (let j = 0; j < tk; j++) {
          const ko = j * kvStride + g * d;
          let dot = 0;
          for (let i = 0; i < d; i++) dot += q[qo + i]! * K[ko + i]!;
          p[j] = dot * scale;
          max = Math.max(max, p[j]!);
        }
        let sum = 0;
        for (let j = 0; j < tk; j++) sum += (p[j] = Math.exp(p[j]! - max));
        out.fill(0, qo, qo + d);
        for (let j = 0; j < tk; j++) {
          const w = p[j]! / sum, vo = j * kvStride + g * d;
          for (let i = 0; i < d; i++) out[qo + i]! += w * V[vo + i]!;
        }
      }
    }
  },
};

let chosen: Kernels | null = null;

/** The kernels this process uses (native when the addon is loaded). */
export function kernels(): Kernels {
  if (!chosen) chosen = nativeKernels() ?? jsKernels;
  return chosen;
}
