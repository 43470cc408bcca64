import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyModelDir } from '../model/testing.js';
import type { SampleRecord, TrajectoryRecord } from '../method/samples.js';
import { runSample, type SampleStats } from '../method/sample.js';
import { openModel } from '../backends/open.js';
import { readQuestions } from '../data/questions.js';
import type { ScoreReport } from './score.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'bin/lightreasoner.js');
const work = mkdtempSync(join(tmpdir(), 'lr-sample-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

const env = { ...process.env, LIGHTREASONER_QUIET: '1' };
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env, maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const expert = tinyModelDir({ hidden: 64, layers: 2 }, 11);
const amateur = tinyModelDir({ hidden: 32, layers: 1 }, 12);

function writeLines(name: string, lines: string[]): string {
  const p = join(work, name);
  writeFileSync(p, lines.map((l) => `${l}\n`).join(''));
  return p;
}
function questionsFile(name: string, n: number): string {
  const names = ['Natalia', 'Weng', 'Betty', 'Julie', 'James', 'Ken'];
  const items = ['apples', 'clips', 'books', 'cookies', 'marbles'];
  return writeLines(name, Array.from({ length: n }, (_, i) => JSON.stringify({
    question: `${names[i % names.length]} has ${12 + i} ${items[i % items.length]}. How many ${items[i % items.length]} does ${names[i % names.length]} have?`,
    answer: `#### ${12 + i}`,
  })));
}
const readJsonl = <T>(p: string): T[] => readFileSync(p, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
const trajectoriesOf = (out: string): string => out.replace(/\.jsonl$/, '.trajectories.jsonl');
const manifestOf = (out: string): string => out.replace(/\.jsonl$/, '.manifest.json');

const input = questionsFile('questions.jsonl', 40);
const base = ['sample', '--expert', expert, '--amateur', amateur, '--input', input, '--max-new-tokens', '24', '--batch-size', '3'];

test('a run killed midway and started again with the same command writes exactly the files of an uninterrupted run', async () => {
  const whole = join(work, 'whole.jsonl');
  const r = cli(...base, '--beta', '3.5', '--out', whole);
  assert.equal(r.status, 0, r.stderr);

  const resumed = join(work, 'resumed.jsonl');
  const args = [bin, ...base, '--beta', '3.5', '--out', resumed];
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
  // Kill it once a few questions are on disk.
  for (;;) {
    const traj = trajectoriesOf(resumed);
    if (existsSync(traj) && readFileSync(traj, 'utf8').split('\n').length > 4) break;
    await new Promise((res) => setTimeout(res, 5));
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  const doneBeforeKill = readJsonl<TrajectoryRecord>(trajectoriesOf(resumed)).length;
  assert.ok(doneBeforeKill >= 4 && doneBeforeKill < 40, `killed after ${doneBeforeKill} of 40 questions`);

  const again = cli(...args.slice(1));
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /were done by an earlier run/);
  assert.ok(readFileSync(whole).equals(readFileSync(resumed)), 'samples files differ');
  assert.ok(readFileSync(trajectoriesOf(whole)).equals(readFileSync(trajectoriesOf(resumed))), 'trajectories differ');
  assert.ok(readJsonl<SampleRecord>(whole).length > 0);

  // A restart with other settings or another model is refused, and nothing is touched.
  const before = readFileSync(resumed);
  const beta = cli(...base, '--beta', '0.5', '--out', resumed);
  assert.equal(beta.status, 2);
  assert.match(beta.stderr, /started with other settings \(--beta: was 3\.5, now 0\.5\)\. Resume with the original arguments, or write to a new --out file/);
  const other = tinyModelDir({ hidden: 32, layers: 1 }, 13);
  const model = cli('sample', '--expert', expert, '--amateur', other, '--input', input, '--max-new-tokens', '24', '--batch-size', '3', '--beta', '3.5', '--out', resumed);
  assert.equal(model.status, 2);
  assert.match(model.stderr, /amateur model \(weights fingerprint\): was "sha256:/);
  assert.ok(readFileSync(resumed).equals(before));
  rmSync(other, { recursive: true, force: true });
});

test('a second sample process on the same --out is refused naming the first, and the first run\'s files are exactly an uninterrupted run\'s (nothing doubled)', async () => {
  const whole = join(work, 'whole.jsonl'); // written by the first test: same arguments
  const out = join(work, 'two-writers.jsonl');
  const expertModel = await openModel({ backend: 'engine', modelDir: expert });
  const amateurModel = await openModel({ backend: 'engine', modelDir: amateur });
  let second: { status: number | null; stdout: string; stderr: string } | null = null;
  await runSample({
    expert: expertModel, amateur: amateurModel, questions: readQuestions(input).questions, inputPath: input, out,
    settings: { alpha: 0.2, beta: 3.5, maxNewTokens: 24, batchSize: 3, systemPrompt: 'Please reason step by step.', firstStep: 0, label: 'contrastive', expertRescore: false },
    // While the first run is midway, a real second process starts on the same output.
    afterQuestion: (i) => { if (i === 4) second = cli(...base, '--beta', '3.5', '--out', out); },
  });
  const refused = second as { status: number | null; stderr: string } | null;
  assert.ok(refused, 'the second process ran');
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, new RegExp(`two-writers\\.jsonl is being written by another run: pid ${process.pid} on `));
  assert.ok(readFileSync(whole).equals(readFileSync(out)), 'samples differ from the uninterrupted run');
  assert.ok(readFileSync(trajectoriesOf(whole)).equals(readFileSync(trajectoriesOf(out))), 'trajectories differ from the uninterrupted run');
  assert.ok(!existsSync(`${out}.lock`), 'the lock is released');
});

test('resume cuts and reports a torn last sample line, and redoes a question whose sample lines do not match its kept count', () => {
  const whole = join(work, 'whole.jsonl');
  const out = join(work, 'damaged.jsonl');
  const traj = readJsonl<TrajectoryRecord>(trajectoriesOf(whole));
  const withKept = traj.find((t) => t.kept >= 2)!;
  const samples = readFileSync(whole, 'utf8').split('\n').filter((l) => l.trim() !== '');
  // A samples file that lost one line of question `withKept` (and the trajectories of everything up
  // to it), and a torn line from the next question at its end.
  const upTo = traj.filter((t) => t.index <= withKept.index);
  const kept = samples.filter((l) => (JSON.parse(l) as SampleRecord).trajectory! <= withKept.index);
  const missing = kept.findIndex((l) => (JSON.parse(l) as SampleRecord).trajectory === withKept.index);
  kept.splice(missing, 1);
  writeFileSync(out, `${kept.join('\n')}\n{"prompt_id": "cut`);
  writeFileSync(trajectoriesOf(out), upTo.map((t) => `${JSON.stringify(t)}\n`).join(''));
  writeFileSync(manifestOf(out), readFileSync(manifestOf(whole)));
  const r = cli(...base, '--beta', '3.5', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`question ${withKept.index} \\("${withKept.id}"\\) has ${withKept.kept - 1} sample lines? but its trajectory record .* kept ${withKept.kept}; the file was damaged, so that question is sampled again`));
  assert.match(r.stderr, /damaged\.jsonl: cut an incomplete last line \(line \d+, 18 bytes without a newline\)/);
  // Same records as the uninterrupted run (the redone question's lines come later in the files).
  const sortLines = (p: string): string[] => readFileSync(p, 'utf8').split('\n').filter((l) => l.trim() !== '').sort();
  assert.deepEqual(sortLines(out), sortLines(whole));
  assert.deepEqual(sortLines(trajectoriesOf(out)), sortLines(trajectoriesOf(whole)));
});

test('kept and rejected steps agree with KL and soft labels recomputed from `lightreasoner score`', () => {
  const out = join(work, 'checked.jsonl');
  const beta = 3.5, alpha = 0.2;
  const r = cli(...base, '--max-questions', '2', '--beta', String(beta), '--alpha', String(alpha), '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const samples = readJsonl<SampleRecord>(out);
  const traj = readJsonl<TrajectoryRecord & { step_kl: number[] }>(trajectoriesOf(out));
  const kept = samples.slice(0, 3);
  const rejected = traj.flatMap((t) => t.step_kl.map((kl, step) => ({ t, step, kl }))).filter((s) => s.kl < beta).slice(0, 3);
  assert.equal(kept.length, 3);
  assert.equal(rejected.length, 3);

  // Every next-token log-probability after prompt + generated[0..step), as `score` reports it.
  const distribution = (model: string, t: TrajectoryRecord, step: number): Float64Array => {
    const ids = [...t.prompt_token_ids, ...t.generated_token_ids.slice(0, step)];
    const s = cli('score', '--model', model, '--ids', ids.join(','), '--top-k', '100000', '--json');
    assert.equal(s.status, 0, s.stderr);
    const report = JSON.parse(s.stdout) as ScoreReport;
    const last = report.tokens.at(-1)!;
    const lp = new Float64Array(last.next.length).fill(NaN);
    for (const n of last.next) lp[n.id] = n.logprob;
    assert.ok(lp.every((x) => !Number.isNaN(x)), 'score listed the whole vocabulary');
    return lp;
  };
  const klOf = (lpE: Float64Array, lpA: Float64Array): number => lpE.reduce((a, le, i) => a + Math.exp(le) * (le - lpA[i]!), 0);
  const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

  for (const rec of kept) {
    const t = traj[rec.trajectory!]!;
    const lpE = distribution(expert, t, rec.step), lpA = distribution(amateur, t, rec.step);
    const kl = klOf(lpE, lpA);
    close(rec.kl_divergence, kl, `KL at trajectory ${t.index} step ${rec.step}`);
    assert.ok(kl >= beta);
    const maxE = Math.max(...lpE);
    const plausible = [...lpE.keys()].filter((a) => Math.exp(lpE[a]!) >= alpha * Math.exp(maxE));
    assert.deepEqual([...rec.token_ids].sort((a, b) => a - b), plausible);
    const z = plausible.reduce((s, a) => s + Math.exp(lpE[a]! - lpA[a]!), 0);
    rec.token_ids.forEach((a, k) => close(rec.weights[k]!, Math.exp(lpE[a]! - lpA[a]!) / z, `weight of token ${a}`));
  }
  for (const { t, step, kl: recorded } of rejected) {
    const kl = klOf(distribution(expert, t, step), distribution(amateur, t, step));
    assert.ok(kl < beta, `step ${step} of trajectory ${t.index} has KL ${kl}`);
    close(recorded, kl, `KL at trajectory ${t.index} step ${step}`);
    assert.ok(!samples.some((s) => s.trajectory === t.index && s.step === step));
  }
});

test('summary and --stats-json count questions, steps, kept steps and report throughput', () => {
  const out = join(work, 'stats.jsonl'), statsPath = join(work, 'stats.json');
  const r = cli(...base, '--max-questions', '4', '--beta', '3.5', '--out', out, '--stats-json', statsPath);
  assert.equal(r.status, 0, r.stderr);
  const stats = JSON.parse(readFileSync(statsPath, 'utf8')) as SampleStats;
  const samples = readJsonl<SampleRecord>(out);
  const traj = readJsonl<TrajectoryRecord & { step_kl: number[] }>(trajectoriesOf(out));
  assert.equal(stats.questions, 4);
  assert.equal(stats.skipped, 0);
  assert.equal(stats.keptSteps, samples.length);
  assert.equal(stats.generatedSteps, traj.reduce((a, t) => a + t.generated_token_ids.length, 0));
  assert.equal(stats.keptFraction, samples.length / traj.reduce((a, t) => a + t.step_kl.length, 0));
  assert.equal(stats.meanPlausibleSetSize, samples.reduce((a, s) => a + s.token_ids.length, 0) / samples.length);
  assert.equal(stats.klPercentiles.max, Math.max(...traj.flatMap((t) => t.step_kl)));
  assert.ok(stats.throughput.expertGenerationTokensPerSecond > 0 && stats.throughput.amateurScoringTokensPerSecond > 0);
  assert.match(r.stdout, new RegExp(`${stats.keptSteps} kept \\(${(100 * stats.keptFraction).toFixed(1)}%\\) at beta 3\\.5`));
  assert.match(r.stdout, /questions  4 sampled, 0 skipped/);
  assert.match(r.stdout, /KL\(pE‖pA\)  p10 [\d.]+  p25 [\d.]+  p50 [\d.]+/);
  assert.match(r.stdout, /questions\/s; expert generates [\d.]+ tokens\/s, its logits kept for the contrast \(no re-score\); amateur scores [\d.]+ tokens\/s/);
  assert.equal(stats.throughput.expertScoringTokensPerSecond, null);
  const rescored = cli(...base, '--max-questions', '1', '--beta', '3.5', '--expert-rescore', '--out', join(work, 'stats-rescored.jsonl'));
  assert.equal(rescored.status, 0, rescored.stderr);
  assert.match(rescored.stdout, /questions\/s; expert generates [\d.]+ tokens\/s, scores [\d.]+ tokens\/s; amateur scores [\d.]+ tokens\/s/);
});

test('an Expert and Amateur with different tokenizers are refused before any output is written, naming both', () => {
  const stranger = tinyModelDir({ hidden: 32, layers: 1, tokenizerVocab: 300 }, 14);
  const out = join(work, 'mismatch.jsonl');
  const r = cli('sample', '--expert', expert, '--amateur', stranger, '--input', input, '--out', out);
  assert.equal(r.status, 2);
  assert.ok(r.stderr.includes(`the expert tokenizer (${expert})`) && r.stderr.includes(`the amateur tokenizer (${stranger})`), r.stderr);
  assert.match(r.stderr, /do not share a tokenizer.*vocabulary sizes differ: .* has 320 ids, .* has 300/);
  for (const p of [out, trajectoriesOf(out), manifestOf(out)]) assert.ok(!existsSync(p), `${p} was written`);
  rmSync(stranger, { recursive: true, force: true });
});

test('malformed input lines stop the run with their line numbers, unless --skip-bad-lines; empty input is refused', () => {
  const good = (i: number): string => JSON.stringify({ id: `g${i}`, question: `Ken has ${i} apples. How many apples does Ken have?` });
  const bad = writeLines('bad.jsonl', [good(1), '{"question": ', good(2), JSON.stringify({ id: 'x', answer: '#### 3' }), good(3)]);
  const out = join(work, 'bad.jsonl.out.jsonl');
  const args = ['sample', '--expert', expert, '--amateur', amateur, '--input', bad, '--out', out, '--max-new-tokens', '4'];
  const refused = cli(...args);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /has 2 malformed lines:\n.*bad\.jsonl:2: not valid JSON.*\n.*bad\.jsonl:4: expected a "question" \(or "prompt"\) string field/);
  assert.ok(!existsSync(out) && !existsSync(manifestOf(out)));

  const skipped = cli(...args, '--skip-bad-lines');
  assert.equal(skipped.status, 0, skipped.stderr);
  assert.match(skipped.stderr, /warning: skipping 2 malformed lines of .*bad\.jsonl \(--skip-bad-lines\):\n.*:2: .*\n.*:4: /);
  assert.deepEqual(readJsonl<TrajectoryRecord>(trajectoriesOf(out)).map((t) => t.id), ['g1', 'g2', 'g3']);

  const empty = cli('sample', '--expert', expert, '--amateur', amateur, '--input', writeLines('empty.jsonl', []), '--out', join(work, 'empty-out.jsonl'));
  assert.equal(empty.status, 2);
  assert.match(empty.stderr, /question file .*empty\.jsonl is empty: expected one JSON object per line/);
});

test('a question longer than the context window is recorded as skipped with the reason, and the rest are sampled', () => {
  const small = tinyModelDir({ hidden: 32, layers: 1, maxPositions: 160 }, 15);
  const long = 'Ken has 12 apples and buys 3 times as many apples in May. '.repeat(6) + 'How many apples does Ken have?';
  const q = writeLines('long.jsonl', [
    JSON.stringify({ id: 'a', question: 'Ken has 12 apples. How many apples does Ken have?' }),
    JSON.stringify({ id: 'long', question: long }),
    JSON.stringify({ id: 'b', question: 'Julie has 24 books. How many books does Julie have?' }),
  ]);
  const out = join(work, 'long-out.jsonl'), statsPath = join(work, 'long-stats.json');
  const r = cli('sample', '--expert', expert, '--amateur', small, '--input', q, '--out', out, '--max-new-tokens', '8', '--beta', '0', '--stats-json', statsPath);
  assert.equal(r.status, 0, r.stderr);
  const traj = readJsonl<TrajectoryRecord>(trajectoriesOf(out));
  assert.deepEqual(traj.map((t) => [t.id, t.finish]), [['a', 'length'], ['long', 'skipped'], ['b', 'length']]);
  const skipped = traj[1]!;
  assert.match(skipped.skipped!, new RegExp(`^prompt has ${skipped.prompt_token_ids.length} tokens; the context window is 160$`));
  assert.ok(skipped.prompt_token_ids.length >= 160);
  assert.equal(skipped.kept, 0);
  // beta 0 keeps every step of the two sampled questions, none of the skipped one.
  assert.deepEqual([...new Set(readJsonl<SampleRecord>(out).map((s) => s.id))], ['a', 'b']);
  const stats = JSON.parse(readFileSync(statsPath, 'utf8')) as SampleStats;
  assert.equal(stats.skipped, 1);
  assert.deepEqual(stats.skippedQuestions, [{ index: 1, id: 'long', reason: skipped.skipped }]);
  assert.match(r.stdout, /questions  2 sampled, 1 skipped/);
  assert.match(r.stdout, /question 1 \("long"\): prompt has \d+ tokens; the context window is 160/);
  rmSync(small, { recursive: true, force: true });
});

test('a restart on a changed input is refused instead of pairing old work with new questions', () => {
  const out = join(work, 'changing.jsonl');
  const q = questionsFile('changing-input.jsonl', 3);
  const args = ['sample', '--expert', expert, '--amateur', amateur, '--input', q, '--out', out, '--max-new-tokens', '4'];
  assert.equal(cli(...args, '--max-questions', '2').status, 0);
  const lines = readFileSync(q, 'utf8').split('\n');
  writeFileSync(q, [lines[1], lines[0], lines[2]].join('\n') + '\n');
  const r = cli(...args);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /changing\.trajectories\.jsonl:1: question 0 was "q-[0-9a-f]+" when this output was started, but is "q-[0-9a-f]+" \(.*changing-input\.jsonl:1\) now; the input changed/);
});

test('bad option values are refused naming the option', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--alpha', '0'], /--alpha must be a number in \(0, 1\]/],
    [['--beta', '-1'], /--beta must be a finite number >= 0/],
    [['--beta', 'high'], /--beta must be a number, got "high"/],
    [['--batch-size', '0'], /--batch-size must be a positive integer, got "0"/],
    [['--first-step', '-2'], /--first-step must be a non-negative integer, got "-2"/],
    [['--label', 'soft'], /argument 'soft' is invalid. Allowed choices are contrastive, expert/],
  ];
  for (const [extra, message] of cases) {
    const r = cli(...base, '--out', join(work, 'never.jsonl'), ...extra);
    assert.notEqual(r.status, 0, extra.join(' '));
    assert.match(r.stderr, message, extra.join(' '));
  }
  assert.ok(!existsSync(join(work, 'never.jsonl')));
});

