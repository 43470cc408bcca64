import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.js';
import type { ProgressEvent } from '../util/progress.js';
import type { GoldQuestion } from '../data/questions.js';
import { formatSummary, summarizeResults, type Prediction } from './grade.js';
import { readDoneIds, readResults, runGrading } from './results.js';
import { testTempDir } from '../testing/tmp.js';

const dir = testTempDir('lr-results-');
let n = 0;
const outPath = (): string => join(dir, `run${n++}`, 'results.jsonl');

const questions: GoldQuestion[] = ['3', '5', '8', '13'].map((gold, i) => ({ id: `p${i}`, line: i + 1, question: `Q${i}`, gold }));
const right = (i: number): Prediction => ({ id: `p${i}`, completion: `\\boxed{${questions[i]!.gold}}`, completionTokens: 10 * (i + 1) });
const wrong = (i: number): Prediction => ({ id: `p${i}`, completion: 'The answer is 0.', completionTokens: 5 });

const fileLines = (p: string): Array<Record<string, unknown>> =>
  readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

test('runGrading writes one result line per problem as it goes and summarises them in input order', async () => {
  const out = outPath();
  const events: ProgressEvent[] = [];
  const outcome = await runGrading(questions, [wrong(2), right(0), right(1)], { out, onProgress: (e) => events.push(e) });
  assert.deepEqual(outcome.results.map((r) => [r.id, r.correct]), [['p0', true], ['p1', true], ['p2', false]]);
  assert.deepEqual(fileLines(out).map((r) => [r.id, r.correct, r.extracted, r.gold]), [['p2', false, '0', '8'], ['p0', true, '3', '3'], ['p1', true, '5', '5']]);
  assert.equal(outcome.summary.count, 3);
  assert.equal(outcome.summary.correct, 2);
  assert.equal(outcome.summary.meanCompletionTokens, (5 + 10 + 20) / 3);
  assert.equal('tokensPerSecond' in outcome.summary, false);
  assert.deepEqual(events.map((e) => [e.done, e.total]), [[1, 4], [2, 4], [3, 4]]);
});

test('a restarted run keeps what is in the results file, grades only the rest, and summarises both', async () => {
  const out = outPath();
  await runGrading(questions, [right(0), wrong(1)], { out });
  assert.deepEqual([...readDoneIds(out)].sort(), ['p0', 'p1']);
  // The second run is offered everything again (with p1 now right): done problems are skipped.
  const outcome = await runGrading(questions, [right(0), right(1), right(2), right(3)], { out });
  assert.equal(outcome.resumed, 2);
  assert.equal(outcome.graded, 2);
  assert.deepEqual(outcome.results.map((r) => [r.id, r.correct]), [['p0', true], ['p1', false], ['p2', true], ['p3', true]]);
  assert.deepEqual(fileLines(out).map((r) => r.id), ['p0', 'p1', 'p2', 'p3']);
});

test('a torn last line left by a killed run is repaired, reported, and that problem is graded again', async () => {
  const out = outPath();
  await runGrading(questions, [right(0)], { out });
  appendFileSync(out, '{"id": "p1", "correct": tr');
  assert.deepEqual([...readDoneIds(out)], ['p0']);
  const warnings: string[] = [];
  const outcome = await runGrading(questions, [right(1)], { out, onWarning: (m) => warnings.push(m) });
  assert.deepEqual(warnings, [`${out}: cut an incomplete last line (line 2, 26 bytes without a newline) left by an interrupted run (killed, or a full disk); that record is written again`]);
  assert.equal(outcome.graded, 1);
  assert.deepEqual(fileLines(out).map((r) => r.id), ['p0', 'p1']);
});

test('overwrite starts the results file afresh', async () => {
  const out = outPath();
  await runGrading(questions, [wrong(0), wrong(1)], { out });
  const outcome = await runGrading(questions, [right(0)], { out, overwrite: true });
  assert.equal(outcome.resumed, 0);
  assert.deepEqual(fileLines(out).map((r) => [r.id, r.correct]), [['p0', true]]);
});

