import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../testing/cli.js';
import { testTempDir } from '../testing/tmp.js';
import { tinyModelDir } from '../model/testing.js';
import { loadModel } from '../model/load.js';

const work = testTempDir('weights-dtype');
after(() => { rmSync(work, { recursive: true, force: true }); });

const expert = tinyModelDir({ hidden: 64, layers: 2 }, 11);
const amateur = tinyModelDir({ hidden: 32, layers: 1 }, 12);
const input = join(work, 'questions.jsonl');
writeFileSync(input, [1, 2, 3].map((i) => `${JSON.stringify({ question: `Ann has ${i} apples and buys 4 more. How many apples does she have?`, answer: `#### ${i + 4}` })}\n`).join(''));
const sample = ['sample', '--expert', expert, '--amateur', amateur, '--input', input, '--max-new-tokens', '12', '--batch-size', '3', '--beta', '0'];

test('sample --weights-dtype bf16 runs on bf16 weights, marks its manifest, and a run is not continued across dtypes', async () => {
  const out = join(work, 'bf16.jsonl'), f32Out = join(work, 'f32.jsonl');
  try {
    const r = await runCli([...sample, '--weights-dtype', 'bf16', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    type Manifest = { expert: { fingerprint: string }; amateur: { fingerprint: string } };
    const manifest = (p: string): Manifest => JSON.parse(readFileSync(p.replace(/\.jsonl$/, '.manifest.json'), 'utf8')) as Manifest;
    assert.match(manifest(out).expert.fingerprint, /^sha256:[0-9a-f]{32}\+bf16$/);
    assert.match(manifest(out).amateur.fingerprint, /\+bf16$/);
    const f = await runCli([...sample, '--weights-dtype', 'f32', '--out', f32Out]);
    assert.equal(f.status, 0, f.stderr);
    assert.match(manifest(f32Out).expert.fingerprint, /^sha256:[0-9a-f]{32}$/);
    const before = readFileSync(out);
    const mixed = await runCli([...sample, '--out', out]);
    assert.equal(mixed.status, 2);
    assert.match(mixed.stderr, /fingerprint/);
    // The same dtype continues it (nothing left to do).
    const again = await runCli([...sample, '--weights-dtype', 'bf16', '--out', out]);
    assert.equal(again.status, 0, again.stderr);
    assert.ok(readFileSync(out).equals(before), 'the bf16 run was left as it was');
  } finally {
    // The choice travelled with the command's settings: nothing process-wide is left behind.
    assert.doesNotMatch((await loadModel(expert)).fingerprint, /\+bf16/);
  }
});

test('sample --weights-dtype bf16 refuses a back end that is not the engine', async () => {
  try {
    const r = await runCli([...sample, '--weights-dtype', 'bf16', '--backend', 'llama.cpp', '--out', join(work, 'never.jsonl')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--weights-dtype bf16 applies to the engine back end only/);
  } finally {
    assert.doesNotMatch((await loadModel(expert)).fingerprint, /\+bf16/);
  }
});
