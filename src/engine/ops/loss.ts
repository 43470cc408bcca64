/**
 * Losses on logits, one row per position. Every loss here is a KL divergence from a sparse target
 * distribution w (token ids with weights) to p = softmax(z):
 *   L = Σ_a w_a (log w_a − log p_a)
 * Cross-entropy is the one-hot case (its entropy term is 0); LightReasoner's objective
 * KL(v_C ‖ p_θ) is the general case. dL/dz = (Σ w)·p − w.
 */
import { nativeKernels, type NativeKernels } from '../native.js';

/** JavaScript reference kernels: the fallback without the addon, and what native/kernels.cc is tested against. */
export const lossJs: Pick<NativeKernels, 'logSoftmaxRows' | 'expShiftScale'> = {
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
};

/** Native kernels when the addon is loaded, else the JavaScript reference above. */
const kern = (): Pick<NativeKernels, 'logSoftmaxRows' | 'expShiftScale'> => nativeKernels() ?? lossJs;

/** log-softmax of z[off..off+n) into out[outOff..). */
export function logSoftmaxRow(z: Float32Array, off: number, n: number, out: Float32Array, outOff: number): void {
  kern().logSoftmaxRows(z, off, 1, n, out, outOff, null, 0);
}

const lseBuf = new Float32Array(1);

export interface SparseTarget {
  ids: ArrayLike<number>;
  weights: ArrayLike<number>;
}

/**
 * Σ_a w_a (log w_a − log softmax(z)_a) for the row z[off..off+vocab); when `dz` is given,
 * writes scale·((Σw)·p − w) into dz[off..). Returns the unscaled loss.
 */
export function softTargetLoss(z: Float32Array, off: number, vocab: number, target: SparseTarget, scale: number, dz: Float32Array | null): number {
  kern().logSoftmaxRows(z, off, 1, vocab, null, 0, lseBuf, 0);
  const lse = lseBuf[0]!;
  let loss = 0, wsum = 0;
  for (let k = 0; k < target.ids.length; k++) {
    const w = target.weights[k]!;
    if (w === 0) continue;
    const id = target.ids[k]!;
    if (id < 0 || id >= vocab) throw new RangeError(`target token id ${id} is outside the vocabulary [0, ${vocab})`);
    loss += w * (Math.log(w) - (z[off + id]! - lse));
    wsum += w;
  }
  if (dz) {
    kern().expShiftScale(z, off, vocab, lse, scale * wsum, dz, off);
    for (let k = 0; k < target.ids.length; k++) dz[off + target.ids[k]!]! -= scale * target.weights[k]!;
  }
  return loss;
}
