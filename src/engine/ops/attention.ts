/**
 * Causal grouped-query attention for one sequence, as Qwen2/Llama compute it:
 * softmax(Q Kᵀ / √d + causal mask) V, with query head h reading key/value head
 * h / (heads / kvHeads) (transformers' repeat_kv). Heads are addressed inside the packed
 * [rows, heads·d] activations through sgemm's leading dimensions, so nothing is transposed
 * or copied. Padding never enters: every sequence is processed with its true length.
 */
import { sgemm } from '../blas.js';
import { nativeKernels, type NativeKernels } from '../native.js';

/**
 * Decoding attention reads the cached keys in tiles of KEY_TILE positions, each transposed to
 * [kvHeads·d][KEY_TILE] (native/kernels.h): the scores of a tile's keys are then independent lanes
 * of one vector loop, each summed in the same order as a key-at-a-time loop. Storage is whole tiles.
 */
export const KEY_TILE = 16;

/** Where element `c` of key `j` lives in a tiled key cache with `kvStride` = kvHeads·d. */
export function keyTileOffset(j: number, c: number, kvStride: number): number {
  return (j - (j % KEY_TILE)) * kvStride + c * KEY_TILE + (j % KEY_TILE);
}

/** Floats a tiled key cache needs for `positions` keys. */
export function keyTileFloats(positions: number, kvStride: number): number {
  return Math.ceil(positions / KEY_TILE) * KEY_TILE * kvStride;
}

/** Write keys [row, row + count) of k [*, kvStride] into the tiled cache kt at positions at, at + 1, … */
export function writeKeyTiles(k: Float32Array, row: number, count: number, kvStride: number, kt: Float32Array, at: number): void {
  for (let p = 0; p < count; p++) {
    const src = (row + p) * kvStride, base = keyTileOffset(at + p, 0, kvStride);
    for (let c = 0; c < kvStride; c++) kt[base + c * KEY_TILE] = k[src + c]!;
  }
}

/** JavaScript reference kernels: the fallback without the addon, and what native/kernels.cc is tested against. */
export const attentionJs: Pick<NativeKernels, 'softmaxRows' | 'softmaxBackwardRows' | 'attentionDecode'> = {
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
  softmaxBackwardRows(p, pOff, d, dOff, rows, len, valid0) {
    for (let i = 0; i < rows; i++) {
      const valid = Math.min(len, valid0 + i);
      const po = pOff + i * len, ro = dOff + i * len;
      let dot = 0;
      for (let j = 0; j < valid; j++) dot += p[po + j]! * d[ro + j]!;
      for (let j = 0; j < valid; j++) d[ro + j] = p[po + j]! * (d[ro + j]! - dot);
      d.fill(0, ro + valid, ro + len);
    }
  },
  attentionDecode(q, rows, kts, vs, lens, heads, kvHeads, d, out) {
    const group = heads / kvHeads, qStride = heads * d, kvStride = kvHeads * d, scale = 1 / Math.sqrt(d);
    let maxLen = 1;
    for (const l of lens) maxLen = Math.max(maxLen, l);
    const p = new Float64Array(maxLen);
    for (let s = 0; s < rows.length; s++) {
      const K = kts[s]!, V = vs[s]!, tk = lens[s]!, row = rows[s]!;
      for (let h = 0; h < heads; h++) {
        const qo = row * qStride + h * d, g = Math.floor(h / group);
        let max = -Infinity;
        for (let j = 0; j < tk; j++) {
          const ko = keyTileOffset(j, g * d, kvStride);
          let dot = 0;
          for (let i = 0; i < d; i++) dot += q[qo + i]! * K[ko + i * KEY_TILE]!;
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

/** Native kernels when the addon is loaded, else the JavaScript reference above. */
const kern = (): Pick<NativeKernels, 'softmaxRows' | 'softmaxBackwardRows' | 'attentionDecode'> => nativeKernels() ?? attentionJs;

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
 * (kept for the backward pass); otherwise `scratch` (≥ t·tk floats) is used.
 */
export function attentionForward(c: AttentionCall, s: AttentionShape, probs: Float32Array | null, probsOff: number, scratch: Float32Array): void {
  const { heads, kvHeads, headDim: d } = s;
  const group = heads / kvHeads;
  const qStride = heads * d, kvStride = kvHeads * d;
  const scale = 1 / Math.sqrt(d);
  for (let h = 0; h < heads; h++) {
    const g = Math.floor(h / group);
    const P = probs ?? scratch;
    const pOff = probs ? probsOff + h * c.t * c.tk : 0;
    const qOff = c.qRow * qStride + h * d;
    const kOff = c.kvRow * kvStride + g * d;
    sgemm(false, true, c.t, c.tk, d, scale, c.q, qOff, qStride, c.k, kOff, kvStride, 0, P, pOff, c.tk);
    kern().softmaxRows(P, pOff, c.t, c.tk, c.past + 1); // causal: row i sees past + i + 1 keys
    sgemm(false, false, c.t, d, c.tk, 1, P, pOff, c.tk, c.v, kOff, kvStride, 0, c.out, qOff, qStride);
  }
}

/**
 * One decoding step for several sequences at once, each query attending its whole key/value
 * cache (see NativeKernels.attentionDecode): what cached generation runs for single-token steps.
 * Keys come tiled (writeKeyTiles), values as rows [len, kvHeads·d].
 */
export function attentionDecode(q: Float32Array, rows: Int32Array, kts: Float32Array[], vs: Float32Array[], lens: Int32Array, s: AttentionShape, out: Float32Array): void {
  kern().attentionDecode(q, rows, kts, vs, lens, s.heads, s.kvHeads, s.headDim, out);
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
    kern().softmaxBackwardRows(probs, pOff, dS, 0, t, tk, c.past + 1); // causal: row i has past + i + 1 weights
    sgemm(false, false, t, d, tk, scale, dS, 0, tk, c.k, kOff, kvStride, 0, g.dq, qOff, qStride);
    sgemm(true, false, tk, d, t, scale, dS, 0, tk, c.q, qOff, qStride, 1, g.dk, kOff, kvStride);
    sgemm(true, false, tk, d, t, 1, probs, pOff, tk, g.dOut, qOff, qStride, 1, g.dv, kOff, kvStride);
  }
}
