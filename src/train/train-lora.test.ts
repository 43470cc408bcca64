import { test, after } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tinyModelDir } from '../model/testing.js';
import { loadModel } from '../model/load.js';
import { loraTensors } from '../model/lora.js';
import { readAdapterRunInfo } from '../model/adapter-dir.js';
import { readSafetensors } from '../model/safetensors.js';
import { packSequences } from '../model/transformer.js';
import { softTargetLoss } from '../engine/ops/loss.js';
import { UserError } from '../util/errors.js';
import { listCheckpoints } from './checkpoint.js';
import { DEFAULT_TRAIN_SETTINGS, lockTrainingOut, trainLora, type TrainJob } from './train-lora.js';
import { loadTrainingSet } from './training-set.js';
import { textOnly, writeJsonl, writeTinySamples } from './testing.js';

const modelDir = tinyModelDir({}, 21);
const bin = fileURLToPath(new URL('../../../bin/lightreasoner.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lr-train-lora-'));
after(() => {
  rmSync(modelDir, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});
const lm = await loadModel(modelDir);
const V = lm.model.config.vocabSize;
const samples = writeTinySamples(root, lm.tokenizer, { vocabSize: V, questions: 4, stepsPerQuestion: 4 });
let n = 0;

function job(over: Partial<TrainJob> = {}): TrainJob {
  return {
    ...DEFAULT_TRAIN_SETTINGS, expert: modelDir, samples: samples.samples, out: join(root, `run${n++}`), resume: false,
    lora: { ...DEFAULT_TRAIN_SETTINGS.lora, dropout: 0.1 }, lr: 5e-3, batchSize: 3, gradAccum: 2, maxSteps: 10, saveSteps: 5, ...over,
  };
}

function adapterOf(dir: string): Map<string, Float32Array> {
  return new Map([...readSafetensors(join(dir, 'adapter_model.safetensors'))].map(([k, t]) => [k, t.data]));
}

function logOf(dir: string): Array<{ step: number; loss: number; lr: number; grad_norm: number; tokens: number; targets: number }> {
  return readFileSync(join(dir, 'training_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number; lr: number; grad_norm: number; tokens: number; targets: number });
}

test('resume: 10 steps straight equal 5 steps, a crash, and a resumed run (dropout on), to 1e-6; the report counts the whole run\'s tuned tokens and losses', async () => {
  const straight = job();
  const r = await trainLora(straight);
  assert.equal(r.steps, 10);

  const broken = job();
  await assert.rejects(trainLora({ ...broken, onProgress: (e) => { if (e.done === 7) throw new Error('killed'); } }), /killed/);
  assert.deepEqual(listCheckpoints(broken.out).map((c) => c.step), [5]);
  assert.equal(logOf(broken.out).length, 7);
  // A checkpoint a killed process was still writing is never mistaken for a finished one.
  mkdirSync(join(broken.out, 'checkpoints', '.step-6.tmp-12345'));
  writeJsonl(join(broken.out, 'checkpoints', '.step-6.tmp-12345', 'adapter_config.json'), []);
  // The same job again continues it: no --resume needed.
  const notices: string[] = [];
  const resumed = await trainLora({ ...broken, onWarning: (m) => notices.push(m) });
  assert.match(notices.join('\n'), /removed 1 checkpoint that an interrupted run was still writing/);
  assert.equal(resumed.resumedFrom, 5);
  assert.equal(resumed.steps, 5);
  // The report's tuned tokens are the whole run's, not the resumed process's share of it.
  assert.equal(resumed.tunedTokens, r.tunedTokens);
  assert.ok(resumed.supervisedPositions < resumed.tunedTokens);
  // So are its loss windows: the first steps are the crashed process's, the same as the straight run's.
  assert.ok(Math.abs(resumed.firstLoss - r.firstLoss) <= 1e-6 * r.firstLoss, `${resumed.firstLoss} vs ${r.firstLoss}`);
  assert.ok(!existsSync(join(broken.out, 'checkpoints', '.step-6.tmp-12345')), 'the half-written checkpoint is removed');

  const a = adapterOf(straight.out), b = adapterOf(broken.out);
  assert.deepEqual([...a.keys()], [...b.keys()]);
  let moved = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) <= 1e-6, `${k}[${i}]`);
    if (k.includes('lora_B')) moved += x.reduce((s, v) => s + Math.abs(v), 0);
  }
  assert.ok(moved > 0, 'training moved B away from zero');
  // The log has one line per step, the redone steps 5-6 once, with the same numbers as the straight run.
  const la = logOf(straight.out), lb = logOf(broken.out);
  assert.deepEqual(lb.map((l) => l.step), [...Array(10).keys()]);
  la.forEach((l, i) => assert.ok(Math.abs(l.loss - lb[i]!.loss) <= 1e-6 * l.loss, `step ${i}`));
  // Resuming a finished run does nothing; changed settings are refused, naming the setting.
  const again = await trainLora(broken);
  assert.equal(again.steps, 0);
  assert.equal(again.tunedTokens, r.tunedTokens);
  await assert.rejects(trainLora({ ...broken, lr: 1e-3 }), /--lr: was 0\.005, now 0\.001/);
});

