import { test } from 'node:test';
import assert from 'node:assert/strict';
import { streamSlice } from '../../src/train/batches.js';
import { parseConfig, parameterCount } from '../../src/model/config.js';
import { BENCH_AMATEUR_CONFIG, BENCH_MODEL_CONFIG, ROWS, benchPrompts, lightReasonerData, lightReasonerPlan, type RowSpec } from './spec.js';

const data = { trajectories: 5, prompt: 7, generated: 20, keptPerTrajectory: 6, labelSize: 3, vocab: 50, batch: 4, gradAccum: 2, seed: 3 };

test('the sample row\'s Amateur is a smaller Qwen2 with the Expert\'s vocabulary, and every question has a prompt of the same length', () => {
  const expert = parseConfig({ ...BENCH_MODEL_CONFIG }, 'expert'), amateur = parseConfig({ ...BENCH_AMATEUR_CONFIG }, 'amateur');
  assert.equal(amateur.vocabSize, expert.vocabSize);
  assert.ok(parameterCount(amateur) < parameterCount(expert) / 3);
  const row = ROWS.find((r) => r.spec.kind === 'sample');
  assert.ok(row);
  const s = row.spec as Extract<RowSpec, { kind: 'sample' }>;
  assert.equal(new Set(s.prompts.map((p) => p.length)).size, 1);
  assert.ok(s.prompts.flat().every((id) => Number.isInteger(id) && id >= 0 && id < expert.vocabSize));
});

test('bench prompts are reproducible from their seed and differ between seeds', () => {
  assert.deepEqual(benchPrompts(3, 4, 100, 1), benchPrompts(3, 4, 100, 1));
  assert.notDeepEqual(benchPrompts(3, 4, 100, 1), benchPrompts(3, 4, 100, 2));
  assert.deepEqual(benchPrompts(3, 4, 100, 1).map((p) => p.length), [4, 4, 4]);
});

test('training data: each trajectory keeps its number of steps at distinct positions inside it, with labels of distinct ids weighing ~1', () => {
  const d = lightReasonerData(data);
  assert.equal(d.trajectories.length, data.trajectories);
  assert.ok(d.trajectories.every((t) => t.length === data.prompt + data.generated));
  assert.equal(d.records.length, data.trajectories * data.keptPerTrajectory);
  for (let g = 0; g < data.trajectories; g++) {
    const lengths = d.records.filter((r) => r.trajectory === g).map((r) => r.length);
    assert.equal(lengths.length, data.keptPerTrajectory);
    assert.equal(new Set(lengths).size, lengths.length, 'distinct steps');
    assert.ok(lengths.every((n) => n >= data.prompt && n < data.prompt + data.generated), 'the input is the prompt and a prefix of the generated ids');
  }
  for (const r of d.records) {
    assert.equal(new Set(r.ids).size, data.labelSize);
    assert.ok(Math.abs(r.weights.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  }
});

test('training data is listed in the packed trainer\'s stream order: trajectories together, each by increasing length', () => {
  const d = lightReasonerData(data);
  const steps = d.records.map((r) => ({ group: r.trajectory, length: r.length, ids: r.ids, weights: r.weights }));
  // Reading the listed records back through the trainer's batch plan gives the same order.
  const again = streamSlice(lightReasonerPlan(d.trajectories, steps, data), 0, steps.length);
  assert.deepEqual(again, steps);
  const groups = d.records.map((r) => r.trajectory);
  assert.equal(new Set(groups).size, data.trajectories);
  for (let i = 1; i < d.records.length; i++) {
    if (groups[i] === groups[i - 1]) assert.ok(d.records[i]!.length > d.records[i - 1]!.length);
    else assert.ok(!groups.slice(0, i).includes(groups[i]!), 'a trajectory\'s records are contiguous');
  }
});

test('the train-lightreasoner row has 1,000 records and its repetition windows cover them in whole trajectories', () => {
  const row = ROWS.find((r) => r.spec.kind === 'train-lightreasoner');
  assert.ok(row);
  const s = row.spec as Extract<RowSpec, { kind: 'train-lightreasoner' }>;
  assert.equal(s.records.length, 1000);
  assert.equal(s.records.length % s.recordsPerRepetition, 0);
  for (let w = s.recordsPerRepetition; w < s.records.length; w += s.recordsPerRepetition) {
    assert.notEqual(s.records[w]!.trajectory, s.records[w - 1]!.trajectory, `window boundary ${w} splits a trajectory`);
  }
});
