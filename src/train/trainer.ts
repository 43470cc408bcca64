/**
 * One optimiser step over sparse soft targets, the objective every training command shares:
 *   L = (1/|targets|) Σ_targets Σ_a w_a (log w_a − log p_θ(a | sequence[0..row]))
 * LightReasoner's KL(v_C ‖ p_θ) at kept steps, cross-entropy on completion tokens (pretraining,
 * SFT) as one-hot targets. A step is several micro-batches (gradient accumulation); the mean is
 * over all targets of the step, as one big batch would give.
 */
import type { Transformer, ModelGrads } from '../model/transformer.js';
import { allocGrads, packSequences } from '../model/transformer.js';
import { loraTensors } from '../model/lora.js';
import { LINEAR_NAMES } from '../model/params.js';
import { softTargetLoss } from '../engine/ops/loss.js';
import { AdamW, clipGradNorm, type AdamWOptions, type ParamRef } from './adamw.js';
import { learningRate, type ScheduleKind } from './schedule.js';
import { Rng } from '../util/rng.js';

export interface TrainTarget {
  /** Position in the sequence whose next-token distribution is trained. */
  row: number;
  ids: ArrayLike<number>;
  weights: ArrayLike<number>;
}

export interface TrainSequence {
  ids: Int32Array;
  targets: TrainTarget[];
}

/** One optimiser step's data: micro-batches, each a list of sequences run in one packed pass. */
export type StepData = TrainSequence[][];

export interface OptimOptions {
  /** 'lora': only the model's adapter is trained; 'full': every parameter. */
  what: 'lora' | 'full';
  lr: number;
  schedule: ScheduleKind;
  warmupSteps: number;
  maxSteps: number;
  maxGradNorm: number;
  adam: Omit<AdamWOptions, 'lr'>;
  seed: number;
}

export interface StepStats {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  targets: number;
  /** Tokens run through forward and backward. */
  tokens: number;
  seconds: number;
}

/** Parameters to optimise with their gradient buffers, named as on disk. */
export function trainableParams(model: Transformer, grads: ModelGrads, what: 'lora' | 'full'): ParamRef[] {
  if (what === 'lora') {
    if (!model.adapter || !grads.lora) throw new Error('trainableParams: LoRA training needs an adapter and its gradients');
    const g = loraTensors(grads.lora);
    return loraTensors(model.adapter).map((t, i) => ({ name: t.name, param: t.data, grad: g[i]!.data }));
  }
  const out: ParamRef[] = [];
  const p = model.params;
  const add = (name: string, param: Float32Array, grad: Float32Array | null): void => {
    if (!grad) throw new Error(`trainableParams: no gradient buffer for ${name}`);
    out.push({ name, param, grad });
  };
  add('model.embed_tokens.weight', p.embed, grads.embed);
  p.layers.forEach((L, l) => {
    const G = grads.layers[l]!;
    add(`model.layers.${l}.input_layernorm.weight`, L.inputNorm, G.inputNorm);
    add(`model.layers.${l}.post_attention_layernorm.weight`, L.postAttentionNorm, G.postAttentionNorm);
    for (const n of LINEAR_NAMES) {
      add(`model.layers.${l}.${n}.weight`, L[n].weight, G[n].weight);
      if (L[n].bias) add(`model.layers.${l}.${n}.bias`, L[n].bias!, G[n].bias);
    }
  });
  add('model.norm.weight', p.finalNorm, grads.finalNorm);
  if (!model.config.tieWordEmbeddings) add('lm_head.weight', p.lmHead, grads.lmHead);
  return out;
}

/** The LoRA dropout stream of one micro-batch: a function of (seed, step, micro-batch) only, so a resumed run draws the same masks. */
export function dropoutRng(seed: number, step: number, micro: number): Rng {
  return new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b) ^ Math.imul(micro + 1, 0xc2b2ae35)) >>> 0);
}

export class Trainer {
  readonly grads: ModelGrads;
  readonly params: ParamRef[];
  readonly optimizer: AdamW;

  constructor(readonly model: Transformer, readonly options: OptimOptions) {
    this.grads = allocGrads(model, { full: options.what === 'full', lora: options.what === 'lora' });
    this.params = trainableParams(model, this.grads, options.what);
    this.optimizer = new AdamW(this.params, options.adam);
  }

  /**
   * Loss and gradients of one micro-batch, added into the gradient buffers (scaled by `scale`).
   * Returns Σ target losses, each target's loss (sequences in order, targets in order), and the
   * tokens run.
   */
  accumulate(batch: TrainSequence[], scale: number, rng: Rng | undefined): { lossSum: number; losses: Float64Array; tokens: number } {
    const V = this.model.config.vocabSize;
    const packed = packSequences(batch.map((s) => s.ids));
    const rows: number[] = [];
    const targets: TrainTarget[] = [];
    batch.forEach((s, i) => {
      for (const t of s.targets) {
        if (t.row < 0 || t.row >= s.ids.length) throw new Error(`target row ${t.row} outside a sequence of ${s.ids.length} tokens`);
        rows.push(packed.seqStart[i]! + t.row);
        targets.push(t);
      }
    });
    const { logits, record } = this.model.forward(packed, { record: true, logitRows: Int32Array.from(rows), ...(rng ? { dropoutRng: rng } : {}) });
    const dLogits = new Float32Array(logits.length);
    let lossSum = 0;
    const losses = new Float64Array(targets.length);
    targets.forEach((t, p) => { lossSum += (losses[p] = softTargetLoss(logits, p * V, V, t, scale, dLogits)); });
    this.model.backward(record!, dLogits, this.grads);
    return { lossSum, losses, tokens: packed.tokens.length };
  }

  /** One optimiser step (0-based `step`) over `data`. */
  step(step: number, data: StepData): StepStats {
    const t0 = performance.now();
    const o = this.options;
    const nTargets = data.reduce((a, mb) => a + mb.reduce((b, s) => b + s.targets.length, 0), 0);
    if (nTargets === 0) throw new Error(`training step ${step} has no targets`);
    this.optimizer.zeroGrad();
    let lossSum = 0, tokens = 0;
    const useDropout = o.what === 'lora' && (this.model.adapter?.config.dropout ?? 0) > 0;
    data.forEach((mb, m) => {
      const r = this.accumulate(mb, 1 / nTargets, useDropout ? dropoutRng(o.seed, step, m) : undefined);
      lossSum += r.lossSum;
      tokens += r.tokens;
    });
    const gradNorm = clipGradNorm(this.params, o.maxGradNorm);
    const lr = learningRate(o.schedule, o.lr, step, o.maxSteps, o.warmupSteps);
    this.optimizer.step(lr);
    return { step, loss: lossSum / nTargets, lr, gradNorm, targets: nTargets, tokens, seconds: (performance.now() - t0) / 1000 };
  }
}
