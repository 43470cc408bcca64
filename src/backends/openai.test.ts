import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tinyModelDir } from '../model/testing.js';
import { loadModel, type LanguageModel } from '../model/load.js';
import { startServer, type RunningServer } from '../serve/server.js';
import { EngineBackend } from './engine.js';
import { OpenAIBackend, fillLogprobRow, topKLogprobs, type LocalModel, type RemoteOptions } from './openai.js';
import { ContrastScratch, contrastStep, type ContrastOptions, type StepContrast } from '../method/contrast.js';
import { logSoftmaxRow } from '../engine/ops/loss.js';
import { UserError } from '../util/errors.js';

let lm: LanguageModel;
let local: LocalModel;
let full: RunningServer;
let capped: RunningServer;
const closers: Array<() => Promise<void>> = [];
before(async () => {
  lm = await loadModel(tinyModelDir({ hidden: 32, layers: 1, maxPositions: 48 }, 21));
  local = { dir: lm.dir, tokenizer: lm.tokenizer, config: lm.config, stopIds: lm.stopIds };
  full = await startServer(lm, { port: 0, limits: { maxLogprobs: -1 } });
  capped = await startServer(lm, { port: 0 }); // vLLM's default --max-logprobs 20
  closers.push(full.close, capped.close);
});
after(async () => { for (const c of closers) await c(); });

const open = (urls: string[], o: Partial<RemoteOptions> = {}): Promise<OpenAIBackend> => OpenAIBackend.open({ urls, what: 'the test server', backoffMs: 5, ...o }, local);
const prompts = (): number[][] => ['Natalia has 12 apples.', 'Ken', 'How many clips does Weng have?'].map((t) => lm.tokenizer.encode(t));

function contrastTrajectory(e: Float32Array, a: Float32Array, T: number, V: number, o: ContrastOptions): StepContrast[] {
  const scratch = new ContrastScratch(V);
  return Array.from({ length: T }, (_, t) => contrastStep(e, t * V, a, t * V, o, scratch));
}

function logSoftmaxRows(x: Float32Array, T: number, V: number): Float32Array {
  const out = new Float32Array(T * V);
  for (let t = 0; t < T; t++) logSoftmaxRow(x, t * V, V, out, t * V);
  return out;
}

test('full-vocabulary mode: distributions, KL, plausible sets and soft labels equal the engine\'s to 1e-5', async () => {
  const b = await open([full.url]);
  assert.equal(b.logprobsTopK, null);
  const engine = new EngineBackend(lm.model);
  const V = lm.config.vocabSize;
  for (const p of prompts()) {
    const [gen] = await engine.generateGreedy([p], { maxNewTokens: 12, stopIds: [] });
    const T = gen!.tokens.length;
    const want = logSoftmaxRows(await engine.stepLogits(p, gen!.tokens), T, V);
    const got = await b.stepLogits(p, gen!.tokens);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `entry ${i}: ${got[i]} vs ${want[i]}`);
    for (const label of ['contrastive', 'expert'] as const) {
      const o = { plausibilityAlpha: 0.2, beta: 0, label };
      const a = contrastTrajectory(want, want.map((x, i) => x + Math.sin(i)), T, V, o);
      const c = contrastTrajectory(got, got.map((x, i) => x + Math.sin(i)), T, V, o);
      a.forEach((s, t) => {
        assert.ok(Math.abs(s.klDivergence - c[t]!.klDivergence) < 1e-5);
        assert.deepEqual(c[t]!.tokenIds, s.tokenIds);
        s.weights.forEach((w, k) => assert.ok(Math.abs(w - c[t]!.weights[k]!) < 1e-5));
      });
    }
  }
});

test('greedy generation over HTTP gives the engine\'s tokens and finish reasons, "context" included', async () => {
  const b = await open([full.url]);
  const engine = new EngineBackend(lm.model);
  const long = Array.from({ length: 44 }, (_, i) => lm.tokenizer.encode(' 12')[0]! + (i % 3));
  const ps = [...prompts(), long];
  for (const stopIds of [lm.stopIds, []]) {
    const want = await engine.generateGreedy(ps, { maxNewTokens: 10, stopIds, batchSize: 4 });
    const got = await b.generateGreedy(ps, { maxNewTokens: 10, stopIds, batchSize: 4 });
    assert.deepEqual(got, want);
    assert.equal(got[3]!.finish, 'context');
  }
});