test('a larger --max-steps extends a finished constant-schedule run to exactly the longer run; with linear decay, or without the final optimiser state, it is refused naming why', async () => {
  const constant = { schedule: 'constant' as const, warmupSteps: 2, saveSteps: 3 };
  const straight = job({ ...constant, maxSteps: 8 });
  await trainLora(straight);
  const grown = job({ ...constant, maxSteps: 5 });
  assert.equal((await trainLora(grown)).steps, 5);
  assert.deepEqual(listCheckpoints(grown.out).map((c) => c.step), [3, 5], 'the final step keeps its optimiser state');
  const warnings: string[] = [];
  const extended = await trainLora({ ...grown, maxSteps: 8, onWarning: (m) => warnings.push(m) });
  assert.equal(extended.resumedFrom, 5);
  assert.equal(extended.steps, 3);
  assert.match(warnings.join('\n'), /extending the finished 5-step run to 8 steps/);
  const a = adapterOf(straight.out), b = adapterOf(grown.out);
  for (const [k, x] of a) x.forEach((v, i) => assert.ok(Math.abs(v - b.get(k)![i]!) <= 1e-6, `${k}[${i}]`));
  assert.deepEqual(logOf(grown.out).map((l) => l.step), [...Array(8).keys()]);
  assert.deepEqual(logOf(grown.out).map((l) => l.lr), logOf(straight.out).map((l) => l.lr));
  await assert.rejects(trainLora({ ...grown, maxSteps: 6 }), /already holds 8 trained steps; --max-steps 6 is fewer/);

  const linear = job({ maxSteps: 4, saveSteps: 2 });
  await trainLora(linear);
  await assert.rejects(trainLora({ ...linear, maxSteps: 8 }), (e: unknown) => e instanceof UserError && /started with --max-steps 4; it cannot become 8: with the linear schedule the learning rate of every step depends on --max-steps/.test(e.message));
  const noState = job({ ...constant, maxSteps: 4, saveSteps: 0 });
  await trainLora(noState);
  await assert.rejects(trainLora({ ...noState, maxSteps: 6 }), /without its optimiser state at step 4 \(trained with --save-steps 0/);
});

test('a second writer on a training directory is refused naming the first, whose run and log stay whole', async () => {
  const o = job({ maxSteps: 6, saveSteps: 0 });
  let inProcess = '';
  let second: ReturnType<typeof spawnSync> | null = null;
  const r = await trainLora({
    ...o,
    onProgress: (e) => {
      if (e.done !== 3 || second) return;
      // The first run holds the lock: a real second `train` process, and the same job in this
      // process, are refused before they load anything.
      second = spawnSync(process.execPath, [bin, 'train', '--expert', modelDir, '--samples', samples.samples, '--out', o.out, '--max-steps', '6'], { encoding: 'utf8', env: { ...process.env, LIGHTREASONER_QUIET: '1' } });
      // The lock is taken before trainLora's first await, so this rejection settles before the outer run ends.
      trainLora(o).catch((err: unknown) => { inProcess = (err as Error).message; });
    },
  });
  const refused = second as ReturnType<typeof spawnSync> | null;
  assert.ok(refused);
  assert.equal(refused.status, 2, String(refused.stderr));
  assert.match(String(refused.stderr), new RegExp(`run\\d+ is being written by another run: pid ${process.pid} on .*; wait for that run to finish or use another --out`));
  assert.match(inProcess, /run\d+ is being written by another run: this process \(pid \d+\), in another job/);
  assert.equal(r.steps, 6);
  assert.deepEqual(logOf(o.out).map((l) => l.step), [0, 1, 2, 3, 4, 5], 'one log line per step: nothing doubled');
  // Released at the end: the directory can be continued (here: nothing left to do).
  assert.equal((await trainLora(o)).steps, 0);
  const held = lockTrainingOut(o.out);
  try {
    await assert.rejects(trainLora(o), (e: unknown) => e instanceof UserError && e.message.includes(`pid ${process.pid}`));
  } finally {
    held.release();
  }
});

test('the log has step, loss, lr, grad norm and tokens; lr decays linearly to 0 from --lr; the loss falls', async () => {
  const o = job({ lora: { ...DEFAULT_TRAIN_SETTINGS.lora, dropout: 0 }, lr: 2e-2, maxSteps: 12, saveSteps: 0 });
  const r = await trainLora(o);
  const log = logOf(o.out);
  assert.equal(log.length, 12);
  log.forEach((l, i) => {
    assert.ok(Math.abs(l.lr - 2e-2 * (1 - i / 12)) < 1e-12, `lr at step ${i}`);
    assert.ok(l.grad_norm > 0 && l.tokens > 0 && l.targets === 6);
  });
  assert.equal(r.supervisedPositions, 72);
  assert.equal(r.forwardTokens, log.reduce((a, l) => a + l.tokens, 0));
  assert.ok(r.lastLoss < r.firstLoss, `${r.firstLoss} -> ${r.lastLoss}`);
  assert.equal(listCheckpoints(o.out).length, 0);
});

test('the adapter is in PEFT layout for the Expert and our loader reads it back: the tuned model has the trained loss', async () => {
  const o = job({ lora: { r: 4, loraAlpha: 8, dropout: 0, targets: ['q_proj', 'v_proj', 'up_proj'] }, maxSteps: 6 });
  await trainLora(o);
  const cfg = JSON.parse(readFileSync(join(o.out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(cfg.peft_type, 'LORA');
  assert.equal(cfg.base_model_name_or_path, resolve(modelDir));
  assert.equal(cfg.r, 4);
  assert.equal(cfg.lora_alpha, 8);
  assert.deepEqual(cfg.target_modules, ['q_proj', 'v_proj', 'up_proj']);
  assert.equal(cfg.lightreasoner, undefined, 'run metadata stays out of the PEFT config');
  assert.equal(readAdapterRunInfo(o.out)?.max_steps, 6);
  const onDisk = adapterOf(o.out);
  assert.ok(onDisk.has('base_model.model.model.layers.1.mlp.up_proj.lora_B.weight'));
  assert.equal(onDisk.size, 2 * 3 * 2);

  const tuned = await loadModel(modelDir, { adapter: o.out });
  for (const t of loraTensors(tuned.model.adapter!)) assert.deepEqual(t.data, onDisk.get(t.name));
  // Mean KL over the samples with the loaded adapter is below the base model's.
  const set = loadTrainingSet(samples.samples, { vocabSize: V, contextWindow: 512, tokenizer: lm.tokenizer, systemPrompt: 'Please reason step by step.' });
  const meanKl = (m: typeof tuned.model): number => set.steps.reduce((acc, st) => {
    const logits = m.forward(packSequences([set.sequences.get(st.group)!.subarray(0, st.length)]), { logitRows: 'last' }).logits;
    return acc + softTargetLoss(logits, 0, V, st, 1, null);
  }, 0) / set.steps.length;
  assert.ok(meanKl(tuned.model) < meanKl((await loadModel(modelDir)).model));
});

test('text-only samples (no trajectories file) train with the re-tokenisation warning, and with round-tripping ids reach exactly the exact path\'s losses', async () => {
  const dir = join(root, 'textonly');
  mkdirSync(dir);
  const textPath = join(dir, 'samples.jsonl');
  writeJsonl(textPath, textOnly(samples.records));
  assert.ok(!existsSync(join(dir, 'samples.trajectories.jsonl')));
  const warnings: string[] = [];
  const exact = job({ maxSteps: 6, saveSteps: 0 });
  const text = job({ maxSteps: 6, saveSteps: 0, samples: textPath, onWarning: (m) => warnings.push(m) });
  await trainLora(exact);
  const r = await trainLora(text);
  assert.equal(r.data.retokenisedRecords, samples.records.length);
  assert.match(warnings.join('\n'), /re-tokenised/);
  const le = logOf(exact.out), lt = logOf(text.out);
  le.forEach((l, i) => {
    assert.ok(Math.abs(l.loss - lt[i]!.loss) <= 1e-6 * l.loss, `step ${i}: ${l.loss} vs ${lt[i]!.loss}`);
    assert.equal(l.tokens, lt[i]!.tokens);
  });
});
