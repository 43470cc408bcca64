import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startTorchBaseline, TORCH_BENCH_SCRIPT } from './torch-baseline.js';
import { detectCoreType } from '../../src/engine/blas.js';
import { BENCH_MODEL_CONFIG, benchPrompts, lightReasonerData, type BenchRow } from './spec.js';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const skip = hasTorch ? false : 'python3-torch is not installed';

test('the PyTorch KV-cache decoding path reproduces greedy decoding over the reference\'s full forward, and per-step Amateur passes one teacher-forced pass', { skip }, () => {
  const r = spawnSync(PYTHON, [TORCH_BENCH_SCRIPT, '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('the PyTorch worker runs a row on the OpenBLAS core type and thread counts our engine gives it', { skip }, async () => {
  const coreType = detectCoreType();
  const b = await startTorchBaseline({ python: PYTHON, threads: 1, intraOpThreads: 1, coreType });
  assert.ok(!('missing' in b));
  try {
    assert.equal(b.info.OPENBLAS_CORETYPE ?? null, coreType);
    if (coreType) assert.equal(String(b.info.openblas_core).toUpperCase(), coreType, 'OpenBLAS inside torch runs the kernels we asked for');
    assert.equal(b.info.openblas_threads, 1);
    assert.equal(b.info.torch_threads, 1);
    const tiny = { ...BENCH_MODEL_CONFIG, vocab_size: 61, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2, intermediate_size: 24 };
    const row: BenchRow = { id: 'g', title: 'g', metric: 'tokensPerSecond', target: null, baseline: 'torch', spec: { kind: 'generate', batch: 2, prompt: 3, newTokens: 4, seed: 1 } };
    await b.prepare(row, tiny);
    const s = await b.run('g');
    assert.equal(s.units, 8);
    assert.ok(s.seconds > 0);
    await assert.rejects(b.run('never-prepared'), /not prepared/);
  } finally {
    await b.close();
  }
});

test('the PyTorch worker runs the sample row (questions) and the per-record LoRA row (records per window, cycling)', { skip }, async () => {
  const b = await startTorchBaseline({ python: PYTHON, threads: 1, intraOpThreads: 1, coreType: detectCoreType() });
  assert.ok(!('missing' in b));
  try {
    const tiny = { ...BENCH_MODEL_CONFIG, vocab_size: 61, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2, intermediate_size: 24 };
    const amateur = { ...tiny, hidden_size: 8, num_attention_heads: 2, num_key_value_heads: 1 };
    const sample: BenchRow = {
      id: 's', title: 's', metric: 'questionsPerSecond', target: null, baseline: 'torch',
      spec: { kind: 'sample', amateur, prompts: benchPrompts(3, 4, 61, 1), newTokens: 5, alpha: 0.2, beta: 0, firstStep: 0, seed: 2 },
    };
    await b.prepare(sample, tiny);
    assert.equal((await b.run('s')).units, 3);
    const d = { trajectories: 3, prompt: 4, generated: 8, keptPerTrajectory: 4, labelSize: 3, vocab: 61, batch: 3, gradAccum: 2, seed: 5 };
    const train: BenchRow = {
      id: 't', title: 't', metric: 'secondsPer1000Records', target: null, baseline: 'torch',
      spec: { kind: 'train-lightreasoner', ...lightReasonerData(d), recordsPerRepetition: 8, batch: 3, gradAccum: 2, lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'] }, lr: 1e-3, seed: 5 },
    };
    await b.prepare(train, tiny);
    const units = [];
    for (let i = 0; i < 3; i++) units.push((await b.run('t')).units);
    assert.deepEqual(units, [8, 4, 8], '12 records in windows of 8');
  } finally {
    await b.close();
  }
});

// The python3 on PATH may be one without torch (e.g. a pyenv shim): then the worker says so itself.
const otherPython = spawnSync('python3', ['-c', 'import sys, importlib.util; sys.exit(importlib.util.find_spec("torch") is not None)'], { stdio: 'ignore' }).status === 0;

test('a Python without torch is reported with how to install the baseline', { skip: otherPython ? false : 'no python3 without torch on PATH' }, async () => {
  const b = await startTorchBaseline({ python: 'python3', threads: 1, intraOpThreads: 1, coreType: null });
  assert.ok('missing' in b);
  assert.match(b.missing, /no torch/);
  assert.match(b.hint, /apt-get install python3-torch/);
});

test('a missing Python is reported with how to install the baseline', async () => {
  const b = await startTorchBaseline({ python: '/nonexistent/python3', threads: 1, intraOpThreads: 1, coreType: null });
  assert.ok('missing' in b);
  assert.match(b.hint, /apt-get install python3-torch/);
});