test('a server whose tokenizer differs is refused before any work, naming both', async () => {
  const other = await loadModel(tinyModelDir({ hidden: 32, layers: 1, tokenizerVocab: 300 }, 22));
  const srv = await startServer(other, { port: 0, limits: { maxLogprobs: -1 } });
  closers.push(srv.close);
  await assert.rejects(open([srv.url]), (e: unknown) => e instanceof UserError && e.message.includes(srv.url) && e.message.includes(lm.dir) && /encodes the probe/.test(e.message));
});

test('a server whose vocabulary is wider is refused, in full and in top-k mode', async () => {
  const wide = await loadModel(tinyModelDir({ hidden: 32, layers: 1, vocab: 400 }, 23));
  const srv = await startServer(wide, { port: 0, limits: { maxLogprobs: -1 } });
  closers.push(srv.close);
  await assert.rejects(open([srv.url]), (e: unknown) => e instanceof UserError && new RegExp(`over 400 ids.*vocab_size is ${lm.config.vocabSize}`).test(e.message));
  await assert.rejects(open([srv.url], { logprobs: 5 }), (e: unknown) => e instanceof UserError && /accepts token id/.test(e.message));
});

test('full mode against a server capped at 20 log-probabilities says how to lift the cap', async () => {
  await assert.rejects(open([capped.url]), (e: unknown) => e instanceof UserError && /--max-logprobs -1/.test(e.message));
});

test('top-k mode: rows are the server\'s top k with the uniform tail — what the measurement tool simulates — and k = V is exact', async () => {
  const engine = new EngineBackend(lm.model);
  const V = lm.config.vocabSize;
  const p = prompts()[0]!;
  const [gen] = await engine.generateGreedy([p], { maxNewTokens: 8, stopIds: [] });
  const T = gen!.tokens.length;
  const exact = logSoftmaxRows(await engine.stepLogits(p, gen!.tokens), T, V);
  const b = await open([capped.url], { logprobs: 5 });
  assert.equal(b.logprobsTopK, 5);
  const got = await b.stepLogits(p, gen!.tokens);
  const sim = new Float32Array(T * V);
  for (let t = 0; t < T; t++) fillLogprobRow(topKLogprobs(exact, t * V, V, 5, gen!.tokens[t]!), V, sim, t * V, 5, 'sim');
  for (let i = 0; i < sim.length; i++) assert.ok(Math.abs(got[i]! - sim[i]!) < 1e-5, `entry ${i}`);
  const all = await open([full.url], { logprobs: V });
  const gotAll = await all.stepLogits(p, gen!.tokens);
  for (let i = 0; i < exact.length; i++) assert.ok(Math.abs(gotAll[i]! - exact[i]!) < 1e-5);
});

/** A proxy in front of `target` that fails the first `failures` requests with `how`. */
async function flakyProxy(target: string, failures: number, how: 503 | 429 | 'drop'): Promise<{ url: string; seen: () => number }> {
  let n = 0;
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      n++;
      if (n <= failures) {
        if (how === 'drop') { req.socket.destroy(); return; }
        res.writeHead(how, { 'content-type': 'application/json', ...(how === 429 ? { 'retry-after': '0' } : {}) });
        res.end(JSON.stringify({ error: { message: 'busy', type: 'ServiceUnavailableError', param: null, code: how } }));
        return;
      }
      const body = Buffer.concat(chunks);
      void fetch(`${target}${req.url}`, { method: req.method, ...(req.method === 'POST' ? { body, headers: { 'content-type': 'application/json' } } : {}) }).then(async (r) => {
        const text = await r.text();
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(text);
      });
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); }));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen: () => n };
}

test('429, 5xx and dropped connections are retried with backoff and the answers are unchanged', async () => {
  const ref = await open([full.url]);
  const want = await ref.generateGreedy(prompts(), { maxNewTokens: 6, stopIds: lm.stopIds });
  for (const how of [503, 429, 'drop'] as const) {
    const proxy = await flakyProxy(full.url, 2, how);
    const b = await open([proxy.url], { maxConsecutiveFailures: 10 });
    assert.deepEqual(await b.generateGreedy(prompts(), { maxNewTokens: 6, stopIds: lm.stopIds }), want);
    assert.equal(b.pool.stats.retries, 2, String(how));
  }
});

