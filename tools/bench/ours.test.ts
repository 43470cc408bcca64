import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parameterCount, parseConfig } from '../../src/model/config.js';
import { createLoraAdapter } from '../../src/model/lora.js';
import { Transformer } from '../../src/model/transformer.js';
import { HF_ADAMW_DEFAULTS } from '../../src/train/adamw.js';
import { Trainer } from '../../src/train/trainer.js';
import { benchModel, lightReasonerTokens, lightReasonerWindows, prepareOurs, rowNote } from './ours.js';
import { BENCH_MODEL_CONFIG, benchLoraConfig, ROWS, benchPrompts, lightReasonerData, type RowSpec } from './spec.js';

const tiny = { ...BENCH_MODEL_CONFIG, vocab_size: 61, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 24 };

test('the bench model is the issue\'s ~4-5M-parameter untied Qwen2', () => {
  const c = parseConfig({ ...BENCH_MODEL_CONFIG }, 'bench');
  assert.equal(c.architecture, 'qwen2');
  assert.equal(c.tieWordEmbeddings, false);
  const n = parameterCount(c);
  assert.ok(n > 4e6 && n < 5e6, `${n} parameters`);
});

test('row ids are unique and every row fits the model\'s context window', () => {
  assert.equal(new Set(ROWS.map((r) => r.id)).size, ROWS.length);
  for (const r of ROWS) {
    const s = r.spec;
    const positions = s.kind === 'generate' || s.kind === 'backend-generate' ? s.prompt + s.newTokens
      : s.kind === 'backend-score' ? s.prompt + s.continuation
        : s.kind === 'sample' ? Math.max(...s.prompts.map((p) => p.length)) + s.newTokens
          : s.kind === 'train-lightreasoner' ? Math.max(...s.trajectories.map((t) => t.length))
            : s.kind === 'matmul' ? 0 : s.seq;
    assert.ok(positions <= BENCH_MODEL_CONFIG.max_position_embeddings, r.id);
  }
});

test('each of our runners does its row\'s work and reports its units (tokens generated, tokens scored or trained)', async () => {
  const model = benchModel(tiny);
  const gen = await prepareOurs({ kind: 'generate', batch: 3, prompt: 4, newTokens: 5, seed: 1 }, model)();
  assert.equal(gen.units, 15);
  assert.ok(gen.seconds > 0);
  assert.equal((await prepareOurs({ kind: 'score', seq: 9, seed: 2 }, model)()).units, 9);
  const train = prepareOurs({ kind: 'train', batch: 2, seq: 7, seed: 3 }, model);
  assert.equal((await train()).units, 14);
  assert.equal((await train()).units, 14);
  assert.equal((await prepareOurs({ kind: 'matmul', m: 5, n: 3, k: 4, seed: 4 }, model)()).units, 1);
  assert.equal((await prepareOurs({ kind: 'backend-generate', batch: 2, prompt: 3, newTokens: 4, seed: 5 }, model)()).units, 8);
  assert.equal((await prepareOurs({ kind: 'backend-score', sequences: 2, prompt: 3, continuation: 4, seed: 6 }, model)()).units, 14);
});

type TrainSpec = Extract<RowSpec, { kind: 'train-lightreasoner' }>;

function tinyTrainSpec(): TrainSpec {
  const d = { trajectories: 4, prompt: 5, generated: 12, keptPerTrajectory: 5, labelSize: 3, vocab: tiny.vocab_size, batch: 3, gradAccum: 2, seed: 7 };
  return {
    kind: 'train-lightreasoner', ...lightReasonerData(d), recordsPerRepetition: 10, batch: d.batch, gradAccum: d.gradAccum,
    lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'] }, lr: 1e-3, seed: d.seed,
  };
}

test('our sample runner decodes and contrasts every question and counts questions', async () => {
  const model = benchModel(tiny);
  const amateur = { ...tiny, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 12 };
  const run = prepareOurs({ kind: 'sample', amateur, prompts: benchPrompts(3, 4, tiny.vocab_size, 1), newTokens: 6, alpha: 0.2, beta: 0, firstStep: 0, seed: 2 }, model); // beta 0: every step gets its label
  const s = await run();
  assert.equal(s.units, 3);
  assert.ok(s.seconds > 0);
});

test('our train-lightreasoner runner trains one window of records per call, cycling through the windows', async () => {
  const spec = tinyTrainSpec();
  const model = benchModel(tiny);
  const run = prepareOurs(spec, model);
  const units: number[] = [];
  for (let i = 0; i < 3; i++) units.push((await run()).units);
  assert.deepEqual(units, [10, 10, 10]);
  assert.equal(model.adapter, null, 'the shared bench model is left without an adapter');
});

test('windows cut the records into optimiser steps of batch x gradAccum records, each micro-batch holding batch records', () => {
  const spec = tinyTrainSpec();
  for (const pack of [true, false]) {
    const windows = lightReasonerWindows(spec, pack);
    assert.equal(windows.length, 2);
    for (const w of windows) {
      const perStep = w.map((d) => d.reduce((a, mb) => a + mb.reduce((b, seq) => b + seq.targets.length, 0), 0));
      assert.deepEqual(perStep, [6, 4]);
    }
  }
  // unpacked: one sequence per record; packed: never more sequences than records
  const unpacked = lightReasonerWindows(spec, false).flat(2);
  assert.ok(unpacked.every((mb) => mb.every((seq) => seq.targets.length === 1)));
});

test('token counts: packed equals what the trainer runs, per record is the sum of record lengths, padding only adds', () => {
  const spec = tinyTrainSpec();
  const t = lightReasonerTokens(spec);
  assert.equal(t.perRecord, spec.records.reduce((a, r) => a + r.length, 0));
  const m = new Transformer(benchModel(tiny).config, benchModel(tiny).params);
  m.adapter = createLoraAdapter(m, benchLoraConfig(spec.lora), 1);
  const trainer = new Trainer(m, { what: 'lora', lr: 1e-3, schedule: 'constant', warmupSteps: 0, maxSteps: 10, maxGradNorm: 1, adam: HF_ADAMW_DEFAULTS, seed: 1 });
  let ran = 0;
  for (const w of lightReasonerWindows(spec, true)) w.forEach((d, s) => { ran += trainer.step(s, d).tokens; });
  assert.equal(t.packed, ran);
  assert.ok(t.packed < t.perRecord);
  assert.ok(t.perRecordPadded >= t.perRecord);
  assert.match(rowNote(spec) ?? '', /FLOP ratio packed\/unpacked 0\.\d{3}/);
  assert.equal(rowNote({ kind: 'score', seq: 4, seed: 1 }), null);
});