test('a results file from another input, an unknown id or two completions for one problem are UserErrors', async () => {
  const out = outPath();
  await runGrading(questions, [right(0)], { out });
  const other: GoldQuestion[] = [{ id: 'z', line: 1, question: 'Z', gold: '1' }];
  await assert.rejects(runGrading(other, [], { out }), (e: unknown) => e instanceof UserError && /"p0", which is not in the input/.test(e.message));
  await assert.rejects(runGrading(questions, [{ id: 'nope', completion: '1' }]), (e: unknown) => e instanceof UserError && /"nope"/.test(e.message));
  await assert.rejects(runGrading(questions, [right(1), wrong(1)]), (e: unknown) => e instanceof UserError && /"p1" has two completions/.test(e.message));
});

test('without a results file nothing is written; an async source is consumed and timed for tokens/s', async () => {
  async function* generate(): AsyncGenerator<Prediction> {
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 5));
      yield right(i);
    }
  }
  const outcome = await runGrading(questions, generate(), { measureThroughput: true });
  assert.equal(outcome.summary.accuracy, 1);
  const tps = outcome.summary.tokensPerSecond!;
  // 100 tokens over at least 20 ms of "generation": at most 5,000 tokens/s, and surely more than 1.
  assert.ok(tps > 1 && tps <= 5000, `tokens/s ${tps}`);
});

test('the finish reason is written to the results file, read back, and feeds the format shares', async () => {
  const out = outPath();
  const outcome = await runGrading(questions, [{ ...right(0), finish: 'stop' }, { ...right(1), finish: 'length' }, right(2)], { out });
  assert.deepEqual(fileLines(out).map((r) => r.finish), ['stop', 'length', undefined]);
  assert.deepEqual(readResults(out).map((r) => r.finish), ['stop', 'length', undefined]);
  const f = outcome.summary.formats;
  assert.deepEqual([f.completions, f.finishKnown, f.boxed.count, f.wellFormed.count, f.hitsBudget.count], [3, 2, 3, 1, 1]);
});

test('the stop token and first-answer verdict are written, read back, and counted: a resumed or compared run keeps them', async () => {
  const out = outPath();
  await runGrading(questions, [{ ...right(0), finish: 'stop', stop: '<|im_end|>' }, { ...right(1), finish: 'stop', stop: '<|endoftext|>' }, { ...right(2), finish: 'stop', stop: '<|im_end|>' }], { out });
  const back = readResults(out);
  assert.deepEqual(back.map((r) => r.stop), ['<|im_end|>', '<|endoftext|>', '<|im_end|>']);
  assert.deepEqual(back.map((r) => r.firstAnswerCorrect), [true, true, true]);
  const f = summarizeResults(back).formats;
  assert.deepEqual(f.stopsAfterAnswerAt, { '<|im_end|>': 2, '<|endoftext|>': 1 });
  assert.deepEqual(f.firstAnswerCorrect, { count: 3, of: 3, share: 1 });
  assert.match(formatSummary(summarizeResults(back)), /stops after the answer\s+100\.00% \(3\/3\)\n\s+at\s+<\|im_end\|> 2, <\|endoftext\|> 1\n/);
  writeFileSync(out, `${JSON.stringify({ id: 'x', correct: true, stop: 5 })}\n`);
  assert.throws(() => readResults(out), /field "stop" must be a string/);
});

test('readResults names bad lines and repeated ids; readDoneIds of a missing file is empty', () => {
  const p = join(dir, 'bad-results.jsonl');
  writeFileSync(p, [
    JSON.stringify({ id: 'a', correct: true }),
    JSON.stringify({ id: 'b', correct: 'yes' }),
    JSON.stringify({ id: 'a', correct: false }),
    JSON.stringify({ id: 'c', correct: true, completionTokens: -1 }),
    JSON.stringify({ id: 'd', correct: true, finish: 'eos' }),
    '',
  ].join('\n'));
  assert.throws(() => readResults(p), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /has 4 bad lines/);
    assert.match(e.message, /:5: field "finish" must be one of "stop", "length", "context"/);
    assert.match(e.message, /:2: expected a boolean field "correct"/);
    assert.match(e.message, /:3: id "a" was already graded on line 1/);
    assert.match(e.message, /:4: field "completionTokens"/);
    return true;
  });
  assert.equal(readDoneIds(join(dir, 'never-written.jsonl')).size, 0);
});

