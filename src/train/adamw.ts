/**
 * AdamW exactly as torch.optim.AdamW (what Hugging Face's Trainer uses by default):
 *   p ← p − lr·wd·p;  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²
 *   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
 * plus global gradient-norm clipping as torch.nn.utils.clip_grad_norm_. The element loops are
 * kernels (src/engine/kernels.ts): native when the addon is loaded.
 */
import { kernels } from '../engine/kernels.js';

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

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
    const k = kernels();
    this.params.forEach((p, i) => k.adamwUpdate(p.param, p.grad, this.state.m[i]!, this.state.v[i]!, lr, beta1, beta2, eps, weightDecay, stepSize, sqrtBc2));
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad.fill(0);
  }
}

/** Global L2 norm of all gradients; scales them to `maxNorm` when above it. Returns the norm before clipping. */
export function clipGradNorm(params: ParamRef[], maxNorm: number): number {
  let ss = 0;
  for (const p of params) ss += kernels().sumSquares(p.grad);
  const norm = Math.sqrt(ss);
  const coef = maxNorm / (norm + 1e-6);
  if (Number.isFinite(maxNorm) && coef < 1) for (const p of params) for (let i = 0; i < p.grad.length; i++) p.grad[i]! *= coef;
  return norm;
}
