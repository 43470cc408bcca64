/**
 * Our engine against the PyTorch reference (tools/reference/torch_reference.py, written the
 * Hugging Face way, outputs committed in fixtures/torch): logits with padding, hidden states,
 * full-parameter and LoRA gradients, and ten AdamW steps of LoRA training on the KL objective.
 * Tolerance: 1e-4 relative to the largest magnitude of each reference tensor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelDir } from './model-dir.js';
import { readSafetensors } from './safetensors.js';
import { Transformer, allocGrads, packSequences, type ModelGrads } from './transformer.js';
import { loadAdapter } from './adapter-dir.js';
import { loraTensors } from './lora.js';
import { LINEAR_NAMES, tensorsFromParams } from './params.js';
import { softTargetLoss } from '../engine/ops/loss.js';
import { AdamW, HF_ADAMW_DEFAULTS, clipGradNorm, type ParamRef } from '../train/adamw.js';
import { learningRate } from '../train/schedule.js';
import type { TensorMap } from './tensor.js';
import { readJsonFile } from '../util/fsx.js';

const root = fileURLToPath(new URL('../../../fixtures/torch/', import.meta.url));

interface Expected {
  lengths: number[];
  input_ids: number[][];
  ce_loss: number;
  kl_positions: Array<[number, number]>;
  kl_target_ids: number[][];
  kl_target_weights: number[][];
  kl_loss: number;
  train_losses: number[];
  train_grad_norms: number[];
  train_lrs: number[];
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** |got − want| ≤ 1e-4 · max|want| everywhere. */
function assertClose(got: Float32Array, want: Float32Array, what: string, rel = 1e-4): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const tol = rel * Math.max(maxAbs(want), 1e-12);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]} (tol ${tol})`);
}

function assertScalar(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) <= 1e-4 * Math.abs(want), `${what}: ${got} vs ${want}`);
}

const fixtures = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'expected.json'))) : [];

test('the PyTorch fixtures are present', () => {
  assert.ok(fixtures.length >= 4, `expected 4 fixture models in ${root}; regenerate with /usr/bin/python3 tools/reference/torch_reference.py --out fixtures/torch`);
});

for (const name of fixtures) {
  const dir = join(root, name);
  const load = () => {
    const m = loadModelDir(dir);
    const ex = readJsonFile<Expected>(join(dir, 'expected.json'));
    const tensors = readSafetensors(join(dir, 'expected.safetensors'));
    const seqs = ex.input_ids.map((ids, b) => ids.slice(0, ex.lengths[b]!));
    return { model: new Transformer(m.config, m.params), ex, tensors, seqs, V: m.config.vocabSize, T: ex.input_ids[0]!.length };
  };

  /** Our packed rows back to the fixture's [batch, T] layout, valid positions only. */
  const validPairs = (ex: Expected): Array<[number, number, number]> => {
    const out: Array<[number, number, number]> = [];
    let row = 0;
    ex.lengths.forEach((len, b) => { for (let t = 0; t < len; t++) out.push([b, t, row++]); });
    return out;
  };

  test(`${name}: logits at every valid position of a padded batch match PyTorch`, () => {
    const { model, ex, tensors, seqs, V, T } = load();
    const logits = model.forward(packSequences(seqs), { logitRows: 'all' }).logits;
    const want = tensors.get('logits')!.data;
    const got = new Float32Array(want.length), ref = new Float32Array(want.length);
    for (const [b, t, row] of validPairs(ex)) {
      got.set(logits.subarray(row * V, row * V + V), (b * T + t) * V);
      ref.set(want.subarray((b * T + t) * V, (b * T + t + 1) * V), (b * T + t) * V);
    }
    assertClose(got, ref, 'logits');
  });

  test(`${name}: full-parameter gradients of token cross-entropy match PyTorch`, () => {
    const { model, ex, tensors, seqs, V } = load();
    const rows: number[] = [], targets: number[] = [];
    for (const [b, t, row] of validPairs(ex)) if (t + 1 < ex.lengths[b]!) { rows.push(row); targets.push(ex.input_ids[b]![t + 1]!); }
    const { logits, record } = model.forward(packSequences(seqs), { record: true, logitRows: Int32Array.from(rows) });
    const d = new Float32Array(logits.length);
    let loss = 0;
    targets.forEach((id, p) => { loss += softTargetLoss(logits, p * V, V, { ids: [id], weights: [1] }, 1 / targets.length, d) / targets.length; });
    assertScalar(loss, ex.ce_loss, 'ce loss');
    const grads = allocGrads(model, { full: true, lora: false });
    model.backward(record!, d, grads);
    const byName = gradTensors(model, grads);
    for (const [hf, g] of byName) {
      const want = tensors.get(`grad.${hf}`);
      assert.ok(want, `fixture has no grad.${hf}`);
      assertClose(g, want.data, `grad.${hf}`);
    }
  });

  const klBatch = (ex: Expected, seqs: number[][]) => {
    const starts = seqs.map((_, b) => seqs.slice(0, b).reduce((a, s) => a + s.length, 0));
    const rows = Int32Array.from(ex.kl_positions.map(([b, t]) => starts[b]! + t));
    const targets = ex.kl_positions.map((_, k) => ({ ids: ex.kl_target_ids[k]!, weights: ex.kl_target_weights[k]! }));
    return { rows, targets };
  };

  const klLossAndGrad = (model: Transformer, seqs: number[][], ex: Expected, grads: ModelGrads | null): number => {
    const { rows, targets } = klBatch(ex, seqs);
    const V = model.config.vocabSize;
    const { logits, record } = model.forward(packSequences(seqs), { record: grads !== null, logitRows: rows });
    const d = new Float32Array(logits.length);
    let loss = 0;
    targets.forEach((t, p) => { loss += softTargetLoss(logits, p * V, V, t, 1 / targets.length, d) / targets.length; });
    if (grads) model.backward(record!, d, grads);
    return loss;
  };

  test(`${name}: LoRA logits, KL loss and adapter gradients match PyTorch and PEFT`, () => {
    const { model, ex, tensors, seqs, V, T } = load();
    model.adapter = loadAdapter(dir, model, 'lora.safetensors');
    const logits = model.forward(packSequences(seqs), { logitRows: 'all' }).logits;
    const want = tensors.get('lora_logits')!.data;
    for (const [b, t, row] of validPairs(ex)) {
      assertClose(logits.subarray(row * V, row * V + V), want.subarray((b * T + t) * V, (b * T + t + 1) * V), `lora_logits[${b},${t}]`);
    }
    const grads = allocGrads(model, { full: false, lora: true });
    assertScalar(klLossAndGrad(model, seqs, ex, grads), ex.kl_loss, 'kl loss');
    for (const t of loraTensors(grads.lora!)) assertClose(t.data, tensors.get(`lora_grad.${t.name}`)!.data, `lora_grad.${t.name}`);
  });

  test(`${name}: ten AdamW steps of LoRA training (linear decay, clipping at 1.0) follow PyTorch`, () => {
    const { model, ex, seqs } = load();
    model.adapter = loadAdapter(dir, model, 'lora.safetensors');
    const grads = allocGrads(model, { full: false, lora: true });
    const refs: ParamRef[] = loraTensors(model.adapter).map((t, i) => ({ name: t.name, param: t.data, grad: loraTensors(grads.lora!)[i]!.data }));
    const opt = new AdamW(refs, HF_ADAMW_DEFAULTS);
    for (let step = 0; step < 10; step++) {
      opt.zeroGrad();
      const loss = klLossAndGrad(model, seqs, ex, grads);
      assertScalar(loss, ex.train_losses[step]!, `loss before step ${step}`);
      const norm = clipGradNorm(refs, 1.0);
      assertScalar(norm, ex.train_grad_norms[step]!, `grad norm at step ${step}`);
      const lr = learningRate('linear', 1e-2, step, 10);
      assertScalar(lr, ex.train_lrs[step]!, `lr at step ${step}`);
      opt.step(lr);
    }
    const after: TensorMap = readSafetensors(join(dir, 'lora_after_10.safetensors'));
    for (const t of loraTensors(model.adapter)) assertClose(t.data, after.get(t.name)!.data, `${t.name} after 10 steps`, 1e-4);
  });
}

function gradTensors(model: Transformer, g: ModelGrads): Map<string, Float32Array> {
  // Reuse the parameter naming by viewing the gradients as parameters.
  const asParams = {
    embed: g.embed!, finalNorm: g.finalNorm!, lmHead: g.lmHead ?? g.embed!,
    layers: g.layers.map((L, l) => {
      const P = model.params.layers[l]!;
      const o = { inputNorm: L.inputNorm!, postAttentionNorm: L.postAttentionNorm! } as Record<string, unknown>;
      for (const n of LINEAR_NAMES) o[n] = { ...P[n], weight: L[n].weight!, bias: L[n].bias };
      return o;
    }),
  } as unknown as Parameters<typeof tensorsFromParams>[1];
  return new Map([...tensorsFromParams(model.config, asParams)].map(([k, v]) => [k, v.data]));
}

