/**
 * Weights held as bfloat16 for inference (`--weights-dtype bf16`, loadModel's `weightsDtype`): the
 * one owner of that choice. Decoding at small batches is bound by the bytes of weight read per
 * step, and bf16 halves them (and the model's memory); products still accumulate in float32
 * (src/engine/blas.ts gemmBf16), and everything else — norms, biases, attention, softmax, LoRA
 * branches — stays float32, as in PyTorch's bf16 inference on CPU. The paper's own runs compute in
 * bf16. Forward only: a training pass (record, backward) refuses such weights, because rounding the
 * base weights would silently change what a LoRA step optimises.
 *
 * The linear weights, the embedding and the LM head are converted (round to nearest even, as
 * torch's `.to(torch.bfloat16)`); their float32 arrays are released. A checkpoint stored in BF16
 * converts back exactly.
 */
import { bf16FromF32 } from '../engine/blas.js';
import { LINEAR_NAMES, linearPrefix, type ModelParams } from './params.js';
import type { TensorMap } from './tensor.js';
import { UserError } from '../util/errors.js';

export type WeightsDtype = 'f32' | 'bf16';
export const WEIGHTS_DTYPES: readonly WeightsDtype[] = ['f32', 'bf16'];

const RELEASED = new Float32Array(0);

function toBf16(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  bf16FromF32(a, out);
  return out;
}

/**
 * Convert `params` in place to bf16 weights. The converted tensors are dropped from `tensors` too
 * (when given), so their float32 copies can be freed.
 */
export function holdWeightsAsBf16(params: ModelParams, tensors?: TensorMap): void {
  if (weightsAreBf16(params)) return;
  params.layers.forEach((L, l) => {
    for (const n of LINEAR_NAMES) {
      const lin = L[n];
      lin.weightBf16 = toBf16(lin.weight);
      lin.weight = RELEASED;
      tensors?.delete(`${linearPrefix(l, n)}.weight`);
    }
  });
  const tied = params.lmHead === params.embed;
  params.embedBf16 = toBf16(params.embed);
  params.lmHeadBf16 = tied ? params.embedBf16 : toBf16(params.lmHead);
  params.embed = RELEASED;
  params.lmHead = RELEASED;
  tensors?.delete('model.embed_tokens.weight');
  tensors?.delete('lm_head.weight');
}

export function weightsAreBf16(params: ModelParams): boolean {
  return params.embedBf16 !== undefined;
}

/** For passes that need float32 weights (training, merging, export). */
export function assertFloat32Weights(params: ModelParams, what: string): void {
  if (weightsAreBf16(params)) {
    throw new UserError(`${what}: its weights are held as bfloat16 (--weights-dtype bf16), which is for inference only (sample, eval); load it with float32 weights to train, merge or export`);
  }
}

export function parseWeightsDtype(s: string, flag = '--weights-dtype'): WeightsDtype {
  if (s === 'f32' || s === 'bf16') return s;
  throw new UserError(`${flag} ${s}: expected f32 or bf16`);
}

export interface LogitDrift {
  /** max over rows and vocabulary of |z_f32 − z_bf16| */
  maxAbsLogit: number;
  /** KL(p_f32 ‖ p_bf16) in nats, per row: its largest and mean */
  maxKl: number;
  meanKl: number;
  /** rows whose argmax differs */
  argmaxFlips: number;
  rows: number;
}

/** How far logits [rows, vocab] computed with bf16 weights (b) are from float32 ones (a). */
export function logitDrift(a: Float32Array, b: Float32Array, rows: number, vocab: number): LogitDrift {
  let maxAbsLogit = 0, maxKl = 0, sumKl = 0, argmaxFlips = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    let ma = -Infinity, mb = -Infinity, ia = 0, ib = 0;
    for (let v = 0; v < vocab; v++) {
      const x = a[o + v]!, y = b[o + v]!;
      maxAbsLogit = Math.max(maxAbsLogit, Math.abs(x - y));
      if (x > ma) { ma = x; ia = v; }
      if (y > mb) { mb = y; ib = v; }
    }
    if (ia !== ib) argmaxFlips++;
    let sa = 0, sb = 0;
    for (let v = 0; v < vocab; v++) { sa += Math.exp(a[o + v]! - ma); sb += Math.exp(b[o + v]! - mb); }
    const lsa = ma + Math.log(sa), lsb = mb + Math.log(sb);
    let kl = 0;
    for (let v = 0; v < vocab; v++) {
      const la = a[o + v]! - lsa, lb = b[o + v]! - lsb;
      kl += Math.exp(la) * (la - lb);
    }
    kl = Math.max(0, kl);
    maxKl = Math.max(maxKl, kl);
    sumKl += kl;
  }
  return { maxAbsLogit, maxKl, meanKl: rows ? sumKl / rows : 0, argmaxFlips, rows };
}
