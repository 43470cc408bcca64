import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { loadModel, modelFingerprint } from './load.js';
import { assertFloat32Weights, holdWeightsAsBf16, logitDrift, weightsAreBf16, type LogitDrift } from './bf16-weights.js';
import { packSequences, type Transformer } from './transformer.js';
import { LINEAR_NAMES } from './params.js';
import { generateProblems } from '../data/synthetic/index.js';
import { bf16Round, bf16Value } from '../engine/blas.js';
import { runCli } from '../testing/cli.js';
import { testTempDir } from '../testing/tmp.js';
import { UserError } from '../util/errors.js';

const EXPERT = 'models/expert', AMATEUR = 'models/amateur';

/** Teacher-forced batch: 8 GSM8K-like questions with their solutions (780 positions). */
async function batchFor(ref: string): Promise<ReturnType<typeof packSequences>> {
  const { tokenizer } = await loadModel(ref, { weights: false });
  const texts = generateProblems({ split: 'train', count: 8, seed: 7 }).map((p) => `Question: ${p.question}\nAnswer: ${p.answer}`);
  return packSequences(texts.map((t) => tokenizer.encode(t)));
}

/** `corrupt(h, x)`: replaces each bf16 weight h (converted from the float32 weight x). */
async function driftOf(ref: string, corrupt?: (h: number, x: number) => number): Promise<LogitDrift> {
  const batch = await batchFor(ref);
  const f32 = (await loadModel(ref, { weightsDtype: 'f32' })).model;
  const bf16 = (await loadModel(ref, { weightsDtype: 'bf16' })).model;
  if (corrupt) corruptWeights(bf16, f32, corrupt);
  const a = f32.forward(batch, { logitRows: 'all' }).logits, b = bf16.forward(batch, { logitRows: 'all' }).logits;
  return logitDrift(a, b, batch.tokens.length, f32.config.vocabSize);
}

function corruptWeights(model: Transformer, from: Transformer, f: (h: number, x: number) => number): void {
  const p = model.params, q = from.params;
  const pairs: Array<[Uint16Array, Float32Array]> = [[p.embedBf16!, q.embed], ...p.layers.flatMap((L, l) => LINEAR_NAMES.map((n) => [L[n].weightBf16!, q.layers[l]![n].weight] as [Uint16Array, Float32Array]))];
  if (p.lmHeadBf16 !== p.embedBf16) pairs.push([p.lmHeadBf16!, q.lmHead]);
  for (const [w, x] of pairs) for (let i = 0; i < w.length; i++) w[i] = f(w[i]!, x[i]!);
}

// Bounds: about twice what bf16 rounding gives on the bundled models with either product path
// (tools/bench/bf16-drift.ts: Expert max |Δz| 0.81, max KL 0.038, mean KL 1.4e-4; Amateur 0.083,
// 5.4e-4, 1.6e-5). The Expert is confident (large logits), so its worst position moves most.
const BOUNDS = {
  [EXPERT]: { maxAbsLogit: 1.6, maxKl: 0.08, meanKl: 3e-4 },
  [AMATEUR]: { maxAbsLogit: 0.17, maxKl: 1.2e-3, meanKl: 3.5e-5 },
} as const;

function within(d: LogitDrift, b: (typeof BOUNDS)[keyof typeof BOUNDS]): boolean {
  return d.maxAbsLogit <= b.maxAbsLogit && d.maxKl <= b.maxKl && d.meanKl <= b.meanKl;
}

for (const ref of [EXPERT, AMATEUR] as const) {
  test(`bf16 weights keep the bundled ${ref}'s teacher-forced logits within the pinned drift of f32`, async () => {
    const d = await driftOf(ref);
    assert.ok(d.maxAbsLogit > 0, 'bf16 weights must change the logits somewhat (else they were not used)');
    assert.ok(within(d, BOUNDS[ref]), `${ref}: ${JSON.stringify(d)} exceeds ${JSON.stringify(BOUNDS[ref])}`);
  });
}

