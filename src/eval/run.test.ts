/**
 * The eval job called as a library (what the demo and the experiment tools do): typed settings
 * with defaults, one validation naming the flags, the same results file and manifest as the CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyModelDir } from '../model/testing.js';
import { testTempDir } from '../testing/tmp.js';
import { UserError } from '../util/errors.js';
import { DEFAULT_EVAL_SETTINGS, runEval, validateEvalSettings } from './run.js';
import { evalManifestPath } from './manifest.js';

test('eval settings out of range are refused naming their flag', () => {
  const cases: Array<[Parameters<typeof validateEvalSettings>, RegExp]> = [
    [[{ ...DEFAULT_EVAL_SETTINGS, maxNewTokens: 0 }], /--max-new-tokens must be a positive integer, got 0/],
    [[{ ...DEFAULT_EVAL_SETTINGS, batchSize: 1.5 }], /--batch-size must be a positive integer, got 1\.5/],
    [[{ ...DEFAULT_EVAL_SETTINGS, limit: 0 }], /--limit must be a positive integer, got 0/],
    [[DEFAULT_EVAL_SETTINGS, { cdAlpha: 0, cdBeta: 0.5 }], /--cd-alpha must be in \(0, 1\], got 0/],
    [[DEFAULT_EVAL_SETTINGS, { cdAlpha: 0.1, cdBeta: -1 }], /--cd-beta must be a finite number >= 0, got -1/],
  ];
  for (const [args, message] of cases) assert.throws(() => validateEvalSettings(...args), (e: unknown) => e instanceof UserError && message.test(e.message));
  validateEvalSettings(DEFAULT_EVAL_SETTINGS, { cdAlpha: 1, cdBeta: 0 });
});

test('runEval takes numbers, writes the results file and manifest, and a second run resumes it', async () => {
  const dir = testTempDir('lr-eval-run-');
  const model = tinyModelDir({ vocab: 300 }, 3);
  const input = join(dir, 'test.jsonl');
  writeFileSync(input, ['Ken has 12 apples.', 'Julie buys 24 books.', 'Mark has 120 marbles.'].map((question, i) => JSON.stringify({ id: `q${i}`, question, answer: String(i) })).join('\n') + '\n');
  const out = join(dir, 'results.jsonl');
  const job = { model, input, out, settings: { maxNewTokens: 6, batchSize: 2, limit: 2 } };
  const first = await runEval(job);
  assert.deepEqual([first.problems, first.graded, first.resumed, first.prompt], [2, 2, 0, DEFAULT_EVAL_SETTINGS.prompt]);
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; completionTokens: number });
  assert.deepEqual(lines.map((l) => l.id), ['q0', 'q1']);
  for (const l of lines) assert.ok(l.completionTokens >= 1 && l.completionTokens <= 6);
  const manifest = JSON.parse(readFileSync(evalManifestPath(out), 'utf8')) as Record<string, unknown>;
  assert.deepEqual([manifest.maxNewTokens, manifest.batchSize, manifest.prompt], [6, 2, 'qwen25-math-cot']);
  const again = await runEval(job);
  assert.deepEqual([again.graded, again.resumed, again.summary.count], [0, 2, 2]);
  await assert.rejects(runEval({ ...job, settings: { ...job.settings, maxNewTokens: 7 } }), /--max-new-tokens: was 6, now 7/);
});

test('contrastive decoding keeps its manifest format: the CD parameters are stored as "alpha" and "beta"', async () => {
  const dir = testTempDir('lr-eval-cd-');
  const model = tinyModelDir({ vocab: 300 }, 3), amateur = tinyModelDir({ vocab: 300, hidden: 16, layers: 1 }, 4);
  const input = join(dir, 'test.jsonl');
  writeFileSync(input, `${JSON.stringify({ id: 'q0', question: 'Ken has 12 apples.', answer: '12' })}\n`);
  const out = join(dir, 'cd.jsonl');
  const r = await runEval({ model, input, out, settings: { maxNewTokens: 3 }, contrastiveDecoding: { amateur, cdBeta: 0.25 } });
  assert.equal(r.amateur, amateur);
  const manifest = JSON.parse(readFileSync(evalManifestPath(out), 'utf8')) as { contrastiveDecoding: Record<string, unknown> };
  assert.deepEqual(Object.keys(manifest.contrastiveDecoding), ['amateur', 'alpha', 'beta']);
  assert.deepEqual([manifest.contrastiveDecoding.alpha, manifest.contrastiveDecoding.beta], [0.1, 0.25]);
});
