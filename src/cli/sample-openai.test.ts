import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyModelDir } from '../model/testing.js';
import { testTempDir } from '../testing/tmp.js';
import type { SampleRecord, TrajectoryRecord } from '../method/samples.js';

// Stage 1 through `lightreasoner serve` processes on the loopback, against the in-process run.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'bin/lightreasoner.js');
const work = testTempDir('lr-sample-openai-');
const env = { ...process.env, LIGHTREASONER_QUIET: '1' };
const expert = tinyModelDir({ hidden: 64, layers: 2 }, 31);
const amateur = tinyModelDir({ hidden: 32, layers: 1 }, 32);

interface Server { url: string; child: ChildProcess }
const servers: Server[] = [];
async function serve(model: string): Promise<Server> {
  const child = spawn(process.execPath, [bin, '--threads', '1', 'serve', '--model', model, '--port', '0', '--max-logprobs', '-1'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((res, rej) => {
    let out = '', err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) res(m[1]!);
    });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => rej(new Error(`serve exited with ${code}: ${err}`)));
  });
  const s = { url, child };
  servers.push(s);
  return s;
}
function stop(s: Server): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => { s.child.once('exit', () => res()); s.child.kill('SIGTERM'); });
}
after(async () => { for (const s of servers) await stop(s); });

const names = ['Natalia', 'Weng', 'Betty', 'Julie', 'James', 'Ken'];
const input = join(work, 'questions.jsonl');
writeFileSync(input, Array.from({ length: 18 }, (_, i) => `${JSON.stringify({ question: `${names[i % 6]} has ${12 + i} apples and buys ${i + 3} more. How many apples does ${names[i % 6]} have?` })}\n`).join(''));
const base = ['sample', '--expert', expert, '--amateur', amateur, '--input', input, '--max-new-tokens', '16', '--batch-size', '3', '--beta', '0.05'];
const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [bin, '--threads', '1', ...args], { cwd: root, encoding: 'utf8', env, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const lines = <T>(p: string): T[] => readFileSync(p, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
const traj = (out: string): string => out.replace(/\.jsonl$/, '.trajectories.jsonl');
const files = (out: string): string => readFileSync(out, 'utf8') + readFileSync(traj(out), 'utf8');

let E: Server, A: Server;
const inProcess = join(work, 'in-process.jsonl');
const single = join(work, 'single.jsonl');
before(async () => {
  [E, A] = await Promise.all([serve(expert), serve(amateur)]);
  // A server hands over no logits rows from decoding, so the Expert re-scores there: the in-process reference does the same.
  const r = cli(...base, '--out', inProcess, '--expert-rescore');
  assert.equal(r.status, 0, r.stderr);
  const h = cli(...base, '--out', single, '--expert-url', E.url, '--amateur-url', A.url);
  assert.equal(h.status, 0, h.stderr);
});

test('sample --backend openai against two serve processes writes the in-process samples (full-vocabulary mode)', () => {
  const want = lines<SampleRecord>(inProcess), got = lines<SampleRecord>(single);
  assert.ok(want.length > 10, `only ${want.length} kept steps`);
  assert.equal(got.length, want.length);
  want.forEach((w, i) => {
    const g = got[i]!;
    assert.deepEqual({ ...g, weights: 0, kl_divergence: 0 }, { ...w, weights: 0, kl_divergence: 0 });
    assert.ok(Math.abs(g.kl_divergence - w.kl_divergence) < 1e-5);
    w.weights.forEach((x, k) => assert.ok(Math.abs(x - g.weights[k]!) < 1e-5));
  });
  const wt = lines<TrajectoryRecord & { step_kl: number[] }>(traj(inProcess)), gt = lines<TrajectoryRecord & { step_kl: number[] }>(traj(single));
  assert.equal(gt.length, 18);
  wt.forEach((w, i) => {
    assert.deepEqual({ ...gt[i]!, step_kl: [] }, { ...w, step_kl: [] });
    w.step_kl.forEach((x, k) => assert.ok(Math.abs(x - gt[i]!.step_kl[k]!) <= 1e-5 * Math.max(1, Math.abs(x))));
  });
  const manifest = JSON.parse(readFileSync(single.replace(/\.jsonl$/, '.manifest.json'), 'utf8')) as { backend: string; approximation?: unknown };
  assert.equal(manifest.backend, 'openai');
  assert.equal(manifest.approximation, undefined);
});

test('sharded over two endpoints per model, with several requests in flight, the files are byte-identical to one endpoint\'s', async () => {
  const [E2, A2] = await Promise.all([serve(expert), serve(amateur)]);
  const out = join(work, 'sharded.jsonl');
  const r = cli(...base, '--out', out, '--expert-url', E.url, '--expert-url', E2.url, '--amateur-url', A.url, '--amateur-url', A2.url, '--max-in-flight', '2');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(files(out), files(single));
  await Promise.all([stop(E2), stop(A2)]);
});

test('an Amateur server killed mid-run is taken out of rotation and the run finishes with the same bytes', async () => {
  const [A2, A3] = await Promise.all([serve(amateur), serve(amateur)]);
  const out = join(work, 'killed-server.jsonl');
  const child = spawn(process.execPath, [bin, '--threads', '1', ...base, '--out', out, '--expert-url', E.url, '--amateur-url', A2.url, '--amateur-url', A3.url, '--max-in-flight', '1'], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  let doneAtKill = -1;
  for (;;) {
    if (existsSync(traj(out)) && lines(traj(out)).length >= 2) { doneAtKill = lines(traj(out)).length; break; }
    if (child.exitCode !== null) break;
    await new Promise((res) => setTimeout(res, 5));
  }
  await stop(A3);
  assert.equal(await exited, 0, stderr);
  assert.ok(doneAtKill >= 0 && doneAtKill < 18, `the server was killed after ${doneAtKill} of 18 questions`);
  assert.match(stderr, /taken out of rotation/);
  assert.equal(files(out), files(single));
  await stop(A2);
});

test('a client killed midway and started again writes the bytes of an uninterrupted run', async () => {
  const out = join(work, 'resumed.jsonl');
  const args = [bin, '--threads', '1', ...base, '--out', out, '--expert-url', E.url, '--amateur-url', A.url];
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'ignore' });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  let killedAt = -1;
  for (;;) {
    if (existsSync(traj(out)) && lines(traj(out)).length >= 4) { killedAt = lines(traj(out)).length; child.kill('SIGKILL'); break; }
    if (child.exitCode !== null) break;
    await new Promise((res) => setTimeout(res, 2));
  }
  await exited;
  assert.ok(killedAt > 0 && lines(traj(out)).length < 18, `killed after ${killedAt} questions`);
  const r = cli(...base, '--out', out, '--expert-url', E.url, '--amateur-url', A.url);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /were done by an earlier run/);
  assert.equal(files(out), files(single));
});

