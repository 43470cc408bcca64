/**
 * `demo --quick` end to end on the bundled models (src/demo/run.ts): data, sample, train, merge
 * and every eval, with its table checked against its result files. Slow (one to four minutes on
 * 2 cores): `npm run test:fast` leaves this file out; `npm test` runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testTempDir } from '../testing/tmp.js';
import { summarizeFormats, type Finish, type FormatSummary } from '../eval/formats.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('demo --quick runs end to end and its table agrees with its result files; a second demo on the same --out meanwhile is refused; a rerun reuses and reports the finished results', async () => {
  const out = join(testTempDir('lr-demo-'), 'demo');
  const bin = join(root, 'bin', 'lightreasoner.js');
  const env = { ...process.env, LIGHTREASONER_QUIET: '1' };
  const first = spawn(process.execPath, [bin, 'demo', '--quick', '--out', out], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  first.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  first.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((res) => first.on('exit', (code) => res(code)));
  while (!existsSync(join(out, '.lightreasoner.lock'))) await new Promise((res) => setTimeout(res, 20));
  const second = spawnSync(process.execPath, [bin, 'demo', '--quick', '--out', out], { encoding: 'utf8', env });
  assert.equal(second.status, 2, second.stderr);
  assert.match(second.stderr, new RegExp(`demo is being written by another run: pid ${first.pid} on .*lightreasoner demo --quick --out`));
  assert.equal(await exited, 0, stderr);
  assert.match(stdout, /\| Expert \+ LightReasoner \|/);
  for (const f of ['demo.md', 'demo.json', 'demo.svg', 'samples.jsonl', 'adapter/adapter_model.safetensors', 'expert-lightreasoner/model.safetensors']) {
    assert.ok(existsSync(join(out, f)), f);
  }
  assert.ok(!existsSync(join(out, '.lightreasoner.lock')), 'the lock is released at the end');
  const report = JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')) as { rows: Array<{ label: string; correct: number; count: number; accuracy: number; formats: FormatSummary }> };
  const file: Record<string, string> = { Amateur: 'amateur', Expert: 'expert', 'Expert + CD': 'expert-cd', 'Expert + SFT': 'expert-sft', 'Expert + LightReasoner': 'expert-lightreasoner' };
  for (const row of report.rows) {
    const results = readFileSync(join(out, 'results', `${file[row.label]}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { correct: boolean; completion: string; finish: Finish });
    assert.equal(row.count, results.length, row.label);
    assert.deepEqual(row.formats, summarizeFormats(results), row.label);
    assert.equal(row.formats.finishKnown, row.count, row.label);
    assert.equal(row.correct, results.filter((x) => x.correct).length, row.label);
    assert.equal(row.accuracy, row.correct / row.count);
  }
  // The default (base) world's Expert knows more math than its Amateur, but as a base model it runs on
  // after its answer, so the toolkit's grading can score both near 0: compare their first answers.
  const firstRight = Object.fromEntries(report.rows.map((x) => [x.label, x.formats.firstAnswerCorrect.count]));
  assert.ok(firstRight.Expert! > firstRight.Amateur!, `the bundled Expert's first answers beat the Amateur's (the pairing the method needs): ${firstRight.Expert} vs ${firstRight.Amateur}`);
  assert.match(readFileSync(join(out, 'demo.svg'), 'utf8'), /^<svg[^>]*>[\s\S]*<\/svg>$/);
  // demo.md has the format shares of every row; the printed table (the README's) does not.
  assert.match(readFileSync(join(out, 'demo.md'), 'utf8'), /\| Expert \+ LightReasoner \| [\d.]+% \(\d+\/\d+\) \| [\d.]+% \(\d+\/\d+\) \|/);
  assert.doesNotMatch(stdout, /well-formed/);

  // Rerunning the finished demo reuses every stage and reports the first run's figures, not empty ones.
  const firstReport = readFileSync(join(out, 'demo.json'), 'utf8');
  const again = spawnSync(process.execPath, [bin, 'demo', '--quick', '--out', out], { encoding: 'utf8', env });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /demo: train was already done by an earlier run in [\d.]+ s \(60 steps, loss \d/);
  assert.doesNotMatch(again.stderr + again.stdout, /NaN/);
  const a = JSON.parse(firstReport) as { rows: unknown[]; stages: unknown[]; train: unknown; sft: unknown }, b = JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')) as typeof a;
  assert.deepEqual(b.rows, a.rows);
  assert.deepEqual(b.stages, a.stages);
  assert.deepEqual(b.train, a.train);
  assert.deepEqual(b.sft, a.sft);
  // --json prints the same report (and the files written) as one JSON object instead of the table.
  const asJson = spawnSync(process.execPath, [bin, 'demo', '--quick', '--out', out, '--json'], { encoding: 'utf8', env });
  assert.equal(asJson.status, 0, asJson.stderr);
  const j = JSON.parse(asJson.stdout) as typeof a & { files: Record<string, string>; totalSeconds: number };
  assert.deepEqual(j.rows, a.rows);
  assert.deepEqual(Object.keys(j.files).sort(), ['json', 'markdown', 'svg']);
  assert.equal(typeof j.totalSeconds, 'number');
});
