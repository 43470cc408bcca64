/**
 * Contrastive decoding (Li et al. 2022, in the formulation of O'Brien & Lewis 2023), the
 * inference-time baseline LightReasoner is compared with. At every step, over the Expert's
 * plausible head V = { a : pE(a) ≥ α · max pE }:
 *   score(a) = (1 + β) · log pE(a) − β · log pA(a)
 * and the next token is argmax score (greedy). β = 0 is plain greedy decoding with the Expert (its
 * argmax is always in V). Unlike LightReasoner, this needs the Amateur at every inference step.
 * Defaults α = 0.1, β = 0.5 follow O'Brien & Lewis.
 */
import type { TokenChooser } from '../model/generate.js';
import { logSoftmaxRow } from '../engine/ops/loss.js';
import { plausibleThreshold } from '../method/contrast.js';

export interface ContrastiveDecodingOptions {
  /** Plausibility threshold α relative to the Expert's top probability (flag --cd-alpha). */
  cdAlpha: number;
  /** Weight β of the contrast (flag --cd-beta). */
  cdBeta: number;
}

export const CD_DEFAULTS: ContrastiveDecodingOptions = { cdAlpha: 0.1, cdBeta: 0.5 };

/** A chooser for generate([expert, amateur], ...). */
export function contrastiveChooser(o: ContrastiveDecodingOptions, vocab: number): TokenChooser {
  const lpE = new Float32Array(vocab), lpA = new Float32Array(vocab);
  return (logits, offsets, V) => {
    logSoftmaxRow(logits[0]!, offsets[0]!, V, lpE, 0);
    logSoftmaxRow(logits[1]!, offsets[1]!, V, lpA, 0);
    const threshold = plausibleThreshold(lpE, 0, V, o.cdAlpha);
    let best = -1, bestScore = -Infinity;
    for (let i = 0; i < V; i++) {
      if (lpE[i]! < threshold) continue;
      const score = (1 + o.cdBeta) * lpE[i]! - o.cdBeta * lpA[i]!;
      if (score > bestScore) { bestScore = score; best = i; }
    }
    return best;
  };
}
