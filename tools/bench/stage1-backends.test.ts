import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testTempDir } from '../../src/testing/tmp.js';

const script = join(dirname(fileURLToPath(import.meta.url)), 'stage1-backends.js');

interface Report {
  rows: Array<{ run: string; questions: number; ok: boolean; secondsPerQuestion: number | null; projectedHours: number | null; expertGenerationTokensPerSecond: number | null }>;
  runs: Array<{ stats?: { generatedSteps: number } }>;
}

test('stage1-backends runs `lightreasoner sample` on Qwen-vocabulary models as a user would and reports seconds per question and the 1,000-question projection', () => {
  const work = testTempDir('stage1-backends-');
  const out = execFileSync(process.execPath, [script, '--work', work, '--tiny', '--engine', '2', '--engine-batch-size', '2', '--new-tokens', '4'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(out, /TINY shapes/);
  assert.match(out, /\| engine \(ours\), CPU \| 2 \|/);
  const report = JSON.parse(readFileSync(join(work, 'stage1-backends.json'), 'utf8')) as Report;
  assert.equal(report.rows.length, 1);
  const row = report.rows[0]!;
  assert.equal(row.ok, true);
  assert.equal(row.questions, 2);
  assert.ok(row.secondsPerQuestion !== null && row.secondsPerQuestion > 0);
  assert.ok(Math.abs(row.projectedHours! - (row.secondsPerQuestion * 1000) / 3600) < 1e-9, 'the projection is 1,000 questions at the measured rate');
  assert.ok((row.expertGenerationTokensPerSecond ?? 0) > 0);
  // Random weights never emit an end token, so each question generated the whole budget.
  assert.equal(report.runs[0]!.stats!.generatedSteps, 2 * 4);
});
