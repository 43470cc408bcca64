import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyModelDir } from '../model/testing.js';
import { loadModel } from '../model/load.js';
import { createLoraAdapter, loraTensors } from '../model/lora.js';
import { HF_ADAMW_DEFAULTS } from './adamw.js';
import { Trainer } from './trainer.js';
import { loadTrainingSet } from './training-set.js';
import { writeTinySamples } from './testing.js';
import { Rng } from '../util/rng.js';
import { microBatch, stepBatches, stepData, streamSlice, type BatchPlan, type KeptStep } from './batches.js';

const modelDir = tinyModelDir({ hidden: 16, layers: 2 }, 3);
const dataDir = mkdtempSync(join(tmpdir(), 'lr-batches-'));
after(() => {
  rmSync(modelDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});
const lm = await loadModel(modelDir);
const samples = writeTinySamples(dataDir, lm.tokenizer, { vocabSize: lm.model.config.vocabSize, questions: 4, stepsPerQuestion: 5 });
const set = loadTrainingSet(samples.samples, { vocabSize: lm.model.config.vocabSize, contextWindow: 512, tokenizer: lm.tokenizer, systemPrompt: 'Please reason step by step.' });

function plan(over: Partial<BatchPlan> = {}): BatchPlan {
  return { sequences: set.sequences, steps: set.steps, batchSize: 4, gradAccum: 2, shuffle: 'trajectories', pack: true, seed: 3, ...over };
}

/** A trainer over the tiny model with a LoRA on every attention projection, B non-zero so A gets gradients too. */
function trainer(dropout = 0): Trainer {
  const model = lm.model;
  model.adapter = createLoraAdapter(model, { r: 4, loraAlpha: 8, dropout, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }, 5);
  const rng = new Rng(17);
  for (const t of loraTensors(model.adapter)) if (t.name.includes('lora_B')) for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() * 0.2;
  return new Trainer(model, { what: 'lora', lr: 1e-2, schedule: 'constant', warmupSteps: 0, maxSteps: 10, maxGradNorm: Infinity, adam: HF_ADAMW_DEFAULTS, seed: 0 });
}

function grads(t: Trainer): Float32Array[] {
  return t.params.map((p) => Float32Array.from(p.grad));
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]!), Math.abs(b[i]!));
  assert.ok(scale > 0, `${what}: all zero (vacuous)`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= rtol * scale, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

/** Records of several trajectories, of different lengths, interleaved in one micro-batch. */
function mixedRecords(): KeptStep[] {
  const recs = new Rng(4).shuffle([...set.steps]).slice(0, 12);
  assert.ok(new Set(recs.map((r) => r.group)).size >= 3, 'fixture: several trajectories');
  assert.ok(new Set(recs.map((r) => r.length)).size >= 6, 'fixture: several lengths');
  return recs;
}

test('packing: one pass per trajectory gives the same per-record losses and LoRA gradients as one sequence per record', () => {
  const t = trainer();
  const recs = mixedRecords();
  const packed = microBatch(plan({ pack: true }), recs);
  const unpacked = microBatch(plan({ pack: false }), recs);
  assert.ok(packed.length < unpacked.length && unpacked.length === recs.length);
  assert.ok(packed.reduce((a, s) => a + s.ids.length, 0) < unpacked.reduce((a, s) => a + s.ids.length, 0), 'packing runs fewer tokens');

  t.optimizer.zeroGrad();
  const p = t.accumulate(packed, 1 / recs.length, undefined);
  const gp = grads(t);
  t.optimizer.zeroGrad();
  const u = t.accumulate(unpacked, 1 / recs.length, undefined);
  const gu = grads(t);
  assert.ok(Math.abs(p.lossSum - u.lossSum) <= 1e-6 * Math.abs(u.lossSum), `${p.lossSum} vs ${u.lossSum}`);
  // Packed targets come grouped by trajectory (first appearance), each group's in record order.
  const order = [...new Set(recs.map((r) => r.group))].flatMap((g) => recs.map((r, i) => (r.group === g ? i : -1)).filter((i) => i >= 0));
  assertClose(Array.from(order, (i) => u.losses[i]!), p.losses, 1e-6, 'per-record loss');
  gp.forEach((g, k) => assertClose(g, gu[k]!, 1e-5, t.params[k]!.name));
});

test('packing: a whole optimiser step (2 micro-batches) packed and unpacked gives the same loss and gradient, with fewer tokens', () => {
  const t = trainer();
  const start = t.params.map((p) => Float32Array.from(p.param));
  const a = t.step(0, stepData(plan({ pack: true }), 0));
  const ga = grads(t);
  t.params.forEach((p, k) => p.param.set(start[k]!));
  const t2 = new Trainer(t.model, t.options);
  const b = t2.step(0, stepData(plan({ pack: false }), 0));
  assert.ok(Math.abs(a.loss - b.loss) <= 1e-6 * b.loss);
  assert.ok(Math.abs(a.gradNorm - b.gradNorm) <= 1e-5 * b.gradNorm);
  assert.equal(a.targets, 8);
  assert.ok(a.tokens < b.tokens);
  // After a step the buffers hold the (unclipped: max norm ∞) gradient it applied.
  grads(t2).forEach((g, k) => assertClose(g, ga[k]!, 1e-5, t2.params[k]!.name));
});

test('packing across micro-batches: a trajectory whose kept steps straddle a step\'s micro-batches runs once, with the same loss and gradient', () => {
  const p = plan({ pack: true });
  const R = p.batchSize * p.gradAccum;
  const records = streamSlice(p, 0, R);
  // Micro-batch by micro-batch, as packing did before: the trajectory cut by the boundary is run twice.
  const perMicroBatch = [microBatch(p, records.slice(0, p.batchSize)), microBatch(p, records.slice(p.batchSize, R))];
  assert.ok(perMicroBatch.flat().length > new Set(records.map((r) => r.group)).size, 'fixture: a trajectory straddles the boundary');
  const merged = stepBatches(p, records);
  assert.equal(merged.flat().length, new Set(records.map((r) => r.group)).size, 'one sequence per trajectory of the step');
  assert.ok(merged.every((mb) => mb.length <= p.batchSize), 'no micro-batch holds more sequences than batchSize');
  assert.deepEqual(stepData(p, 0), merged);
  const tokens = (d: ReturnType<typeof stepBatches>): number => d.flat().reduce((a, s) => a + s.ids.length, 0);
  assert.ok(tokens(merged) < tokens(perMicroBatch), `${tokens(merged)} tokens packed across the step vs ${tokens(perMicroBatch)} per micro-batch`);

  const t = trainer();
  const start = t.params.map((q) => Float32Array.from(q.param));
  const a = t.step(0, merged);
  const ga = grads(t);
  t.params.forEach((q, k) => q.param.set(start[k]!));
  const t2 = new Trainer(t.model, t.options);
  const b = t2.step(0, perMicroBatch);
  assert.equal(a.targets, b.targets);
  assert.ok(Math.abs(a.loss - b.loss) <= 1e-6 * b.loss, `${a.loss} vs ${b.loss}`);
  grads(t2).forEach((g, k) => assertClose(g, ga[k]!, 1e-5, t2.params[k]!.name));
});

test('mixed lengths in one batch: every record\'s loss equals its loss computed alone (no position of another record is read)', () => {
  const t = trainer();
  const recs = mixedRecords();
  for (const pack of [false, true]) {
    const p = plan({ pack });
    const together = t.accumulate(microBatch(p, recs), 1, undefined).losses;
    const order = pack ? [...new Set(recs.map((r) => r.group))].flatMap((g) => recs.filter((r) => r.group === g)) : recs;
    order.forEach((r, i) => {
      const alone = t.accumulate(microBatch(p, [r]), 1, undefined).losses[0]!;
      assert.ok(Math.abs(alone - together[i]!) <= 1e-5 * Math.max(1, alone), `pack=${pack} record ${i}: ${together[i]} in the batch, ${alone} alone`);
    });
  }
});

test('data order: step s\'s records depend on s alone, each epoch visits every record once, and trajectories stay together', () => {
  for (const shuffle of ['trajectories', 'records'] as const) {
    const pl = plan({ shuffle });
    const R = pl.batchSize * pl.gradAccum;
    const n = pl.steps.length;
    const stream = streamSlice(pl, 0, 4 * n);
    for (let e = 0; e < 3; e++) {
      const epoch = stream.slice(e * n, (e + 1) * n);
      assert.equal(new Set(epoch).size, n, `${shuffle}: epoch ${e} is a permutation`);
    }
    assert.notDeepEqual(stream.slice(0, n), stream.slice(n, 2 * n), `${shuffle}: epochs are reshuffled`);
    // A resumed run asks for step 7 with a cold cache.
    assert.deepEqual(stepData(pl, 7), stepData(pl, 7, new Map()));
    assert.deepEqual(streamSlice(pl, 7 * R, 8 * R), stream.slice(7 * R, 8 * R));
    if (shuffle === 'trajectories') {
      const epoch = stream.slice(0, n);
      const groups = epoch.map((s) => s.group).filter((g, i, a) => i === 0 || a[i - 1] !== g);
      assert.equal(groups.length, new Set(groups).size, 'each trajectory is one contiguous run');
    }
  }
});
