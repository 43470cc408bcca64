import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyModelDir } from '../model/testing.js';
import { loadModel } from '../model/load.js';
import { textOnly, writeJsonl, writeTinySamples } from '../train/testing.js';
import { buildProgram } from './index.js';
import { runCli } from '../testing/cli.js';

const modelDir = tinyModelDir({}, 41);
const root = mkdtempSync(join(tmpdir(), 'lr-cli-train-'));
after(() => {
  rmSync(modelDir, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});
const lm = await loadModel(modelDir);
const samples = writeTinySamples(root, lm.tokenizer, { vocabSize: lm.model.config.vocabSize, questions: 3, stepsPerQuestion: 3 });


const small = ['--max-steps', '4', '--batch-size', '2', '--grad-accum', '2', '--save-steps', '2', '--lr', '1e-2'];

test('train writes a PEFT adapter, the log and a summary; --resume of a finished run does nothing; merge makes a loadable model', async () => {
  const out = join(root, 'adapter');
  const r = await runCli(['train', '--expert', modelDir, '--samples', samples.samples, '--out', out, ...small]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /data {10}9 records \(9 exact ids, 0 re-tokenised\) in 3 sequences/);
  assert.match(r.stderr, /tuned tokens  16 supervised positions; \d+ tokens through forward\/backward/);
  assert.match(r.stderr, /steps\/s, [\d.]+ records\/s/);
  for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'training_log.jsonl', 'checkpoints/step-2/adapter_model.safetensors']) assert.ok(existsSync(join(out, f)), f);
  const log = readFileSync(join(out, 'training_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  assert.deepEqual(log.map((l) => l.step), [0, 1, 2, 3]);
  for (const k of ['loss', 'lr', 'grad_norm', 'tokens', 'targets']) assert.equal(typeof log[0]![k], 'number', k);

  const again = await runCli(['train', '--expert', modelDir, '--samples', samples.samples, '--out', out, ...small, '--resume']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /already holds the finished run/);
  // The same arguments without --resume continue (here: nothing left to do), as `sample` does.
  const same = await runCli(['train', '--expert', modelDir, '--samples', samples.samples, '--out', out, ...small]);
  assert.equal(same.status, 0, same.stderr);
  assert.match(same.stderr, /already holds the finished run/);
  // A directory holding something else is not a run to continue.
  const notEmpty = await runCli(['train', '--expert', modelDir, '--samples', samples.samples, '--out', modelDir, ...small]);
  assert.equal(notEmpty.status, 2);
  assert.match(notEmpty.stderr, /is not empty \(.*\) and holds no training run/);

  const merged = join(root, 'merged');
  const m = await runCli(['merge', '--base', modelDir, '--adapter', out, '--out', merged]);
  assert.equal(m.status, 0, m.stderr);
  assert.match(m.stderr, /merged 4 adapted weight matrices/);
  assert.match(m.stderr, /% of it lost to float32 rounding/);
  assert.ok((await loadModel(merged)).model.config.vocabSize === lm.model.config.vocabSize);
});

test('train refuses a label id beyond the vocabulary with exit status 2 naming the file and line', async () => {
  const dir = mkdtempSync(join(root, 'bad-'));
  const s = writeTinySamples(dir, lm.tokenizer, { vocabSize: lm.model.config.vocabSize, questions: 2, stepsPerQuestion: 2 });
  writeJsonl(s.samples, s.records.map((rec, i) => (i === 2 ? { ...rec, token_ids: [99999], weights: [1] } : rec)));
  const r = await runCli(['train', '--expert', modelDir, '--samples', s.samples, '--out', join(dir, 'out'), ...small]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /samples\.jsonl:3: token id 99999 is outside the model's vocabulary/);
});

test('train refuses a samples file whose last line is cut off, naming the file and line, before training', async () => {
  const dir = mkdtempSync(join(root, 'torn-'));
  const s = writeTinySamples(dir, lm.tokenizer, { vocabSize: lm.model.config.vocabSize, questions: 2, stepsPerQuestion: 2 });
  const text = readFileSync(s.samples, 'utf8');
  writeFileSync(s.samples, text.slice(0, text.length - 12));
  const out = join(dir, 'out');
  const r = await runCli(['train', '--expert', modelDir, '--samples', s.samples, '--out', out, ...small]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /samples\.jsonl:4: the last line is cut off \(not complete JSON and no final newline\)/);
  assert.ok(!existsSync(join(out, 'training_log.jsonl')));
});

test('train on text-only samples prints the re-tokenisation warning', async () => {
  const dir = mkdtempSync(join(root, 'text-'));
  const path = join(dir, 'ref.jsonl');
  writeJsonl(path, textOnly(samples.records));
  const r = await runCli(['train', '--expert', modelDir, '--samples', path, '--out', join(dir, 'out'), ...small, '--no-pack', '--shuffle', 'records', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /lightreasoner: warning: .*re-tokenised/);
  const report = JSON.parse(r.stdout) as { data: { retokenisedRecords: number }; steps: number };
  assert.equal(report.data.retokenisedRecords, 9);
  assert.equal(report.steps, 4);
});

test('bad flag values are refused naming the flag', async () => {
  const base = ['train', '--expert', modelDir, '--samples', samples.samples, '--out', join(root, 'never')];
  const cases: Array<[string[], RegExp]> = [
    [['--rank', 'x'], /--rank must be a positive integer, got "x"/],
    [['--lr', 'fast'], /--lr must be a number/],
    [['--lr', '-1'], /--lr must be a positive number/],
    [['--batch-size', '0'], /--batch-size must be a positive integer/],
    [['--lora-dropout', '1'], /lora_dropout must be in \[0, 1\)/],
    [['--target', 'q_proj,attn'], /unknown LoRA target module "attn"/],
    [['--max-length', '9999'], /--max-length 9999 exceeds the model's context window/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli([...base, ...args]);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, re);
  }
  const bad = await runCli([...base, '--shuffle', 'random']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /Allowed choices are trajectories, records/);
  assert.ok(!existsSync(join(root, 'never', 'adapter_config.json')));
});

test('every train and merge option has a help text', async () => {
  for (const name of ['train', 'merge']) {
    const cmd = buildProgram().commands.find((c) => c.name() === name);
    assert.ok(cmd, `${name} is registered`);
    for (const o of cmd.options) assert.ok(o.description && o.description.length > 10, `${name} ${o.long} has a help text`);
  }
  const flags = buildProgram().commands.find((c) => c.name() === 'train')!.options.map((o) => o.long);
  for (const f of ['--expert', '--samples', '--out', '--rank', '--lora-alpha', '--lora-dropout', '--target', '--lr', '--batch-size', '--grad-accum', '--max-steps', '--save-steps', '--seed', '--resume', '--no-pack', '--shuffle', '--warmup-steps', '--schedule', '--weight-decay', '--max-grad-norm', '--system-prompt', '--max-length']) {
    assert.ok(flags.includes(f), f);
  }
});