test('top-k mode marks every record and the manifest as approximate with its k, and a restart with another k is refused', () => {
  const out = join(work, 'top5.jsonl');
  const r = cli(...base, '--out', out, '--expert-url', E.url, '--amateur-url', A.url, '--server-logprobs', '5', '--max-questions', '9');
  assert.equal(r.status, 0, r.stderr);
  const recs = lines<SampleRecord>(out);
  assert.ok(recs.length > 0);
  assert.ok(recs.every((x) => x.kl_top_k === 5));
  const manifest = JSON.parse(readFileSync(out.replace(/\.jsonl$/, '.manifest.json'), 'utf8')) as { approximation: unknown };
  assert.deepEqual(manifest.approximation, { kl: 'top-k, uniform tail', top_k: 5 });
  const again = cli(...base, '--out', out, '--expert-url', E.url, '--amateur-url', A.url, '--server-logprobs', '20');
  assert.equal(again.status, 2);
  assert.match(again.stderr, /--server-logprobs: was 5, now 20/);
  const full = cli(...base, '--out', out, '--expert-url', E.url, '--amateur-url', A.url);
  assert.equal(full.status, 2);
  assert.match(full.stderr, /--server-logprobs: was 5, now "full"/);
});

test('eval --backend openai grades the greedy completions of a served model like the in-process eval', () => {
  const gold = join(work, 'gold.jsonl');
  writeFileSync(gold, Array.from({ length: 5 }, (_, i) => `${JSON.stringify({ question: `Ken has ${i + 2} apples. How many?`, answer: `#### ${i + 2}` })}\n`).join(''));
  const a = join(work, 'eval-in.jsonl'), b = join(work, 'eval-http.jsonl');
  const r1 = cli('eval', '--model', expert, '--input', gold, '--out', a, '--max-new-tokens', '12');
  assert.equal(r1.status, 0, r1.stderr);
  const r2 = cli('eval', '--model', expert, '--input', gold, '--out', b, '--max-new-tokens', '12', '--url', E.url);
  assert.equal(r2.status, 0, r2.stderr);
  type R = { id: string; completion: string; completionTokens?: number; extracted: string | null; correct: boolean };
  const pick = (p: string): unknown[] => lines<R>(p).map((x) => [x.id, x.completion, x.completionTokens, x.extracted, x.correct]);
  const want = pick(a);
  assert.equal(want.length, 5);
  assert.ok(lines<R>(a).every((x) => typeof x.completion === 'string' && x.completion.length > 0));
  assert.deepEqual(pick(b), want);
});