after(() => {
  for (const d of [expert, amateur]) rmSync(d, { recursive: true, force: true });
});

test('a question far beyond the context window is skipped without tokenizing it whole, and its record stays small', () => {
  // 4 MB of text: refused by its size before the tokenizer sees it; the record keeps 1,000 characters.
  const huge = `${'Natalia sold clips to 48 of her friends. '.repeat(100_000)}How many clips?`;
  const file = writeLines('huge.jsonl', [JSON.stringify({ id: 'huge', question: huge }), JSON.stringify({ id: 'small', question: 'Ken has 5 apples. How many apples does Ken have?' })]);
  const out = join(work, 'huge-samples.jsonl');
  const r = cli('sample', '--expert', expert, '--amateur', amateur, '--input', file, '--max-new-tokens', '8', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(trajectoriesOf(out), 'utf8').split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 2);
  const skipped = JSON.parse(lines[0]!) as TrajectoryRecord;
  assert.equal(skipped.finish, 'skipped');
  assert.match(skipped.skipped!, /the context window is/);
  assert.ok(lines[0]!.length < 2_000, `the skipped record is ${lines[0]!.length} bytes`);
  assert.match(skipped.question, new RegExp(`… \\[${huge.length} characters in all\\]$`));
  assert.notEqual((JSON.parse(lines[1]!) as TrajectoryRecord).finish, 'skipped');
});
