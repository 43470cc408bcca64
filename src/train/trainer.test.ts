import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyModelDir } from '../model/testing.js';
import { loadModel } from '../model/load.js';
import { createLoraAdapter, loraTensors } from '../model/lora.js';
import { packSequences } from '../model/transformer.js';
import { stepData, type BatchPlan } from './batches.js';
import { checkGradient } from '../testing/gradcheck.js';
import { Rng } from '../util/rng.js';
import { HF_ADAMW_DEFAULTS } from './adamw.js';
import { dropoutRng, Trainer, type StepData } from './trainer.js';
import { loadTrainingSet } from './training-set.js';
import { writeTinySamples } from './testing.js';

const modelDir = tinyModelDir({}, 7);
const dataDir = mkdtempSync(join(tmpdir(), 'lr-trainer-'));
after(() => {
  rmSync(modelDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});
const lm = await loadModel(modelDir);
const V = lm.model.config.vocabSize;
const samples = writeTinySamples(dataDir, lm.tokenizer, { vocabSize: V, questions: 3, stepsPerQuestion: 3 });
const set = loadTrainingSet(samples.samples, { vocabSize: V, contextWindow: 512, tokenizer: lm.tokenizer, systemPrompt: 'Please reason step by step.' });
const plan: BatchPlan = { sequences: set.sequences, steps: set.steps, batchSize: 3, gradAccum: 2, shuffle: 'records', pack: true, seed: 1 };

function trainer(dropout: number, seed = 0): Trainer {
  lm.model.adapter = createLoraAdapter(lm.model, { r: 2, loraAlpha: 4, dropout, targets: ['q_proj', 'v_proj', 'down_proj'] }, 3);
  const rng = new Rng(11);
  for (const t of loraTensors(lm.model.adapter)) if (t.name.includes('lora_B')) for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() * 0.3;
  return new Trainer(lm.model, { what: 'lora', lr: 1e-2, schedule: 'constant', warmupSteps: 0, maxSteps: 4, maxGradNorm: Infinity, adam: HF_ADAMW_DEFAULTS, seed });
}

/** The step's mean loss and its gradient as Trainer.step computes them (before clipping and the update). */
function lossOf(t: Trainer, data: StepData, withDropout: boolean): number {
  const n = data.reduce((a, mb) => a + mb.reduce((b, s) => b + s.targets.length, 0), 0);
  let sum = 0;
  data.forEach((mb, m) => { sum += t.accumulate(mb, 1 / n, withDropout ? dropoutRng(0, 0, m) : undefined).lossSum; });
  return sum / n;
}

for (const dropout of [0, 0.2]) {
  test(`LoRA gradients of a step over samples-file records match finite differences of its mean KL (dropout ${dropout})`, () => {
    const t = trainer(dropout);
    const data = stepData(plan, 0);
    t.optimizer.zeroGrad();
    lossOf(t, data, dropout > 0);
    const analytic = t.params.map((p) => Float32Array.from(p.grad));
    // The loss evaluations below accumulate into the same buffers; only `analytic` is compared.
    const f = (): number => lossOf(t, data, dropout > 0);
    t.params.forEach((p, k) => checkGradient(p.name, p.param, analytic[k]!, f, { eps: 3e-3, maxElements: 6 }));
  });
}

test('the loss is KL(v_C || p) at each record\'s last input position, over the full vocabulary, averaged over records', () => {
  const t = trainer(0);
  const data = stepData(plan, 1);
  const records = data.flatMap((mb) => mb.flatMap((s) => s.targets.map((tg) => ({ ids: s.ids.subarray(0, tg.row + 1), tg }))));
  // Independently: each record alone, logits of its last token, log-softmax and KL in float64.
  let want = 0;
  for (const r of records) {
    const logits = lm.model.forward(packSequences([r.ids]), { logitRows: 'last' }).logits;
    let max = -Infinity;
    for (const z of logits) max = Math.max(max, z);
    let s = 0;
    for (const z of logits) s += Math.exp(z - max);
    const lse = max + Math.log(s);
    for (let k = 0; k < r.tg.ids.length; k++) {
      const w = r.tg.weights[k]!;
      want += w * (Math.log(w) - (logits[r.tg.ids[k]!]! - lse));
    }
  }
  want /= records.length;
  const st = t.step(1, data);
  assert.equal(st.targets, records.length);
  assert.ok(Math.abs(st.loss - want) <= 1e-5 * want, `${st.loss} vs ${want}`);
});

test('gradient accumulation: 2 micro-batches of 3 give the loss and gradient that one micro-batch of 6 gives', () => {
  const a = trainer(0);
  const start = a.params.map((p) => Float32Array.from(p.param));
  const data = stepData(plan, 2);
  const sa = a.step(0, data);
  const ga = a.params.map((p) => Float32Array.from(p.grad));
  a.params.forEach((p, k) => p.param.set(start[k]!));
  const b = new Trainer(a.model, a.options);
  const sb = b.step(0, [data.flat()]);
  assert.ok(Math.abs(sa.loss - sb.loss) <= 1e-6 * sb.loss);
  assert.ok(Math.abs(sa.gradNorm - sb.gradNorm) <= 1e-5 * sb.gradNorm);
  // After a step the buffers hold the (unclipped: max norm ∞) gradient it applied.
  b.params.forEach((p, k) => {
    const scale = Math.max(...ga[k]!.map(Math.abs));
    for (let i = 0; i < p.grad.length; i++) assert.ok(Math.abs(p.grad[i]! - ga[k]![i]!) <= 1e-5 * scale, `${p.name}[${i}]`);
  });
});
