import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyModelDir } from '../model/testing.js';
import { wilsonInterval } from '../eval/stats.js';
import { testTempDir } from '../testing/tmp.js';
import { summarizeFormats, type FormatSummary } from '../eval/formats.js';

const bin = fileURLToPath(new URL('../../../bin/lightreasoner.js', import.meta.url));
const dir = testTempDir('lr-eval-cli-');

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

test('eval prints the format shares with their counts, and --json carries them', () => {
  // A base-model-like run: boxed and stopped (right), boxed then a new question (wrong),
  // "The answer is" only (right), cut by the budget, no answer at all.
  const formats = jsonl('formats.jsonl', [
    { id: 'p0', completion: 'So \\boxed{18}', finish: 'stop', stop_reason: '<|im_end|>' },
    { id: 'p1', completion: '\\boxed{4}\n\nQuestion: Sam has 5 pens. How many pens?\nAnswer: \\boxed{5}', finish: 'stop' },
    { id: 'p2', completion: 'The answer is 70000.', finish_reason: 'stop', stop: '<|endoftext|>' },
    { id: 'p3', completion: 'First, 5 times', finish_reason: 'length' },
    { id: 'p4', completion: 'I cannot tell.', finish: 'stop' },
  ]);
  const r = cli('--predictions', formats, '--input', input);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /accuracy\s+40\.00% \(2\/5\)/);
  assert.match(r.stdout, /format +shares of the 5 completions/);
  assert.match(r.stdout, /\\boxed\{\} answer\s+40\.00% \(2\/5\)\n/);
  assert.match(r.stdout, /stops after the answer\s+40\.00% \(2\/5\)\n\s+at\s+<\|endoftext\|> 1, <\|im_end\|> 1\n/);
  assert.match(r.stdout, /runs on into a new problem\s+20\.00% \(1\/5\)\n/);
  assert.match(r.stdout, /hits the token budget\s+20\.00% \(1\/5\)\n/);
  assert.match(r.stdout, /well-formed \(boxed, stops\)\s+20\.00% \(1\/5\)\n/);
  assert.match(r.stdout, /accuracy when well-formed\s+100\.00% \(1\/1\)/);
  const j = JSON.parse(cli('--predictions', formats, '--input', input, '--json').stdout) as { summary: { formats: FormatSummary } };
  const f = j.summary.formats;
  assert.deepEqual([f.completions, f.finishKnown, f.boxed.count, f.stopsAfterAnswer.count, f.runsOn.count, f.hitsBudget.count, f.wellFormed.count], [5, 5, 2, 2, 1, 1, 1]);
  assert.deepEqual(f.wellFormedAccuracy, { count: 1, of: 1, share: 1 });
  assert.deepEqual(f.stopsAfterAnswerAt, { '<|im_end|>': 1, '<|endoftext|>': 1 });
  // The first answer: p0 (18) and p2 (70000) right; p1's first box (4) is not its problem's gold.
  assert.deepEqual(f.firstAnswerCorrect, { count: 2, of: 5, share: 0.4 });
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
  // Base says "The answer is", tuned boxes: the boxed share moves 0 → 5 of 5.
  assert.match(r.stdout, /format +A → B over the 5 paired problems\n\s+\\boxed\{\} answer\s+0\.00% \(0\/5\)\s+→ 100\.00% \(5\/5\)/);
  const j = JSON.parse(cli('--compare', 'base-results.jsonl', 'tuned-results.jsonl', '--json').stdout) as Record<string, unknown> & { formats: { a: FormatSummary; b: FormatSummary } };
  assert.deepEqual([j.a, j.n, j.onlyA, j.onlyB, j.pValue], ['base-results.jsonl', 5, 0, 2, 0.5]);
  assert.deepEqual([j.formats.a.boxed.count, j.formats.b.boxed.count, j.formats.b.finishKnown], [0, 5, 0]);
});

