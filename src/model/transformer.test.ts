import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkGradient } from '../testing/gradcheck.js';
import { tinyModel } from './testing.js';
import { Transformer, allocGrads, packSequences, type ModelGrads, type PackedBatch } from './transformer.js';
import { KVCache } from './kv-cache.js';
import { createLoraAdapter, type LoraWeights } from './lora.js';
import { LINEAR_NAMES, type LinearName } from './params.js';
import { softTargetLoss, type SparseTarget } from '../engine/ops/loss.js';
import { Rng } from '../util/rng.js';

const seqs = [[1, 5, 9, 2, 7, 3], [4, 4, 8], [11, 2, 6, 1, 0]];

/** Loss at a few rows with soft targets, the shape of LightReasoner's objective. */
function lossAndGrad(model: Transformer, batch: PackedBatch, rows: Int32Array, targets: SparseTarget[], grads: ModelGrads | null, rng?: () => Rng): number {
  const opts = grads ? { record: true, logitRows: rows, ...(rng ? { dropoutRng: rng() } : {}) } : { logitRows: rows, ...(rng ? { record: true, dropoutRng: rng() } : {}) };
  const { logits, record } = model.forward(batch, opts);
  const V = model.config.vocabSize;
  const dLogits = new Float32Array(logits.length);
  let loss = 0;
  targets.forEach((t, p) => { loss += softTargetLoss(logits, p * V, V, t, 1 / targets.length, dLogits) / targets.length; });
  if (grads) model.backward(record!, dLogits, grads);
  return loss;
}

const rows = new Int32Array([2, 5, 7, 13]);
const targets: SparseTarget[] = [
  { ids: [3, 7], weights: [0.6, 0.4] }, { ids: [1], weights: [1] },
  { ids: [0, 5, 9], weights: [0.2, 0.3, 0.5] }, { ids: [12], weights: [1] },
];

for (const spec of [
  { name: 'qwen2 untied GQA', s: { architecture: 'qwen2' as const, tied: false } },
  { name: 'llama tied MHA', s: { architecture: 'llama' as const, tied: true, kvHeads: 4 } },
]) {
  test(`full-parameter gradients match finite differences (${spec.name})`, () => {
    const model = tinyModel(spec.s, 3);
    const batch = packSequences(seqs);
    const grads = allocGrads(model, { full: true, lora: false });
    lossAndGrad(model, batch, rows, targets, grads);
    const f = (): number => lossAndGrad(model, batch, rows, targets, null);
    const p = model.params, g = grads;
    const o = { eps: 3e-3, maxElements: 12 };
    checkGradient('embed', p.embed, g.embed!, f, o);
    if (!model.config.tieWordEmbeddings) checkGradient('lm_head', p.lmHead, g.lmHead!, f, o);
    checkGradient('final norm', p.finalNorm, g.finalNorm!, f, o);
    p.layers.forEach((L, l) => {
      const G = g.layers[l]!;
      checkGradient(`layer ${l} input norm`, L.inputNorm, G.inputNorm!, f, o);
      checkGradient(`layer ${l} post-attention norm`, L.postAttentionNorm, G.postAttentionNorm!, f, o);
      for (const n of LINEAR_NAMES) {
        checkGradient(`layer ${l} ${n}.weight`, L[n].weight, G[n].weight!, f, o);
        if (L[n].bias) checkGradient(`layer ${l} ${n}.bias`, L[n].bias!, G[n].bias!, f, o);
      }
    });
  });
}

function adaptedModel(dropout: number): Transformer {
  const model = tinyModel({}, 5);
  model.adapter = createLoraAdapter(model, { r: 3, loraAlpha: 6, dropout, targets: [...LINEAR_NAMES] }, 7);
  // PEFT starts B at zero; give it values so A's gradient is not identically zero.
  const rng = new Rng(9);
  for (const L of model.adapter.layers) for (const w of Object.values(L) as LoraWeights[]) for (let i = 0; i < w.B.length; i++) w.B[i] = rng.normal() * 0.3;
  return model;
}

for (const dropout of [0, 0.3]) {
  test(`LoRA gradients match finite differences with the base frozen (dropout ${dropout})`, () => {
    const model = adaptedModel(dropout);
    const batch = packSequences(seqs);
    const grads = allocGrads(model, { full: false, lora: true });
    const withEmbed = { ...allocGrads(model, { full: true, lora: false }), lora: null };
    // Dropout masks are redrawn from the same seed at every evaluation, so the loss is a fixed function.
    const rng = dropout > 0 ? () => new Rng(42) : undefined;
    lossAndGrad(model, batch, rows, targets, grads, rng);
    assert.equal(grads.embed, null);
    assert.equal(grads.layers[0]!.q_proj.weight, null);
    const f = (): number => lossAndGrad(model, batch, rows, targets, null, rng);
    // The gradient reaching the embeddings passes back through every LoRA branch (and its dropout mask).
    lossAndGrad(model, batch, rows, targets, withEmbed, rng);
    checkGradient('embed through LoRA branches', model.params.embed, withEmbed.embed!, f, { eps: 3e-3, maxElements: 40 });
    model.adapter!.layers.forEach((L, l) => {
      for (const [n, w] of Object.entries(L) as Array<[LinearName, LoraWeights]>) {
        const gw = grads.lora!.layers[l]![n]!;
        checkGradient(`layer ${l} ${n} lora_A`, w.A, gw.A, f, { eps: 3e-3, maxElements: 8 });
        checkGradient(`layer ${l} ${n} lora_B`, w.B, gw.B, f, { eps: 3e-3, maxElements: 8 });
      }
    });
  });
}