test('a dead endpoint is taken out of rotation and the live one does the work; none left is a clear error', async () => {
  const dead = await new Promise<string>((res) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
      s.close(() => res(url));
    });
  });
  const b = await open([dead, full.url], { maxConsecutiveFailures: 1, maxInFlight: 1 });
  const ref = await open([full.url]);
  for (const p of prompts()) {
    const [g] = await b.generateGreedy([p], { maxNewTokens: 5, stopIds: [] });
    assert.deepEqual(await b.stepLogits(p, g!.tokens), await ref.stepLogits(p, g!.tokens));
  }
  assert.deepEqual(b.pool.stats.removed.map((r) => r.url), [`${dead}/`]);
  await assert.rejects(open([dead], { retries: 1 }), (e: unknown) => e instanceof UserError && e.message.includes(dead));
});

test('a malformed answer is reported naming the endpoint that sent it, not the first of the pool', async () => {
  // In front of the good server: scoring requests of more than 3 ids come back without their
  // prompt log-probabilities (the probes that open() sends are shorter, and pass).
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const sent = body.length > 0 ? JSON.parse(body.toString('utf8')) as { prompt?: unknown; max_tokens?: number } : {};
      const corrupt = sent.max_tokens === 0 && Array.isArray(sent.prompt) && sent.prompt.length > 3;
      void fetch(`${full.url}${req.url}`, { method: req.method, ...(req.method === 'POST' ? { body, headers: { 'content-type': 'application/json' } } : {}) }).then(async (r) => {
        const json = await r.json() as { choices?: Array<Record<string, unknown>> };
        if (corrupt) for (const c of json.choices ?? []) delete c.prompt_logprobs;
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      });
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); }));
  const bad = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const b = await open([full.url, bad], { maxInFlight: 1 });
  const p = prompts()[0]!;
  // Requests take turns between the two endpoints: within two, one reaches the bad one.
  const errors: string[] = [];
  for (let i = 0; i < 2; i++) {
    try {
      await b.stepLogits(p, [1, 2]);
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  assert.equal(errors.length, 1, 'one of the two requests went to the bad endpoint');
  assert.match(errors[0]!, new RegExp(`^${bad}/v1/completions: expected prompt log-probabilities`));
  assert.ok(!errors[0]!.includes(full.url), errors[0]);
});

test('a request the server refuses (4xx) is reported at once, not retried', async () => {
  const b = await open([full.url]);
  await assert.rejects(b.stepLogits([1, 2], [lm.config.vocabSize + 5]), /outside the vocabulary/); // caught locally
  const before = b.pool.stats.retries;
  await assert.rejects(b.pool.request('/v1/completions', { prompt: [1], max_tokens: 1, temperature: 0.5 }), (e: unknown) => e instanceof UserError && /HTTP 400.*temperature/.test(e.message));
  assert.equal(b.pool.stats.retries, before);
});

test('--server-api sglang (/generate, logprob_start_len, top_logprobs_num) gives what the vLLM API gives, full and top-k', async () => {
  const V = lm.config.vocabSize;
  // The SGLang probe sends its text through /generate, so the served context must hold it.
  const roomy = await startServer(await loadModel(tinyModelDir({ hidden: 32, layers: 1, maxPositions: 256 }, 25)), { port: 0, limits: { maxLogprobs: -1 } });
  closers.push(roomy.close);
  for (const logprobs of ['full', 7] as const) {
    const viaVllm = await open([roomy.url], { logprobs });
    const viaSglang = await open([roomy.url], { logprobs, api: 'sglang' });
    assert.equal(viaSglang.logprobsTopK, logprobs === 'full' ? null : 7);
    const gens = await viaSglang.generateGreedy(prompts(), { maxNewTokens: 9, stopIds: lm.stopIds });
    assert.deepEqual(gens, await viaVllm.generateGreedy(prompts(), { maxNewTokens: 9, stopIds: lm.stopIds }));
    for (const [i, p] of prompts().entries()) {
      const a = await viaSglang.stepLogits(p, gens[i]!.tokens), b = await viaVllm.stepLogits(p, gens[i]!.tokens);
      assert.equal(a.length, gens[i]!.tokens.length * V);
      assert.deepEqual(a, b);
    }
  }
  const other = await loadModel(tinyModelDir({ hidden: 32, layers: 1, tokenizerVocab: 300, maxPositions: 256 }, 24));
  const srv = await startServer(other, { port: 0, limits: { maxLogprobs: -1 } });
  closers.push(srv.close);
  await assert.rejects(open([srv.url], { api: 'sglang' }), /encodes the probe/);
});
