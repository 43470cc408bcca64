/**
 * `demo --quick` end to end on the bundled models (src/demo/run.ts): data, sample, train, merge
 * and every eval, with its table checked against its result files. Slow (one to four minutes on
 * 2 cores): `npm run test:fast` leaves this file out; `npm test` runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testTempDir } from '../testing/tmp.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('demo --quick runs end to end and its table agrees with its result files', () => {
  const out = join(testTempDir('lr-demo-'), 'demo');
  const bin = join(root, 'bin', 'lightreasoner.js');
  const r = spawnSync(process.execPath, [bin, 'demo', '--quick', '--out', out], { encoding: 'utf8', env: { ...process.env, LIGHTREASONER_QUIET: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| Expert \+ LightReasoner \|/);
  for (const f of ['demo.md', 'demo.json', 'demo.svg', 'samples.jsonl', 'adapter/adapter_model.safetensors', 'expert-lightreasoner/model.safetensors']) {
    assert.ok(existsSync(join(out, f)), f);
  }
  const report = JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')) as { rows: Array<{ label: string; correct: number; count: number; accuracy: number }> };
  const file: Record<string, string> = { Amateur: 'amateur', Expert: 'expert', 'Expert + CD': 'expert-cd', 'Expert + SFT': 'expert-sft', 'Expert + LightReasoner': 'expert-lightreasoner' };
  for (const row of report.rows) {
    const results = readFileSync(join(out, 'results', `${file[row.label]}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { correct: boolean });
    assert.equal(row.count, results.length, row.label);
    assert.equal(row.correct, results.filter((x) => x.correct).length, row.label);
    assert.equal(row.accuracy, row.correct / row.count);
  }
  const acc = Object.fromEntries(report.rows.map((x) => [x.label, x.accuracy]));
  assert.ok(acc.Expert! > acc.Amateur!, 'the bundled Expert beats the bundled Amateur (the pairing the method needs)');
  assert.match(readFileSync(join(out, 'demo.svg'), 'utf8'), /^<svg[^>]*>[\s\S]*<\/svg>$/);
});
