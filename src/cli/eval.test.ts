import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../bin/lightreasoner.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lr-eval-cli-'));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, 'eval', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, LIGHTREASONER_QUIET: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const jsonl = (name: string, records: unknown[]): string => {
  writeFileSync(join(dir, name), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return name;
};

// Five GSM8K-style problems with explicit ids, and two models' completions for them.
const golds = ['18', '3', '70000', '540', '20'];
const input = jsonl('test.jsonl', golds.map((g, i) => ({ id: `p${i}`, question: `Question ${i}?`, answer: `Working <<1+1=2>>2.\n#### ${Number(g).toLocaleString('en-US')}` })));
// Base: right on p0, p1; tuned: right on p0..p3. By question text for base, by id for tuned.
const base = jsonl('base.jsonl', golds.map((g, i) => ({ question: `Question ${i}?`, completion: i < 2 ? `The answer is ${g}.` : 'The answer is 1.' })));
const tuned = jsonl('tuned.jsonl', golds.map((g, i) => ({ id: `p${i}`, completion: i < 4 ? `\\boxed{${g}}` : '\\boxed{21}', completionTokens: 100 + i })));

test('--predictions grades completions made elsewhere, writes results and prints the summary', () => {
  const r = cli('--predictions', tuned, '--input', input, '--out', 'tuned-results.jsonl');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /graded 5 of 5 problems of test\.jsonl with completions from tuned\.jsonl → tuned-results\.jsonl/);
  assert.match(r.stdout, /accuracy\s+80\.00% \(4\/5\)\s+95% CI/);
  assert.match(r.stdout, /mean 102\.0 per completion/);
  const lines = readFileSync(join(dir, 'tuned-results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => [l.id, l.extracted, l.gold, l.correct, l.completionTokens]), [
    ['p0', '18', '18', true, 100], ['p1', '3', '3', true, 101], ['p2', '70000', '70000', true, 102], ['p3', '540', '540', true, 103], ['p4', '21', '20', false, 104],
  ]);
  assert.equal(lines[0]!.question, 'Question 0?');
});

test('--predictions --json prints a machine-readable report, --limit grades the first problems only', () => {
  const r = cli('--predictions', base, '--input', input, '--limit', '3', '--json', '--out', 'base-results.jsonl');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { problems: number; graded: number; missing: number; summary: { count: number; correct: number; accuracy: number; wilson95: number[] } };
  assert.equal(report.problems, 3);
  assert.equal(report.graded, 3);
  assert.equal(report.missing, 0);
  assert.deepEqual([report.summary.count, report.summary.correct], [3, 2]);
  assert.equal(report.summary.wilson95.length, 2);
});

test('--predictions continues an existing results file and says so', () => {
  const r = cli('--predictions', base, '--input', input, '--out', 'base-results.jsonl');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /3 problems were already graded there/);
  assert.match(r.stdout, /40\.00% \(2\/5\)/);
});

test('--compare prints the paired difference with McNemar\'s exact p, and --json the numbers', () => {
  const r = cli('--compare', 'base-results.jsonl', 'tuned-results.jsonl');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\+40\.00 points over 5 paired problems/);
  // Discordant: 0 only-base, 2 only-tuned → p = 2 · (1/2)² = 0.5.
  assert.match(r.stdout, /right only in A: 0\s+right only in B: 2/);
  assert.match(r.stdout, /p = 0\.5000 \(two-sided\) — not significant/);
  const j = JSON.parse(cli('--compare', 'base-results.jsonl', 'tuned-results.jsonl', '--json').stdout) as Record<string, unknown>;
  assert.deepEqual([j.a, j.n, j.onlyA, j.onlyB, j.pValue], ['base-results.jsonl', 5, 0, 2, 0.5]);
});

test('user mistakes exit with status 2 and a message that says what to do', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /needs one of --model DIR, --predictions FILE or --compare/],
    [['--compare', 'base-results.jsonl'], /exactly two results files, got 1/],
    [['--predictions', base, '--compare', 'a', 'b'], /one of --model, --predictions, --compare/],
    [['--predictions', base], /needs --input/],
    [['--predictions', base, '--input', input, '--limit', 'ten'], /--limit must be a positive integer, got "ten"/],
    [['--predictions', jsonl('stray.jsonl', [{ id: 'p9', completion: '1' }]), '--input', input], /1 of 1 completions in stray\.jsonl match no problem in test\.jsonl/],
    [['--predictions', base, '--input', jsonl('nogold.jsonl', [{ question: 'Question 0?' }])], /have no gold answer/],
    [['--model', 'models/x', '--input', input], /generation is not wired yet/],
    [['--model', 'models/x', '--input', input, '--prompt', 'nonsense'], /--prompt nonsense: not a preset/],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});
