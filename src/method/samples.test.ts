import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSample, readSamples, readTrajectories, requireValidSamples, trajectoriesPath } from './samples.js';

const good = { prompt_id: 'How many?', step: 3, prefix: 'She has', tokens: ['a', 'b'], token_ids: [4, 9], weights: [0.7, 0.3], kl_divergence: 0.5 };

test('checkSample accepts a reference-format record and names what is wrong with a bad one', () => {
  assert.equal(checkSample(good, 10), null);
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ step: -1 }, /"step" is -1, expected an integer >= 0/],
    [{ token_ids: [] }, /"token_ids" must be a non-empty list/],
    [{ weights: [0.7] }, /"weights" must be 2 non-negative numbers/],
    [{ weights: [1.2, -0.2] }, /"weights" must be 2 non-negative numbers/],
    [{ token_ids: [4, 10] }, /token id 10 is outside the model's vocabulary \[0, 10\)/],
    [{ token_ids: [4, 4] }, /lists token id 4 more than once/],
    [{ weights: [0.7, 0.31] }, /weights sum to 1\.010000, not 1 \(within 1e-3\)/],
    [{ prompt_id: 3 }, /"prompt_id" must be a string/],
    [{ prefix: null }, /"prefix" must be a string/],
    [{ trajectory: 1.5 }, /"trajectory" must be an integer/],
  ];
  for (const [patch, re] of cases) assert.match(checkSample({ ...good, ...patch }, 10) ?? 'accepted', re, JSON.stringify(patch));
});

test('readSamples reports bad JSON and bad records with their line numbers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-samples-'));
  try {
    const path = join(dir, 'samples.jsonl');
    writeFileSync(path, `${JSON.stringify(good)}\n{not json\n\n${JSON.stringify({ ...good, weights: [0.5, 0.1] })}\n`);
    const read = readSamples(path, 10);
    assert.equal(read.samples.length, 1);
    assert.deepEqual(read.problems.map((p) => p.line), [2, 4]);
    assert.throws(() => requireValidSamples(path, read), /2 bad record\(s\) in .*samples\.jsonl:\n {2}.*samples\.jsonl:2: not valid JSON.*\n {2}.*samples\.jsonl:4: weights sum to 0\.6/s);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readTrajectories keeps line numbers and refuses repeated indices and ids outside the vocabulary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-traj-'));
  try {
    const path = trajectoriesPath(join(dir, 'samples.jsonl'));
    const t = (index: number, gen: number[]): string => JSON.stringify({ index, id: `q${index}`, question: 'Q', prompt_token_ids: [1, 2], generated_token_ids: gen, finish: 'stop', steps: gen.length, kept: 1 });
    writeFileSync(path, `${t(0, [3])}\n${t(4, [5, 6])}\n`);
    assert.deepEqual([...readTrajectories(path, 10).values()].map((x) => [x.index, x.line]), [[0, 1], [4, 2]]);
    assert.throws(() => readTrajectories(path, 6), /samples\.trajectories\.jsonl:2: "generated_token_ids" holds token id 6/);
    writeFileSync(path, `${t(0, [3])}\n${t(0, [5])}\n`);
    assert.throws(() => readTrajectories(path), /:2: trajectory index 0 was already given on line 1/);
    assert.equal(readTrajectories(join(dir, 'absent.jsonl')).size, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a deeply nested or huge "step" gives a bounded message, not a stack overflow', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) deep = [deep];
  const base = { prompt_id: 'q', prefix: '', tokens: ['a'], token_ids: [1], weights: [1], kl_divergence: 0.1 };
  for (const step of [deep, new Array(10_000_000).fill(0), 'x'.repeat(10_000_000)]) {
    const why = checkSample({ ...base, step }, 10);
    assert.ok(why !== null && why.startsWith('"step" is ') && why.length < 300, why ?? 'accepted');
  }
});
