/**
 * Losses on logits, one row per position. Every loss here is a KL divergence from a sparse target
 * distribution w (token ids with weights) to p = softmax(z):
 *   L = Σ_a w_a (log w_a − log p_a)
 * Cross-entropy is the one-hot case (its entropy term is 0); LightReasoner's objective
 * KL(v_C ‖ p_θ) is the general case. dL/dz = (Σ w)·p − w.
 */
import { kernels } from '../kernels.js';

/** log-softmax of z[off..off+n) into out[outOff..). */
export function logSoftmaxRow(z: Float32Array, off: number, n: number, out: Float32Array, outOff: number): void {
  kernels().logSoftmaxRows(z, off, 1, n, out, outOff, null, 0);
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
  kernels().logSoftmaxRows(z, off, 1, vocab, null, 0, lseBuf, 0);
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
    kernels().expShiftScale(z, off, vocab, lse, scale * wsum, dz, off);
    for (let k = 0; k < target.ids.length; k++) dz[off + target.ids[k]!]! -= scale * target.weights[k]!;
  }
  return loss;
}
