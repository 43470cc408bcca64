import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cliProgressCallback, createProgressBar, projectionLine } from './progress.js';

delete process.env.LIGHTREASONER_QUIET;

/** A non-terminal stream that keeps what is written. */
function sink(): NodeJS.WriteStream & { text(): string } {
  const out: string[] = [];
  return { isTTY: false, write: (s: string) => { out.push(s); return true; }, text: () => out.join('') } as unknown as NodeJS.WriteStream & { text(): string };
}

test('the projected total comes from the throughput of the first chunk, once', () => {
  let t = 0;
  const s = sink();
  const bar = createProgressBar('sample', 100, 'questions', 0, s, { project: true, now: () => t });
  t = 20_000;
  bar.update(8);
  t = 40_000;
  bar.update(16);
  const lines = s.text().split('\n').filter((l) => l.includes('projected'));
  assert.equal(lines.length, 1);
  // 8 questions in 20 s: 2.5 s each, 250 s for all 100, 230 s still to go.
  assert.match(lines[0]!, /^sample: 8 questions took 20s; projected 4m10s for 100 questions \(3m50s to go, done about \d\d:\d\d\)$/);
  // The ETA line beside the bar uses the same measured rate.
  assert.match(s.text(), /sample: 8\/100 questions \| 0\.40\/s \| ETA 3m50s/);
});

test('no projection before the first measurable chunk: 10 s of work or a tenth of it; a resumed run projects what is left', () => {
  let t = 0;
  const s = sink();
  const bar = createProgressBar('train', 1000, 'steps', 0, s, { project: true, now: () => t });
  t = 1000;
  bar.update(1);
  assert.doesNotMatch(s.text(), /projected/);
  t = 11_000;
  bar.update(2);
  assert.match(s.text(), /train: 2 steps took 11s; projected 1h31m for 1000 steps/);

  t = 0;
  const r = sink();
  const resumed = createProgressBar('train', 100, 'steps', 50, r, { project: true, now: () => t });
  t = 1000;
  resumed.update(55); // a tenth of the 50 steps left
  assert.match(r.text(), /train: 5 steps took 1s; projected 10s for 50 steps \(9s to go/);

  const q = sink();
  const plain = createProgressBar('eval', 10, 'problems', 0, q, { now: () => t });
  t = 100_000;
  plain.update(5);
  assert.doesNotMatch(q.text(), /projected/);
  // The finishing time is the local clock plus what is left.
  assert.equal(projectionLine('train', 'steps', 1, 3600, 10, new Date(2026, 0, 1, 12, 0)), 'train: 1 steps took 1h00m; projected 10h00m for 10 steps (9h00m to go, done about 21:00)');
});

test('a command\'s progress ends with its wall time and the peak memory of the process', () => {
  const s = sink();
  const cb = cliProgressCallback({ summary: 'sample', project: ['sample'], stream: s });
  cb({ stage: 'sample', done: 0, total: 4, unit: 'questions' });
  cb({ stage: 'sample', done: 4, total: 4, unit: 'questions' });
  cb.stopAll();
  const m = /sample: \d+s wall, peak memory (\d+) MiB \(max RSS\)\n$/.exec(s.text());
  assert.ok(m, s.text());
  const maxRssMiB = (process.resourceUsage().maxRSS * 1024) / 2 ** 20;
  assert.ok(Number(m[1]) > 10 && Number(m[1]) <= Math.round(maxRssMiB), `${m[1]} MiB vs maxRSS ${maxRssMiB.toFixed(0)} MiB`);
  // Without a summary name nothing is added (score, export-gguf, downloads).
  const q = sink();
  const quiet = cliProgressCallback({ stream: q });
  quiet({ stage: 'load', done: 1, total: 1, unit: 'MiB' });
  quiet.stopAll();
  assert.doesNotMatch(q.text(), /peak memory/);
});