test('--compare refuses a results file whose last line was cut off, naming the file and line', () => {
  const whole = readFileSync(join(dir, 'tuned-results.jsonl'), 'utf8');
  writeFileSync(join(dir, 'torn-results.jsonl'), whole.slice(0, whole.trimEnd().lastIndexOf('\n') + 20));
  const r = cli('--compare', 'base-results.jsonl', 'torn-results.jsonl');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /torn-results\.jsonl:5: the last line is cut off/);
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
    [['--model', 'models/x', '--input', input], /model 'models\/x' not found: no such directory/],
    [['--model', 'models/x', '--input', input, '--prompt', 'nonsense'], /--prompt nonsense: not a preset/],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

// ---- eval --model: generation with our engine on a tiny random model ----

const model = tinyModelDir({ hidden: 32, layers: 2 }, 31);
after(() => rmSync(model, { recursive: true, force: true }));
const texts = ['Ken has 12 apples. How many apples?', 'Julie buys 24 books in May.', 'Betty has 3 clips and 48 pages.', 'Mark has 120 marbles.', 'Weng has 365 cookies. How many cookies?'];
const gen = ['--model', model, '--max-new-tokens', '16', '--batch-size', '2'];
interface ModelReport { problems: number; graded: number; resumed: number; summary: { count: number; correct: number; accuracy: number; wilson95: number[]; meanCompletionTokens: number; tokensPerSecond: number; formats: FormatSummary } }
const results = (name: string): Array<{ id: string; completion: string; extracted: string | null; gold: string; correct: boolean; completionTokens: number; finish: 'stop' | 'length' }> =>
  readFileSync(join(dir, name), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('eval --model generates, grades and summarises; the summary agrees with the results file', () => {
  // First pass with unreachable golds: learn what the model answers, then make some golds right.
  const probe = cli(...gen, '--input', jsonl('probe.jsonl', texts.map((question, i) => ({ id: `m${i}`, question, answer: '-987654' }))), '--out', 'probe-results.jsonl');
  assert.equal(probe.status, 0, probe.stderr);
  const answered = results('probe-results.jsonl');
  const golds = answered.map((r, i) => (i % 2 === 0 && r.extracted !== null ? r.extracted : '-987654'));
  assert.ok(golds.some((g) => g !== '-987654'), 'the model answered something on an even problem');
  jsonl('model-test.jsonl', texts.map((question, i) => ({ id: `m${i}`, question, answer: golds[i] })));

  const r = cli(...gen, '--input', 'model-test.jsonl', '--out', 'model-results.jsonl', '--json');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as ModelReport;
  const lines = results('model-results.jsonl');
  assert.deepEqual(lines.map((l) => l.id), ['m0', 'm1', 'm2', 'm3', 'm4']);
  assert.deepEqual(lines.map((l) => l.completion), answered.map((l) => l.completion));
  assert.deepEqual(lines.map((l) => l.correct), golds.map((g) => g !== '-987654'));
  for (const l of lines) {
    assert.ok(l.completionTokens >= 1 && l.completionTokens <= 16);
    assert.ok(!/<\|im_(start|end)\|>|<\|endoftext\|>/.test(l.completion), 'special tokens are not in the completion');
    // Each result says why generation ended: a stop id, or the 16-token budget.
    assert.ok(l.finish === 'stop' || (l.finish === 'length' && l.completionTokens === 16), JSON.stringify(l));
  }
  const correct = lines.filter((l) => l.correct).length;
  const s = report.summary;
  assert.deepEqual([report.problems, report.graded, report.resumed, s.count, s.correct], [5, 5, 0, 5, correct]);
  assert.equal(s.accuracy, correct / 5);
  assert.deepEqual(s.wilson95, wilsonInterval(correct, 5));
  assert.equal(s.meanCompletionTokens, lines.reduce((a, l) => a + l.completionTokens, 0) / 5);
  assert.ok(s.tokensPerSecond > 0);
  // The format shares are those of the results file, every finish reason known.
  assert.deepEqual(s.formats, summarizeFormats(lines));
  assert.equal(s.formats.finishKnown, 5);
  assert.equal(s.formats.hitsBudget.count, lines.filter((l) => l.finish === 'length').length);
});

test('eval --model continues an interrupted results file to exactly the uninterrupted one, and refuses other settings', () => {
  const whole = readFileSync(join(dir, 'model-results.jsonl'), 'utf8');
  const lines = whole.split('\n');
  // Killed while writing the third result: two whole lines and a torn one.
  writeFileSync(join(dir, 'resumed.jsonl'), `${lines[0]}\n${lines[1]}\n${lines[2]!.slice(0, 25)}`);
  copyFileSync(join(dir, 'model-results.manifest.json'), join(dir, 'resumed.manifest.json'));
  const r = cli(...gen, '--input', 'model-test.jsonl', '--out', 'resumed.jsonl');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(join(dir, 'resumed.jsonl'), 'utf8'), whole);
  assert.match(r.stderr, /resumed\.jsonl: 2 problems were already graded there/);
  assert.match(r.stderr, /resumed\.jsonl: cut an incomplete last line \(line 3, 25 bytes without a newline\) left by an interrupted run/);
  const correct = results('resumed.jsonl').filter((l) => l.correct).length;
  assert.match(r.stdout, new RegExp(`evaluated 5 of 5 problems of model-test\\.jsonl with .* \\(prompt qwen25-math-cot, greedy\\) → resumed\\.jsonl\\naccuracy\\s+${(20 * correct).toFixed(2)}% \\(${correct}/5\\)\\s+95% CI .* \\(Wilson\\)\\ntokens\\s+mean [\\d.]+ per completion\\s+[\\d.]+ tokens/s\\nformat +shares of the 5 completions`));
  assert.match(r.stdout, /hits the token budget\s+[\d.]+% \(\d\/5\)/);

  const other = cli(...gen.slice(0, 2), '--max-new-tokens', '17', '--batch-size', '2', '--input', 'model-test.jsonl', '--out', 'resumed.jsonl');
  assert.equal(other.status, 2);
  assert.match(other.stderr, /resumed\.jsonl was started with other settings \(--max-new-tokens: was 16, now 17\)\. Continue it with the original arguments, use --overwrite/);
  const foreign = cli(...gen, '--input', 'test.jsonl', '--out', 'tuned-results.jsonl');
  assert.equal(foreign.status, 2);
  assert.match(foreign.stderr, /tuned-results\.jsonl already has results but no manifest/);
  assert.equal(readFileSync(join(dir, 'resumed.jsonl'), 'utf8'), whole);
});

// ---- contrastive decoding baseline ----

const cdAmateur = tinyModelDir({ hidden: 16, layers: 1 }, 32);
after(() => rmSync(cdAmateur, { recursive: true, force: true }));

test('eval --amateur (contrastive decoding) with --cd-beta 0 reproduces plain greedy; beta > 0 contrasts and is kept in the manifest', () => {
  const plain = cli(...gen, '--input', 'model-test.jsonl', '--out', 'cd-plain.jsonl');
  assert.equal(plain.status, 0, plain.stderr);
  const zero = cli(...gen, '--input', 'model-test.jsonl', '--out', 'cd-zero.jsonl', '--amateur', cdAmateur, '--cd-beta', '0');
  assert.equal(zero.status, 0, zero.stderr);
  assert.deepEqual(results('cd-zero.jsonl').map((l) => l.completion), results('cd-plain.jsonl').map((l) => l.completion));
  const one = cli(...gen, '--input', 'model-test.jsonl', '--out', 'cd-one.jsonl', '--amateur', cdAmateur, '--cd-beta', '1', '--cd-alpha', '0.05');
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /contrastive decoding/);
  assert.notDeepEqual(results('cd-one.jsonl').map((l) => l.completion), results('cd-plain.jsonl').map((l) => l.completion));
  // Continuing a CD results file with other CD settings is refused.
  const again = cli(...gen, '--input', 'model-test.jsonl', '--out', 'cd-one.jsonl', '--amateur', cdAmateur, '--cd-beta', '0.5');
  assert.equal(again.status, 2);
  assert.match(again.stderr, /contrastive decoding/);
  const noAmateur = cli(...gen, '--input', 'model-test.jsonl', '--cd-beta', '0.5');
  assert.equal(noAmateur.status, 2);
  assert.match(noAmateur.stderr, /need --amateur/);
});
