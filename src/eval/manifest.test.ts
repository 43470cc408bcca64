import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testTempDir } from '../testing/tmp.js';
import { existingEvalBatchSize, writeEvalManifest, type EvalManifest } from './manifest.js';

const manifest = (batchSize: number): EvalManifest => ({
  lightreasoner_eval: 1, model: { dir: '/m', fingerprint: 'sha256:0' }, adapter: null, prompt: 'qwen25-math-cot', maxNewTokens: 400, batchSize,
});

test('existingEvalBatchSize gives the batch size a results file was started with, and null where there is nothing to continue', () => {
  const dir = testTempDir('eval-manifest');
  const out = join(dir, 'expert.jsonl');
  assert.equal(existingEvalBatchSize(out), null, 'no results file');
  writeEvalManifest(out, manifest(32));
  writeFileSync(out, '');
  assert.equal(existingEvalBatchSize(out), null, 'an empty results file has nothing to continue');
  writeFileSync(out, '{"id":"a"}\n');
  assert.equal(existingEvalBatchSize(out), 32);
  const bare = join(dir, 'bare.jsonl');
  writeFileSync(bare, '{"id":"a"}\n');
  assert.equal(existingEvalBatchSize(bare), null, 'results without a manifest');
});
