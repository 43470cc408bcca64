/**
 * AdamW exactly as torch.optim.AdamW (what Hugging Face's Trainer uses by default):
 *   p ← p − lr·wd·p;  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²
 *   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
 * plus global gradient-norm clipping as torch.nn.utils.clip_grad_norm_. The element loops are
 * kernels: native (native/kernels.cc) when the addon is loaded, else adamwJs below.
 */
import { nativeKernels, type NativeKernels } from '../engine/native.js';

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** JavaScript reference kernels: the fallback without the addon, and what native/kernels.cc is tested against. */
export const adamwJs: Pick<NativeKernels, 'adamwUpdate' | 'sumSquares'> = {
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
};

/** Native kernels when the addon is loaded, else the JavaScript reference above. */
const kern = (): Pick<NativeKernels, 'adamwUpdate' | 'sumSquares'> => nativeKernels() ?? adamwJs;

export const HF_ADAMW_DEFAULTS: Omit<AdamWOptions, 'lr'> = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

export interface ParamRef {
  name: string;
  param: Float32Array;
  grad: Float32Array;
}

export interface AdamWState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

export class AdamW {
  state: AdamWState;

  constructor(readonly params: ParamRef[], readonly options: Omit<AdamWOptions, 'lr'>) {
    this.state = { step: 0, m: params.map((p) => new Float32Array(p.param.length)), v: params.map((p) => new Float32Array(p.param.length)) };
  }

  /** One update with learning rate `lr`, from the gradients currently in the ParamRefs. */
  step(lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.options;
    const t = ++this.state.step;
    const bc1 = 1 - beta1 ** t, bc2 = 1 - beta2 ** t;
    const stepSize = lr / bc1, sqrtBc2 = Math.sqrt(bc2);
    const k = kern();
    this.params.forEach((p, i) => k.adamwUpdate(p.param, p.grad, this.state.m[i]!, this.state.v[i]!, lr, beta1, beta2, eps, weightDecay, stepSize, sqrtBc2));
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad.fill(0);
  }
}

/** Global L2 norm of all gradients; scales them to `maxNorm` when above it. Returns the norm before clipping. */
export function clipGradNorm(params: ParamRef[], maxNorm: number): number {
  let ss = 0;
  for (const p of params) ss += kern().sumSquares(p.grad);
  const norm = Math.sqrt(ss);
  const coef = maxNorm / (norm + 1e-6);
  if (Number.isFinite(maxNorm) && coef < 1) for (const p of params) for (let i = 0; i < p.grad.length; i++) p.grad[i]! *= coef;
  return norm;
}