test('the drift bounds catch a conversion that truncates instead of rounding to nearest (measured: mean KL 10x bf16\'s)', async () => {
  const bits = new Float32Array(1), word = new Uint32Array(bits.buffer);
  const truncate = (_h: number, x: number): number => { bits[0] = x; return word[0]! >>> 16; };
  const d = await driftOf(EXPERT, truncate);
  assert.ok(!within(d, BOUNDS[EXPERT]), `a truncating conversion passed: ${JSON.stringify(d)}`);
  assert.ok(d.meanKl > 2 * BOUNDS[EXPERT].meanKl, `mean KL ${d.meanKl}`);
});

test('the drift bounds catch a conversion that keeps one mantissa bit fewer than bf16 (they are not loose)', async () => {
  // Round the bf16 weights once more, to 6 explicit mantissa bits: twice bf16's error.
  const sixBits = (h: number): number => {
    const x = bf16Value(h), e = Math.floor(Math.log2(Math.abs(x) || 1));
    const q = 2 ** (e - 6);
    return bf16Round(Math.round(x / q) * q);
  };
  const d = await driftOf(EXPERT, sixBits);
  assert.ok(!within(d, BOUNDS[EXPERT]), `a 6-bit conversion passed: ${JSON.stringify(d)}`);
});

test('bf16 weights halve the weights\' memory, release the float32 copies and refuse training passes', async () => {
  const f32 = await loadModel(EXPERT);
  const lm = await loadModel(EXPERT, { weightsDtype: 'bf16' });
  const p = lm.params, q = f32.params;
  assert.ok(weightsAreBf16(p) && !weightsAreBf16(q));
  assert.equal(p.embedBf16!.length, q.embed.length);
  assert.equal(p.lmHeadBf16, p.embedBf16, 'tied embeddings stay one array');
  assert.equal(p.embed.length, 0);
  for (const n of LINEAR_NAMES) {
    assert.equal(p.layers[0]![n].weight.length, 0);
    assert.equal(p.layers[0]![n].weightBf16!.length, q.layers[0]![n].weight.length);
    assert.equal(p.layers[0]![n].weightBf16![5], bf16Round(q.layers[0]![n].weight[5]!));
  }
  assert.equal(lm.loaded.tensors.has('model.layers.0.mlp.up_proj.weight'), false);
  assert.equal(lm.loaded.tensors.has('model.norm.weight'), true, 'norms stay float32');
  assert.notEqual(lm.fingerprint, f32.fingerprint);
  assert.equal(lm.fingerprint, `${modelFingerprint(lm.dir, null, 'f32')}+bf16`);
  assert.equal(f32.fingerprint, modelFingerprint(lm.dir), 'f32 fingerprints are as before');
  const batch = packSequences([[1, 2, 3]]);
  assert.throws(() => lm.model.forward(batch, { record: true }), (e: unknown) => e instanceof UserError && /inference only/.test(e.message));
  assert.throws(() => assertFloat32Weights(p, 'Expert'), /Expert: its weights are held as bfloat16/);
  holdWeightsAsBf16(p); // a second conversion is a no-op
  assert.equal(p.embedBf16!.length, q.embed.length);
  // Greedy decoding's next token from the f32 and the bf16 model agree on a short prompt.
  const a = f32.model.forward(batch).logits, b = lm.model.forward(batch).logits;
  assert.equal(a.indexOf(Math.max(...a)), b.indexOf(Math.max(...b)));
});

const tmp = testTempDir('bf16-cli');
after(() => { rmSync(tmp, { recursive: true, force: true }); });

test('eval --weights-dtype bf16 refuses a back end that is not the engine, and takes only f32 or bf16', async () => {
  const input = join(tmp, 'q.jsonl');
  const r = await runCli(['eval', '--model', EXPERT, '--input', input, '--weights-dtype', 'bf16', '--backend', 'llama.cpp']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--weights-dtype bf16 applies to the engine back end only/);
  const bad = await runCli(['eval', '--model', EXPERT, '--input', input, '--weights-dtype', 'fp8']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /fp8.*(f32|choices)/s);
});
