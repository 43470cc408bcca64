/**
 * The Qwen2 / Llama decoder: one forward used for training, scoring and generation, and its
 * explicit backward (llm.c style: every op's backward sits in src/engine/ops next to its forward,
 * and is checked against finite differences and against PyTorch).
 *
 * Batches are packed: sequences are laid end to end as rows of [N, hidden] activations, with no
 * padding anywhere. Linear layers see all N rows at once (one sgemm); attention runs per sequence
 * on its true length. So a padded position can never be read (the reference code's defect 2
 * cannot happen), and no compute is spent on pads.
 *
 * References: transformers' modeling_qwen2.py / modeling_llama.py (RMSNorm, rotate-half rotary,
 * repeat_kv, SiLU-gated MLP), PEFT's LoRA Linear.
 */
import type { ModelConfig } from './config.js';
import type { Linear, LinearName, ModelParams } from './params.js';
import { LINEAR_NAMES } from './params.js';
import type { LoraAdapter, LoraWeights } from './lora.js';
import { KVCache } from './kv-cache.js';
import { sgemm, withSingleBlasThread } from '../engine/blas.js';
import { embeddingBackward, embeddingForward } from '../engine/ops/embedding.js';
import { rmsnormBackward, rmsnormForward } from '../engine/ops/rmsnorm.js';
import { linearBackward, linearForward } from '../engine/ops/linear.js';
import { RotaryTable, applyRotary } from '../engine/ops/rope.js';
import { firstNonFinite, nonFiniteLogit } from './finite.js';
import { assertFloat32Weights } from './bf16-weights.js';
import { attentionBackward, attentionDecode, attentionForward } from '../engine/ops/attention.js';
import { dropoutBackward, dropoutForward } from '../engine/ops/dropout.js';
import { swigluBackward, swigluForward } from '../engine/ops/swiglu.js';
import type { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';

/** Sequences laid end to end. Sequence s owns rows [seqStart[s], seqStart[s] + seqLen[s]). */
export interface PackedBatch {
  tokens: Int32Array; // [N]
  seqStart: Int32Array; // [S]
  seqLen: Int32Array; // [S]
}

export function packSequences(seqs: ReadonlyArray<ArrayLike<number>>): PackedBatch {
  const seqStart = new Int32Array(seqs.length), seqLen = new Int32Array(seqs.length);
  let n = 0;
  seqs.forEach((s, i) => {
    seqStart[i] = n;
    seqLen[i] = s.length;
    n += s.length;
  });
  const tokens = new Int32Array(n);
  seqs.forEach((s, i) => tokens.set(s, seqStart[i]!));
  return { tokens, seqStart, seqLen };
}

/** Intermediates of one LoRA-adapted linear, kept for the backward pass. */
interface LoraRecord {
  /** dropout(x), or null when no dropout was applied (then x itself). */
  xd: Float32Array | null;
  /** 1 where dropout kept the input. */
  mask: Uint8Array | null;
  /** x_d Aᵀ [rows, r] */
  u: Float32Array;
}

/** What one layer's backward needs from its forward. Shapes in rows N of the packed batch. */
interface LayerRecord {
  xIn: Float32Array; // [N, H] residual stream entering the layer
  rstd1: Float32Array; // [N]
  xn1: Float32Array; // [N, H]
  q: Float32Array; // [N, heads·d] after rotary
  k: Float32Array; // [N, kvHeads·d] after rotary
  v: Float32Array; // [N, kvHeads·d]
  probs: Float32Array; // Σ_s heads·t_s² attention weights
  attn: Float32Array; // [N, heads·d] input of o_proj
  xMid: Float32Array; // [N, H] residual after attention
  rstd2: Float32Array; // [N]
  xn2: Float32Array; // [N, H]
  gate: Float32Array; // [N, I]
  up: Float32Array; // [N, I]
  act: Float32Array; // [N, I] input of down_proj
  lora: Partial<Record<LinearName, LoraRecord>>;
}

export interface ForwardRecord {
  batch: PackedBatch;
  positions: Int32Array; // [N]
  probsOff: Int32Array; // [S] offset of each sequence's attention weights in LayerRecord.probs
  layers: LayerRecord[];
  rows: Int32Array; // [P] rows whose logits were computed
  hF: Float32Array; // [P, H] final residual at those rows
  rstdF: Float32Array; // [P]
  xnF: Float32Array; // [P, H] after the final norm
}

export interface ForwardOptions {
  /** Continue the sequences in this cache; sequence s uses slot slots[s] (default s). */
  cache?: KVCache;
  slots?: ArrayLike<number>;
  /** Rows whose next-token logits to compute: 'all', 'last' (last row of each sequence), explicit rows, or 'none'. Default 'last'. */
  logitRows?: 'all' | 'last' | 'none' | Int32Array;
  /** Keep activations for backward(). Incompatible with a cache. */
  record?: boolean;
  /** LoRA dropout randomness; dropout is applied only when recording and this is given. */
  dropoutRng?: Rng;
}

export interface ForwardResult {
  /** [P, vocab] logits at `rows`. */
  logits: Float32Array;
  rows: Int32Array;
  record: ForwardRecord | null;
}

export interface LinearGrad {
  weight: Float32Array | null;
  bias: Float32Array | null;
}

export type LayerGrads = { inputNorm: Float32Array | null; postAttentionNorm: Float32Array | null } & Record<LinearName, LinearGrad>;

/** Gradients, shaped like the parameters; null where a parameter is frozen. */
export interface ModelGrads {
  embed: Float32Array | null;
  layers: LayerGrads[];
  finalNorm: Float32Array | null;
  /** The same array as `embed` when embeddings are tied. */
  lmHead: Float32Array | null;
  /** Gradients of the adapter's A and B, when training LoRA. */
  lora: LoraAdapter | null;
}

export class Transformer {
  readonly rope: RotaryTable;
  /** Names the model in errors (loadModel sets its directory and adapter). */
  name = 'model';

  constructor(readonly config: ModelConfig, readonly params: ModelParams, public adapter: LoraAdapter | null = null) {
    this.rope = new RotaryTable(config.headDim, config.ropeTheta, config.ropeScaling);
  }

  /** Rows of each sequence's last token. */
  static lastRows(batch: PackedBatch): Int32Array {
    return batch.seqStart.map((s, i) => s + batch.seqLen[i]! - 1);
  }

  forward(batch: PackedBatch, opts: ForwardOptions = {}): ForwardResult {
    const c = this.config;
    const H = c.hiddenSize, I = c.intermediateSize;
    const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
    const N = batch.tokens.length, S = batch.seqLen.length;
    const { cache } = opts;
    const slots = opts.slots ?? Array.from({ length: S }, (_, i) => i);
    const record = opts.record === true;
    if (record && cache) throw new Error('forward: record and cache cannot be combined');
    if (record) assertFloat32Weights(this.params, this.name);
    for (let i = 0; i < N; i++) {
      const t = batch.tokens[i]!;
      if (t < 0 || t >= c.vocabSize) throw new UserError(`token id ${t} is outside the model's vocabulary [0, ${c.vocabSize})`);
    }

    // Absolute positions: a sequence continues after what its cache slot already holds.
    const positions = new Int32Array(N);
    const past = new Int32Array(S);
    let maxT = 0, maxTk = 0, probsTotal = 0;
    const probsOff = new Int32Array(S);
    for (let s = 0; s < S; s++) {
      past[s] = cache ? cache.length[slots[s]!]! : 0;
      const t = batch.seqLen[s]!;
      for (let i = 0; i < t; i++) positions[batch.seqStart[s]! + i] = past[s]! + i;
      if (past[s]! + t > c.maxPositionEmbeddings) {
        throw new UserError(`sequence ${s} needs ${past[s]! + t} positions but the model's context window (max_position_embeddings) is ${c.maxPositionEmbeddings}`);
      }
      maxT = Math.max(maxT, t);
      maxTk = Math.max(maxTk, past[s]! + t);
      probsOff[s] = probsTotal;
      probsTotal += c.numHeads * t * t;
      if (cache) cache.ensure(slots[s]!, past[s]! + t);
    }
    // Sequences decoding one token against their cache: attended together by one kernel per layer.
    let decode: { rows: Int32Array; slots: number[]; lens: Int32Array } | null = null;
    if (cache) {
      const idx: number[] = [];
      for (let s = 0; s < S; s++) if (batch.seqLen[s] === 1) idx.push(s);
      if (idx.length > 0) {
        decode = {
          rows: Int32Array.from(idx, (s) => batch.seqStart[s]!),
          slots: idx.map((s) => slots[s]!),
          lens: Int32Array.from(idx, (s) => past[s]! + 1),
        };
      }
    }
    const group = c.numHeads / c.numKvHeads;
    const scratch = new Float32Array(Math.max(1, maxT * maxTk * Math.max(1, group)));
    const smallAttention = attentionRunner(maxT, maxTk, c.headDim);
    const shape = { heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim };
    const dropout = record && opts.dropoutRng && this.adapter && this.adapter.config.dropout > 0 ? { p: this.adapter.config.dropout, rng: opts.dropoutRng } : null;

    let x = new Float32Array(N * H);
    embeddingForward(this.params.embedBf16 ?? this.params.embed, H, batch.tokens, x);
    const layerRecords: LayerRecord[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const L = this.params.layers[l]!;
      const ad = this.adapter?.layers[l];
      const loraRec: Partial<Record<LinearName, LoraRecord>> = {};
      const lin = (name: LinearName, input: Float32Array, out: Float32Array): void => {
        const r = this.linear(input, N, L[name], ad?.[name], dropout, out);
        if (r && record) loraRec[name] = r;
      };
      const rstd1 = new Float32Array(N), xn1 = new Float32Array(N * H);
      rmsnormForward(x, L.inputNorm, N, H, c.rmsNormEps, xn1, rstd1);
      const q = new Float32Array(N * qDim), k = new Float32Array(N * kvDim), v = new Float32Array(N * kvDim);
      lin('q_proj', xn1, q);
      lin('k_proj', xn1, k);
      lin('v_proj', xn1, v);
      applyRotary(q, N, c.numHeads, positions, this.rope);
      applyRotary(k, N, c.numKvHeads, positions, this.rope);
      const attn = new Float32Array(N * qDim);
      const probs = record ? new Float32Array(probsTotal) : null;
      smallAttention(() => { for (let s = 0; s < S; s++) {
        const row = batch.seqStart[s]!, t = batch.seqLen[s]!;
        if (t === 0) continue;
        if (cache) {
          const slot = slots[s]!;
          cache.write(slot, l, k, v, row, t, past[s]!);
          // Single-token (decoding) sequences are done below, all in one kernel call.
          if (t > 1) attentionForward({ q, qRow: row, t, k: cache.k[slot]![l]!, v: cache.v[slot]![l]!, kvRow: 0, tk: past[s]! + t, past: past[s]!, out: attn }, shape, null, 0, scratch);
        } else {
          attentionForward({ q, qRow: row, t, k, v, kvRow: row, tk: t, past: 0, out: attn }, shape, probs, probsOff[s]!, scratch);
        }
      } });
      if (decode) {
        attentionDecode(q, decode.rows, decode.slots.map((sl) => cache!.kTiles[sl]![l]!), decode.slots.map((sl) => cache!.v[sl]![l]!), decode.lens, shape, attn);
      }
      const xMid = new Float32Array(N * H);
      lin('o_proj', attn, xMid);
      for (let i = 0; i < N * H; i++) xMid[i]! += x[i]!;
      const rstd2 = new Float32Array(N), xn2 = new Float32Array(N * H);
      rmsnormForward(xMid, L.postAttentionNorm, N, H, c.rmsNormEps, xn2, rstd2);
      const gate = new Float32Array(N * I), up = new Float32Array(N * I), act = new Float32Array(N * I);
      lin('gate_proj', xn2, gate);
      lin('up_proj', xn2, up);
      swigluForward(gate, up, act, N * I);
      const xOut = new Float32Array(N * H);
      lin('down_proj', act, xOut);
      for (let i = 0; i < N * H; i++) xOut[i]! += xMid[i]!;
      if (record) {
        layerRecords.push({ xIn: x, rstd1, xn1, q, k, v, probs: probs!, attn, xMid, rstd2, xn2, gate, up, act, lora: loraRec });
      }
      x = xOut;
    }
    if (cache) for (let s = 0; s < S; s++) cache.length[slots[s]!] = past[s]! + batch.seqLen[s]!;

    const want = opts.logitRows ?? 'last';
    const rows = want === 'all' ? Int32Array.from({ length: N }, (_, i) => i)
      : want === 'last' ? Transformer.lastRows(batch)
      : want === 'none' ? new Int32Array(0) : want;
    const P = rows.length;
    const hF = new Float32Array(P * H);
    for (let p = 0; p < P; p++) hF.set(x.subarray(rows[p]! * H, rows[p]! * H + H), p * H);
    const rstdF = new Float32Array(P), xnF = new Float32Array(P * H);
    rmsnormForward(hF, this.params.finalNorm, P, H, c.rmsNormEps, xnF, rstdF);
    const logits = new Float32Array(P * c.vocabSize);
    linearForward(xnF, P, H, this.params.lmHeadBf16 ?? this.params.lmHead, null, c.vocabSize, logits);
    // Inference only: a training step checks its loss instead (train/loop.ts says the run diverged
    // and to lower --lr, which is the right advice there).
    if (!record) {
      const bad = firstNonFinite(logits);
      if (bad >= 0) throw nonFiniteLogit(this.name, batch, positions, rows, bad, c.vocabSize, logits[bad]!);
    }
    return {
      logits, rows,
      record: record ? { batch, positions, probsOff, layers: layerRecords, rows, hF, rstdF, xnF } : null,
    };
  }

  /** y = x Wᵀ + b, plus the LoRA branch (α/r)·dropout(x) Aᵀ Bᵀ when the layer is adapted. */
  private linear(x: Float32Array, rows: number, lin: Linear, lora: LoraWeights | undefined, dropout: { p: number; rng: Rng } | null, y: Float32Array): LoraRecord | null {
    linearForward(x, rows, lin.inFeatures, lin.weightBf16 ?? lin.weight, lin.bias, lin.outFeatures, y);
    if (!lora) return null;
    const r = this.adapter!.config.r;
    let xd: Float32Array | null = null, mask: Uint8Array | null = null;
    if (dropout) ({ xd, mask } = dropoutForward(x, dropout.p, dropout.rng));
    const u = new Float32Array(rows * r);
    sgemm(false, true, rows, r, lin.inFeatures, 1, xd ?? x, 0, lin.inFeatures, lora.A, 0, lin.inFeatures, 0, u, 0, r);
    sgemm(false, true, rows, lin.outFeatures, r, this.adapter!.scale, u, 0, r, lora.B, 0, r, 1, y, 0, lin.outFeatures);
    return { xd, mask, u };
  }

  /**
   * Backward from dL/dlogits [P, vocab] at the recorded rows. Accumulates into `grads` (every
   * non-null buffer); frozen parameters (null buffers) cost nothing beyond what flows through them.
   */
  backward(rec: ForwardRecord, dLogits: Float32Array, grads: ModelGrads): void {
    assertFloat32Weights(this.params, this.name);
    const c = this.config;
    const H = c.hiddenSize, I = c.intermediateSize, V = c.vocabSize;
    const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
    const { batch } = rec;
    const N = batch.tokens.length, S = batch.seqLen.length, P = rec.rows.length;
    const shape = { heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim };

    // Head: logits = norm(h) · lm_headᵀ
    const dXnF = new Float32Array(P * H);
    linearBackward(dLogits, rec.xnF, P, H, this.params.lmHead, V, dXnF, false, grads.lmHead, null);
    const dhF = new Float32Array(P * H);
    rmsnormBackward(dXnF, rec.hF, this.params.finalNorm, rec.rstdF, P, H, dhF, grads.finalNorm);
    const dRes = new Float32Array(N * H); // gradient of the residual stream, updated layer by layer
    for (let p = 0; p < P; p++) {
      const o = rec.rows[p]! * H;
      for (let i = 0; i < H; i++) dRes[o + i]! += dhF[p * H + i]!;
    }

    let maxT = 0;
    for (let s = 0; s < S; s++) maxT = Math.max(maxT, batch.seqLen[s]!);
    const scratch = new Float32Array(Math.max(1, maxT * maxT));
    const smallAttention = attentionRunner(maxT, maxT, c.headDim);
    for (let l = c.numLayers - 1; l >= 0; l--) {
      const L = this.params.layers[l]!, R = rec.layers[l]!, G = grads.layers[l]!;
      const ad = this.adapter?.layers[l];
      const gad = grads.lora?.layers[l];
      const back = (name: LinearName, dy: Float32Array, x: Float32Array, dx: Float32Array, accumulate: boolean): void => {
        this.linearBackward(dy, x, N, L[name], G[name], ad?.[name], gad?.[name], R.lora[name], dx, accumulate);
      };
      // MLP: out = xMid + down(silu(gate(xn2)) ⊙ up(xn2))
      const dAct = new Float32Array(N * I);
      back('down_proj', dRes, R.act, dAct, false);
      const dGate = new Float32Array(N * I), dUp = new Float32Array(N * I);
      swigluBackward(dAct, R.gate, R.up, dGate, dUp, N * I);
      const dXn2 = new Float32Array(N * H);
      back('gate_proj', dGate, R.xn2, dXn2, false);
      back('up_proj', dUp, R.xn2, dXn2, true);
      rmsnormBackward(dXn2, R.xMid, L.postAttentionNorm, R.rstd2, N, H, dRes, G.postAttentionNorm);
      // Attention: xMid = xIn + o(attn(rope(q(xn1)), rope(k(xn1)), v(xn1)))
      const dAttn = new Float32Array(N * qDim);
      back('o_proj', dRes, R.attn, dAttn, false);
      const dq = new Float32Array(N * qDim), dk = new Float32Array(N * kvDim), dv = new Float32Array(N * kvDim);
      smallAttention(() => { for (let s = 0; s < S; s++) {
        const row = batch.seqStart[s]!, t = batch.seqLen[s]!;
        if (t === 0) continue;
        attentionBackward(
          { q: R.q, qRow: row, t, k: R.k, v: R.v, kvRow: row, tk: t, past: 0, out: R.attn }, shape,
          R.probs, rec.probsOff[s]!, { dOut: dAttn, dq, dk, dv }, scratch,
        );
      } });
      applyRotary(dq, N, c.numHeads, rec.positions, this.rope, true);
      applyRotary(dk, N, c.numKvHeads, rec.positions, this.rope, true);
      const dXn1 = new Float32Array(N * H);
      back('q_proj', dq, R.xn1, dXn1, false);
      back('k_proj', dk, R.xn1, dXn1, true);
      back('v_proj', dv, R.xn1, dXn1, true);
      rmsnormBackward(dXn1, R.xIn, L.inputNorm, R.rstd1, N, H, dRes, G.inputNorm);
    }
    if (grads.embed) embeddingBackward(dRes, H, batch.tokens, grads.embed);
  }

  private linearBackward(
    dy: Float32Array, x: Float32Array, rows: number, lin: Linear, g: LinearGrad,
    lora: LoraWeights | undefined, gl: LoraWeights | undefined, rec: LoraRecord | undefined,
    dx: Float32Array, accumulate: boolean,
  ): void {
    linearBackward(dy, x, rows, lin.inFeatures, lin.weight, lin.outFeatures, dx, accumulate, g.weight, g.bias);
    if (!lora || !rec) return;
    const r = this.adapter!.config.r, scale = this.adapter!.scale;
    const inF = lin.inFeatures, outF = lin.outFeatures;
    const xd = rec.xd ?? x;
    const du = new Float32Array(rows * r);
    sgemm(false, false, rows, r, outF, scale, dy, 0, outF, lora.B, 0, r, 0, du, 0, r); // du = (α/r)·dy B
    if (gl) {
      sgemm(true, false, outF, r, rows, scale, dy, 0, outF, rec.u, 0, r, 1, gl.B, 0, r); // dB += (α/r)·dyᵀ u
      sgemm(true, false, r, inF, rows, 1, du, 0, r, xd, 0, inF, 1, gl.A, 0, inF); // dA += duᵀ x_d
    }
    if (rec.mask) {
      // Through dropout: the gradient reaches x only where the mask kept it, scaled by 1/(1-p).
      const dxd = new Float32Array(rows * inF);
      sgemm(false, false, rows, inF, r, 1, du, 0, r, lora.A, 0, inF, 0, dxd, 0, inF);
      dropoutBackward(dxd, rec.mask, this.adapter!.config.dropout, dx);
    } else {
      sgemm(false, false, rows, inF, r, 1, du, 0, r, lora.A, 0, inF, 1, dx, 0, inF);
    }
  }
}

/**
 * Attention works head by head on [t, d] x [d, tk] products; while they are small (below about 4M
 * multiply-adds) one BLAS thread is faster than several (see withSingleBlasThread).
 */
function attentionRunner(t: number, tk: number, d: number): (f: () => void) => void {
  return t * tk * d < 1 << 22 ? withSingleBlasThread : (f) => f();
}

/** Gradient buffers: all parameters (`full`), the adapter only (`lora`), or both. */
export function allocGrads(model: Transformer, what: { full: boolean; lora: boolean }): ModelGrads {
  const p = model.params;
  const z = (a: Float32Array | null): Float32Array | null => (what.full && a ? new Float32Array(a.length) : null);
  const embed = z(p.embed);
  const layers: LayerGrads[] = p.layers.map((L) => {
    const g = { inputNorm: z(L.inputNorm), postAttentionNorm: z(L.postAttentionNorm) } as LayerGrads;
    for (const n of LINEAR_NAMES) g[n] = { weight: z(L[n].weight), bias: z(L[n].bias) };
    return g;
  });
  let lora: LoraAdapter | null = null;
  if (what.lora) {
    if (!model.adapter) throw new Error('allocGrads: lora gradients requested but the model has no adapter');
    lora = {
      config: model.adapter.config, scale: model.adapter.scale,
      layers: model.adapter.layers.map((L) => {
        const o: Partial<Record<LinearName, LoraWeights>> = {};
        for (const [n, w] of Object.entries(L) as Array<[LinearName, LoraWeights]>) {
          o[n] = { A: new Float32Array(w.A.length), B: new Float32Array(w.B.length), inFeatures: w.inFeatures, outFeatures: w.outFeatures };
        }
        return o;
      }),
    };
  }
  return {
    embed, layers, finalNorm: z(p.finalNorm),
    lmHead: model.config.tieWordEmbeddings ? embed : z(p.lmHead),
    lora,
  };
}

export { KVCache };
