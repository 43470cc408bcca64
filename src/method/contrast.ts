/**
 * The Expert–Amateur contrast at one reasoning step (LightReasoner, Stage 1, steps 4–6):
 *   KL filter:          D = KL(pE ‖ pA) = Σ_a pE(a) (log pE(a) − log pA(a))   over the full vocabulary
 *   plausibility mask:  V = { a : pE(a) ≥ α · max pE }
 *   soft label:         v_C(a) = softmax_{a∈V}( log pE(a) − log pA(a) ),  0 outside V
 * The step is kept when D ≥ β. Log-probabilities come from a stable log-softmax, so no 1e-12
 * smoothing is needed (the reference adds it before taking logs; the difference only shows for
 * probabilities near 1e-12).
 */
import { logSoftmaxRow } from '../engine/ops/loss.js';

export interface ContrastOptions {
  /** Plausibility threshold α relative to the Expert's top probability (paper: 0.2; flag --alpha). */
  plausibilityAlpha: number;
  /** Keep a step when KL(pE‖pA) ≥ beta (paper: 0.4). */
  beta: number;
  /**
   * 'contrastive' is the method. 'expert' is the ablation without contrast: the label is pE
   * renormalised on the plausible set (self-distillation).
   */
  label?: 'contrastive' | 'expert';
}

export interface StepContrast {
  klDivergence: number;
  keep: boolean;
  /** Plausible token ids, by decreasing soft-label weight (empty when not kept). */
  tokenIds: number[];
  /** v_C on tokenIds; sums to 1. */
  weights: number[];
}

/** Scratch buffers for one vocabulary size, so the hot loop allocates nothing per step. */
export class ContrastScratch {
  readonly lpE: Float32Array;
  readonly lpA: Float32Array;
  constructor(readonly vocab: number) {
    this.lpE = new Float32Array(vocab);
    this.lpA = new Float32Array(vocab);
  }
}

/** KL(pE ‖ pA) from log-probabilities over the whole vocabulary. */
export function klFromLogProbs(lpE: Float32Array, lpA: Float32Array, n: number): number {
  let kl = 0;
  for (let i = 0; i < n; i++) {
    const le = lpE[i]!;
    if (le === -Infinity) continue;
    kl += Math.exp(le) * (le - lpA[i]!);
  }
  return Math.max(0, kl);
}

/**
 * The plausible head V = { a : p(a) ≥ α · max p } of a log-probability row, as a threshold on log
 * p: a is in V exactly when lp[off + a] ≥ the returned value (log α + max log p). Shared by the
 * method's soft label and the contrastive-decoding baseline (src/baselines/contrastive-decoding.ts).
 */
export function plausibleThreshold(lp: Float32Array, off: number, n: number, plausibilityAlpha: number): number {
  let maxLp = -Infinity;
  for (let i = 0; i < n; i++) maxLp = Math.max(maxLp, lp[off + i]!);
  return Math.log(plausibilityAlpha) + maxLp;
}

/**
 * Contrast the Expert's and Amateur's next-token logits at one step (rows [off, off+vocab) of
 * each array).
 */
export function contrastStep(expertLogits: Float32Array, eOff: number, amateurLogits: Float32Array, aOff: number, o: ContrastOptions, s: ContrastScratch): StepContrast {
  const V = s.vocab;
  logSoftmaxRow(expertLogits, eOff, V, s.lpE, 0);
  logSoftmaxRow(amateurLogits, aOff, V, s.lpA, 0);
  const kl = klFromLogProbs(s.lpE, s.lpA, V);
  if (!(kl >= o.beta)) return { klDivergence: kl, keep: false, tokenIds: [], weights: [] };
  const threshold = plausibleThreshold(s.lpE, 0, V, o.plausibilityAlpha);
  const ids: number[] = [], scores: number[] = [];
  for (let i = 0; i < V; i++) {
    if (s.lpE[i]! >= threshold) {
      ids.push(i);
      scores.push(o.label === 'expert' ? s.lpE[i]! : s.lpE[i]! - s.lpA[i]!);
    }
  }
  const m = Math.max(...scores);
  const ex = scores.map((x) => Math.exp(x - m));
  const z = ex.reduce((a, b) => a + b, 0);
  const order = ids.map((_, k) => k).sort((a, b) => ex[b]! - ex[a]! || ids[a]! - ids[b]!);
  return { klDivergence: kl, keep: true, tokenIds: order.map((k) => ids[k]!), weights: order.map((k) => ex[k]! / z) };
}