test('a fresh adapter (B = 0) leaves the logits unchanged', () => {
  const model = tinyModel({}, 5);
  const batch = packSequences(seqs);
  const base = model.forward(batch, { logitRows: 'all' }).logits;
  model.adapter = createLoraAdapter(model, { r: 4, loraAlpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj'] }, 1);
  assert.deepEqual(model.forward(batch, { logitRows: 'all' }).logits, base);
});

test('packing: each sequence of a packed batch gets exactly the logits it gets alone', () => {
  const model = tinyModel({}, 11);
  const packed = model.forward(packSequences(seqs), { logitRows: 'all' }).logits;
  const V = model.config.vocabSize;
  let row = 0;
  for (const s of seqs) {
    const alone = model.forward(packSequences([s]), { logitRows: 'all' }).logits;
    for (let i = 0; i < alone.length; i++) assert.ok(Math.abs(alone[i]! - packed[row * V + i]!) < 1e-5);
    row += s.length;
  }
});

test('packing: gradients of a packed batch equal the sum of per-sequence gradients', () => {
  const model = tinyModel({}, 12);
  const packed = allocGrads(model, { full: true, lora: false });
  const one = (batch: PackedBatch, r: Int32Array, t: SparseTarget[], g: ModelGrads): void => {
    const { logits, record } = model.forward(batch, { record: true, logitRows: r });
    const V = model.config.vocabSize, d = new Float32Array(logits.length);
    t.forEach((x, p) => softTargetLoss(logits, p * V, V, x, 1, d));
    model.backward(record!, d, g);
  };
  one(packSequences(seqs), rows, targets, packed);
  const separate = allocGrads(model, { full: true, lora: false });
  // rows 2, 5 are in sequence 0; 7 in sequence 1 (local 1); 13 in sequence 2 (local 4)
  one(packSequences([seqs[0]!]), new Int32Array([2, 5]), targets.slice(0, 2), separate);
  one(packSequences([seqs[1]!]), new Int32Array([1]), targets.slice(2, 3), separate);
  one(packSequences([seqs[2]!]), new Int32Array([4]), targets.slice(3, 4), separate);
  const pairs: Array<[Float32Array, Float32Array]> = [[packed.embed!, separate.embed!], [packed.layers[1]!.k_proj.weight!, separate.layers[1]!.k_proj.weight!]];
  for (const [a, b] of pairs) for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5);
});

test('KV cache: prefill then one token at a time reproduces the full forward at every position', () => {
  const model = tinyModel({ architecture: 'llama' }, 13);
  const full = model.forward(packSequences(seqs), { logitRows: 'all' }).logits;
  const V = model.config.vocabSize;
  const cache = new KVCache(model.config, seqs.length, 2); // tiny capacity: exercises growth
  // Prefill the first 2 tokens of every sequence, then feed the rest one token per step, batched.
  const prefill = model.forward(packSequences(seqs.map((s) => s.slice(0, 2))), { cache, logitRows: 'all' }).logits;
  const fullRow = (s: number, i: number): number => seqs.slice(0, s).reduce((a, x) => a + x.length, 0) + i;
  for (let s = 0; s < seqs.length; s++) {
    for (let i = 0; i < 2; i++) for (let v = 0; v < V; v++) assert.ok(Math.abs(prefill[(s * 2 + i) * V + v]! - full[fullRow(s, i) * V + v]!) < 1e-5);
  }
  for (let pos = 2; pos < 6; pos++) {
    const active = seqs.map((s, i) => ({ s, i })).filter(({ s }) => pos < s.length);
    const step = model.forward(packSequences(active.map(({ s }) => [s[pos]!])), { cache, slots: active.map(({ i }) => i), logitRows: 'all' }).logits;
    active.forEach(({ i }, k) => {
      for (let v = 0; v < V; v++) assert.ok(Math.abs(step[k * V + v]! - full[fullRow(i, pos) * V + v]!) < 1e-5, `seq ${i} pos ${pos}`);
    });
  }
  assert.deepEqual([...cache.length], seqs.map((s) => s.length));
});

test('forward refuses token ids outside the vocabulary and sequences beyond the context window', () => {
  const model = tinyModel({ maxPositions: 8 }, 1);
  assert.throws(() => model.forward(packSequences([[1, 99]])), /token id 99 is outside the model's vocabulary/);
  assert.throws(() => model.forward(packSequences([Array.from({ length: 9 }, () => 1)])), /context window/);
});
