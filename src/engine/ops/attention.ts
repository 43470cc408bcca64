/**
 * Causal grouped-query attention for one sequence, as Qwen2/Llama compute it:
 * softmax(Q Kᵀ / √d + causal mask) V, with query head h reading key/value head
 * h / (heads / kvHeads) (transformers' repeat_kv). Heads are addressed inside the packed
 * [rows, heads·d] activations through sgemm's leading dimensions, so nothing is transposed
 * or copied. Padding never enters: every sequence is processed with its true length.
 */
import { sgemm } from '../blas.js';
import { kernels } from '../kernels.js';

export interface AttentionShape {
  heads: number;
  kvHeads: number;
  headDim: number;
}

export interface AttentionCall {
  /** Queries: rows [qRow, qRow + t) of q [*, heads·d]; output goes to the same rows of out. */
  q: Float32Array;
  qRow: number;
  t: number;
  /** Keys/values: rows [kvRow, kvRow + tk) of k, v [*, kvHeads·d]. */
  k: Float32Array;
  v: Float32Array;
  kvRow: number;
  tk: number;
  /** Query i is at absolute position past + i and attends keys 0..past+i (tk = past + t). */
  past: number;
  out: Float32Array;
}

/**
 * Forward. `probs`, when given, receives the attention weights [heads, t, tk] at `probsOff`
 * (kept for the backward pass); otherwise `scratch` (≥ t·tk·max(1, heads/kvHeads) floats) is used.
 */
export function attentionForward(c: AttentionCall, s: AttentionShape, probs: Float32Array | null, probsOff: number, scratch: Float32Array): void {
  const { heads, kvHeads, headDim: d } = s;
  const group = heads / kvHeads;
  const qStride = heads * d, kvStride = kvHeads * d;
  const scale = 1 / Math.sqrt(d);
  if (c.t === 1 && !probs) {
    // One query (decoding): the `group` query heads sharing a key/value head are contiguous, so
    // each group is one [group, d] x [d, tk] product instead of `group` vector products.
    for (let g = 0; g < kvHeads; g++) {
      const qOff = c.qRow * qStride + g * group * d;
      sgemm(false, true, group, c.tk, d, scale, c.q, qOff, d, c.k, c.kvRow * kvStride + g * d, kvStride, 0, scratch, 0, c.tk);
      kernels().softmaxRows(scratch, 0, group, c.tk, c.tk);
      sgemm(false, false, group, d, c.tk, 1, scratch, 0, c.tk, c.v, c.kvRow * kvStride + g * d, kvStride, 0, c.out, qOff, d);
    }
    return;
  }
  for (let h = 0; h < heads; h++) {
    const g = Math.floor(h / group);
    const P = probs ?? scratch;
    const pOff = probs ? probsOff + h * c.t * c.tk : 0;
    const qOff = c.qRow * qStride + h * d;
    const kOff = c.kvRow * kvStride + g * d;
    sgemm(false, true, c.t, c.tk, d, scale, c.q, qOff, qStride, c.k, kOff, kvStride, 0, P, pOff, c.tk);
    kernels().softmaxRows(P, pOff, c.t, c.tk, c.past + 1); // causal: row i sees past + i + 1 keys
    sgemm(false, false, c.t, d, c.tk, 1, P, pOff, c.tk, c.v, kOff, kvStride, 0, c.out, qOff, qStride);
  }
}

export interface AttentionGrads {
  /** Gradient w.r.t. the attention output, rows as `out`. */
  dOut: Float32Array;
  /** Written: rows [qRow, qRow + t) of dq. */
  dq: Float32Array;
  /** Accumulated: rows [kvRow, kvRow + tk) of dk, dv (zero them first). */
  dk: Float32Array;
  dv: Float32Array;
}

/**
 * Backward for a sequence without cache (training: past = 0, tk = t), from the weights P saved
 * by the forward pass. With dP = dO Vᵀ: dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = dS K / √d,
 * dK += dSᵀ Q / √d, dV += Pᵀ dO. `scratch` needs 2·t·t floats.
 */
export function attentionBackward(c: AttentionCall, s: AttentionShape, probs: Float32Array, probsOff: number, g: AttentionGrads, scratch: Float32Array): void {
  const { heads, kvHeads, headDim: d } = s;
  const group = heads / kvHeads;
  const qStride = heads * d, kvStride = kvHeads * d;
  const scale = 1 / Math.sqrt(d);
  const t = c.t, tk = c.tk;
  const dS = scratch;
  for (let h = 0; h < heads; h++) {
    const kvh = Math.floor(h / group);
    const pOff = probsOff + h * t * tk;
    const qOff = c.qRow * qStride + h * d;
    const kOff = c.kvRow * kvStride + kvh * d;
    sgemm(false, true, t, tk, d, 1, g.dOut, qOff, qStride, c.v, kOff, kvStride, 0, dS, 0, tk);
    for (let i = 0; i < t; i++) {
      const valid = c.past + i + 1;
      const ro = i * tk, po = pOff + i * tk;
      let dot = 0;
      for (let j = 0; j < valid; j++) dot += probs[po + j]! * dS[ro + j]!;
      for (let j = 0; j < valid; j++) dS[ro + j] = probs[po + j]! * (dS[ro + j]! - dot);
      dS.fill(0, ro + valid, ro + tk);
    }
    sgemm(false, false, t, d, tk, scale, dS, 0, tk, c.k, kOff, kvStride, 0, g.dq, qOff, qStride);
    sgemm(true, false, tk, d, t, scale, dS, 0, tk, c.q, qOff, qStride, 1, g.dk, kOff, kvStride);
    sgemm(true, false, tk, d, t, 1, probs, pOff, tk, g.dOut, qOff, qStride, 1, g.dv, kOff, kvStride);
  }
}