test('a second eval process writing the same results file is refused naming the first, whose file stays one line per problem', async () => {
  const out = outPath();
  const input = join(dir, 'two-writers-input.jsonl'), predictions = join(dir, 'two-writers-predictions.jsonl');
  writeFileSync(input, questions.map((q) => `${JSON.stringify({ id: q.id, question: q.question, answer: `#### ${q.gold}` })}\n`).join(''));
  writeFileSync(predictions, questions.map((_, i) => `${JSON.stringify(right(i))}\n`).join(''));
  const bin = fileURLToPath(new URL('../../../bin/lightreasoner.js', import.meta.url));
  const seconds: Array<ReturnType<typeof spawnSync>> = [];
  async function* midway(): AsyncIterable<Prediction> {
    yield right(0);
    yield right(1);
    // The first run holds the file: real second processes, --predictions and --model, start on it.
    for (const args of [['--predictions', predictions], ['--model', dir, '--max-new-tokens', '4']]) {
      seconds.push(spawnSync(process.execPath, [bin, 'eval', ...args, '--input', input, '--out', out], { encoding: 'utf8', env: { ...process.env, LIGHTREASONER_QUIET: '1' } }));
    }
    yield right(2);
    yield right(3);
  }
  const outcome = await runGrading(questions, midway(), { out });
  assert.equal(outcome.graded, 4);
  for (const r of seconds) {
    assert.equal(r.status, 2, String(r.stderr));
    assert.match(String(r.stderr), new RegExp(`results\\.jsonl is being written by another run: pid ${process.pid} on `));
  }
  assert.deepEqual(fileLines(out).map((r) => r.id), ['p0', 'p1', 'p2', 'p3']);
});

/** A tiny tmpfs for a full-disk test, or null where this process may not mount one (not root, no CAP_SYS_ADMIN). */
function tinyFileSystem(kib: number): { dir: string; unmount: () => void } | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const dir = join(testTempDir('lr-enospc-'), 'fs');
  mkdirSync(dir);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir]).status !== 0) return null;
  return { dir, unmount: () => { spawnSync('umount', [dir]); } };
}

test('a disk that fills up mid-run stops with a clear error, leaves only whole results, and the same command continues once there is room', { skip: process.platform !== 'linux' || process.getuid?.() !== 0 ? 'needs root on Linux to mount a small tmpfs' : false }, async (t) => {
  const fs = tinyFileSystem(64);
  if (!fs) { t.skip('mount not permitted here'); return; }
  try {
    const out = join(fs.dir, 'results.jsonl');
    const filler = join(fs.dir, 'filler');
    writeFileSync(filler, Buffer.alloc(52 << 10));
    // Results of about 3 KiB each: the disk fills up within the first few.
    const long = (i: number): Prediction => ({ ...right(i), completion: `${'Step by step. '.repeat(220)}\\boxed{${questions[i]!.gold}}` });
    await assert.rejects(runGrading(questions, questions.map((_, i) => long(i)), { out }), (e: unknown) => e instanceof UserError
      && e.message.includes(`could not append to ${out}: no space left on device`) && /run the same command again to continue/.test(e.message));
    const text = readFileSync(out, 'utf8');
    assert.ok(text === '' || text.endsWith('\n'), 'only whole records are left');
    const kept = text.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { id: string }).id);
    assert.ok(kept.length < questions.length, `the disk filled up (${kept.length} written)`);
    rmSync(filler);
    const again = await runGrading(questions, questions.map((_, i) => long(i)), { out });
    assert.equal(again.resumed, kept.length);
    assert.deepEqual(fileLines(out).map((r) => r.id), [...kept, ...questions.map((q) => q.id).filter((id) => !kept.includes(id))]);
  } finally {
    fs.unmount();
  }
});
