import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { tinyModelDir } from '../model/testing.js';
import { loadModel, type LanguageModel } from '../model/load.js';
import { generateGreedy } from '../model/generate.js';
import { packSequences } from '../model/transformer.js';
import { logSoftmaxRow } from '../engine/ops/loss.js';
import { startServer, type RunningServer } from './server.js';

let lm: LanguageModel;
let srv: RunningServer;
before(async () => {
  lm = await loadModel(tinyModelDir({ hidden: 32, layers: 1, maxPositions: 64 }, 5));
  srv = await startServer(lm, { port: 0, limits: { maxLogprobs: -1 }, maxBodyBytes: 1 << 16 });
});
after(async () => { await srv.close(); });

async function post(path: string, body: unknown, raw = false): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${srv.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ? (body as string) : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : JSON.parse(text) as Record<string, unknown> };
}
type Choice = { index: number; text: string; token_ids: number[] | null; finish_reason: string; stop_reason: unknown; logprobs: { tokens: string[]; token_logprobs: Array<number | null>; top_logprobs: Array<Record<string, number> | null>; text_offset: number[] } | null; prompt_logprobs: Array<Record<string, { logprob: number; rank: number; decoded_token: string }> | null> | null };

function exactLogprobs(seq: number[]): Float32Array {
  const V = lm.config.vocabSize;
  const logits = lm.model.forward(packSequences([seq]), { logitRows: 'all' }).logits;
  const out = new Float32Array(seq.length * V);
  for (let r = 0; r < seq.length; r++) logSoftmaxRow(logits, r * V, V, out, r * V);
  return out;
}

test('generation answers in vLLM\'s shape with the engine\'s greedy tokens, stop ids included, and top-k log-probabilities', async () => {
  const prompts = [lm.tokenizer.encode('Natalia has 12 apples.'), lm.tokenizer.encode('How many clips')];
  const r = await post('/v1/completions', { model: srv.modelName, prompt: prompts, max_tokens: 9, temperature: 0, logprobs: 3, return_tokens_as_token_ids: true, return_token_ids: true, stop_token_ids: [] });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json).sort(), ['choices', 'created', 'id', 'kv_transfer_params', 'model', 'object', 'service_tier', 'system_fingerprint', 'usage']);
  assert.equal(r.json.object, 'text_completion');
  assert.match(String(r.json.id), /^cmpl-[0-9a-f]{32}$/);
  const want = generateGreedy(lm.model, prompts, { maxNewTokens: 9, stopIds: lm.stopIds });
  const choices = r.json.choices as Choice[];
  choices.forEach((c, i) => {
    assert.deepEqual(Object.keys(c).sort(), ['finish_reason', 'index', 'logprobs', 'prompt_logprobs', 'prompt_token_ids', 'stop_reason', 'text', 'token_ids']);
    assert.equal(c.index, i);
    assert.deepEqual(c.token_ids, want[i]!.tokens);
    assert.deepEqual(c.logprobs!.tokens, want[i]!.tokens.map((t) => `token_id:${t}`));
    assert.equal(c.finish_reason, want[i]!.finish === 'stop' ? 'stop' : 'length');
    const exact = exactLogprobs([...prompts[i]!, ...want[i]!.tokens]);
    const V = lm.config.vocabSize;
    want[i]!.tokens.forEach((t, k) => {
      const row = (prompts[i]!.length - 1 + k) * V;
      assert.ok(Math.abs(c.logprobs!.token_logprobs[k]! - exact[row + t]!) < 1e-5);
      // greedy: the chosen token is the top-1, and 3 others besides it at most
      const top = c.logprobs!.top_logprobs[k]!;
      assert.ok(Object.keys(top).length <= 4 && Object.values(top).every((v) => v <= c.logprobs!.token_logprobs[k]! + 1e-6));
    });
  });
  const usage = r.json.usage as Record<string, number>;
  assert.equal(usage.prompt_tokens, prompts[0]!.length + prompts[1]!.length);
  assert.equal(usage.total_tokens, usage.prompt_tokens! + usage.completion_tokens!);
});

test('echo with max_tokens 0 and prompt_logprobs -1 scores a prompt: the whole distribution at every position, with ranks', async () => {
  const seq = lm.tokenizer.encode('Weng earns 12 an hour.');
  const r = await post('/v1/completions', { prompt: seq, max_tokens: 0, echo: true, temperature: 0, prompt_logprobs: -1 });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const [c] = r.json.choices as Choice[];
  assert.equal(c!.text, lm.tokenizer.decode(seq, { skipSpecialTokens: true }));
  const pl = c!.prompt_logprobs!;
  assert.equal(pl.length, seq.length);
  assert.equal(pl[0], null);
  const exact = exactLogprobs(seq);
  const V = lm.config.vocabSize;
  for (let pos = 1; pos < seq.length; pos++) {
    const entry = pl[pos]!;
    assert.equal(Object.keys(entry).length, V);
    for (let id = 0; id < V; id++) assert.ok(Math.abs(entry[String(id)]!.logprob - exact[(pos - 1) * V + id]!) < 1e-6);
    const own = entry[String(seq[pos]!)]!;
    assert.equal(own.rank, 1 + Array.from(exact.subarray((pos - 1) * V, pos * V)).filter((x) => x > own.logprob).length);
    assert.equal(own.decoded_token, lm.tokenizer.decode([seq[pos]!]));
  }
});

test('a stop string ends the text before it and is reported as stop_reason', async () => {
  const prompt = lm.tokenizer.encode('Betty has 3 books.');
  const free = await post('/v1/completions', { prompt, max_tokens: 12, temperature: 0, ignore_eos: true });
  const text = (free.json.choices as Choice[])[0]!.text;
  assert.ok(text.length > 3, text);
  const stop = text.slice(2, 4);
  const r = await post('/v1/completions', { prompt, max_tokens: 12, temperature: 0, ignore_eos: true, stop: [stop] });
  const c = (r.json.choices as Choice[])[0]!;
  assert.equal(c.text, text.slice(0, text.indexOf(stop)));
  assert.equal(c.finish_reason, 'stop');
  assert.equal(c.stop_reason, stop);
});

test('requests sent together are decoded in one batch and answered as if alone', async () => {
  const prompts = ['Ken has 5 cookies.', 'Julie reads 12 pages.', 'James buys 3 marbles.', 'Natalia sold 48 clips.', 'Weng has 9 apples.', 'Betty saves 100.'].map((t) => lm.tokenizer.encode(t));
  const one = (p: number[]): Promise<{ status: number; json: Record<string, unknown> }> => post('/v1/completions', { prompt: p, max_tokens: 8, temperature: 0, return_token_ids: true });
  assert.equal(srv.stats.largestBatchRequests, 1); // the tests before sent one request at a time
  const together = await Promise.all(prompts.map(one));
  assert.ok(srv.stats.largestBatchRequests >= 2, `largest batch ${srv.stats.largestBatchRequests}`);
  const want = generateGreedy(lm.model, prompts, { maxNewTokens: 8, stopIds: lm.stopIds, batchSize: 1 });
  together.forEach((r, i) => assert.deepEqual((r.json.choices as Choice[])[0]!.token_ids, want[i]!.tokens));
});

test('/v1/models, /health and /tokenize answer as vLLM does', async () => {
  const models = await (await fetch(`${srv.url}/v1/models`)).json() as { object: string; data: Array<{ id: string; object: string; max_model_len: number }> };
  assert.equal(models.object, 'list');
  assert.equal(models.data[0]!.id, srv.modelName);
  assert.equal(models.data[0]!.max_model_len, 64);
  const health = await fetch(`${srv.url}/health`);
  assert.equal(health.status, 200);
  const tok = await post('/tokenize', { prompt: 'Ken has 5 cookies.', add_special_tokens: false });
  assert.deepEqual(tok.json.tokens, lm.tokenizer.encode('Ken has 5 cookies.', { addSpecialTokens: false }));
  assert.equal(tok.json.count, (tok.json.tokens as number[]).length);
});

test('every malformed request gets a 4xx in vLLM\'s error shape, and the server keeps serving', async () => {
  const V = lm.config.vocabSize;
  const ok = { prompt: [1, 2, 3], max_tokens: 2, temperature: 0 };
  const bad: Array<[unknown, number, RegExp]> = [
    [null, 400, /JSON object/],
    [[1, 2], 400, /JSON object/],
    ['"text"', 400, /JSON object/],
    [{ ...ok, prompt: undefined }, 400, /prompt/],
    [{ ...ok, prompt: [] }, 400, /prompt/],
    [{ ...ok, prompt: '' }, 400, /prompt/],
    [{ ...ok, prompt: [1, -2] }, 400, /not a token id/],
    [{ ...ok, prompt: [1, 2.5] }, 400, /not a token id/],
    [{ ...ok, prompt: [1, V] }, 400, /out of vocabulary/],
    [{ ...ok, prompt: [[1], []] }, 400, /empty/],
    [{ ...ok, prompt: [[1], 'a'] }, 400, /prompt/],
    [{ ...ok, prompt: { a: 1 } }, 400, /prompt/],
    [{ ...ok, prompt: Array.from({ length: 300 }, () => [1]) }, 400, /maximum allowed count/],
    [{ ...ok, prompt: Array.from({ length: 70 }, () => 1) }, 400, /context window/],
    [{ ...ok, max_tokens: 62 }, 400, /maximum context length/],
    [{ ...ok, max_tokens: -1 }, 400, /max_tokens/],
    [{ ...ok, max_tokens: 'many' }, 400, /max_tokens/],
    [{ ...ok, max_tokens: 0 }, 400, /at least 1/],
    [{ ...ok, temperature: 0.7 }, 400, /temperature/],
    [{ ...ok, temperature: undefined }, 400, /temperature/],
    [{ ...ok, n: 2 }, 400, /`n`/],
    [{ ...ok, stream: true }, 400, /stream/],
    [{ ...ok, top_p: 0.9 }, 400, /top_p/],
    [{ ...ok, logit_bias: { 1: 5 } }, 400, /logit_bias/],
    [{ ...ok, logprobs: 'five' }, 400, /must be an integer/],
    [{ ...ok, logprobs: -3 }, 400, /positive value or -1/],
    [{ ...ok, prompt_logprobs: 1.5 }, 400, /must be an integer/],
    [{ ...ok, echo: 'yes' }, 400, /boolean/],
    [{ ...ok, stop: 5 }, 400, /stop/],
    [{ ...ok, stop: [''] }, 400, /stop strings/],
    [{ ...ok, stop: Array.from({ length: 40 }, () => 'x') }, 400, /stop strings/],
    [{ ...ok, stop_token_ids: [V + 1] }, 400, /stop_token_ids/],
    [{ ...ok, stop_token_ids: 'x' }, 400, /stop_token_ids/],
    [{ ...ok, return_tokens_as_token_ids: 1 }, 400, /boolean/],
    [{ ...ok, model: 'gpt-4' }, 404, /does not exist/],
    [{ ...ok, user: 5 }, 400, /user/],
    [{ ...ok, seed: 'x' }, 400, /seed/],
  ];
  for (const [body, status, msg] of bad) {
    const r = await post('/v1/completions', typeof body === 'string' ? body : JSON.stringify(body), true);
    assert.equal(r.status, status, `${JSON.stringify(body)?.slice(0, 80)} → ${JSON.stringify(r.json)}`);
    const e = r.json.error as { message: string; type: string; code: number; param: string | null };
    assert.equal(e.code, status);
    assert.equal(typeof e.type, 'string');
    assert.match(e.message, msg, JSON.stringify(body)?.slice(0, 80));
  }
  const badGenerate: unknown[] = [
    {}, { input_ids: [] }, { input_ids: [1, V] }, { input_ids: [[1], 'x'] }, { text: '' },
    { input_ids: [1], sampling_params: { temperature: 1 } }, { input_ids: [1], sampling_params: 5 },
    { input_ids: [1], sampling_params: { temperature: 0, max_new_tokens: -1 } },
    { input_ids: [1], sampling_params: { temperature: 0, stop_token_ids: ['a'] } },
    { input_ids: [1], sampling_params: { temperature: 0 }, return_logprob: 'yes' },
    { input_ids: [1], sampling_params: { temperature: 0 }, logprob_start_len: -5 },
    { input_ids: [1], sampling_params: { temperature: 0, max_new_tokens: 100 } },
  ];
  for (const body of badGenerate) {
    const r = await post('/generate', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal((r.json.error as { code: number }).code, 400);
  }
  const raw: Array<[string, string, string | null, number]> = [
    ['POST', '/v1/completions', '{"prompt": [1, 2', 400],
    ['POST', '/v1/completions', 'x'.repeat(1 << 17), 413],
    ['GET', '/v1/completions', null, 405],
    ['POST', '/v1/chat/completions', '{}', 404],
    ['GET', '/nope', null, 404],
    ['POST', '/tokenize', '{"prompt": 5}', 400],
  ];
  for (const [method, path, body, status] of raw) {
    const res = await fetch(`${srv.url}${path}`, { method, ...(body !== null ? { body } : {}) });
    assert.equal(res.status, status, `${method} ${path}`);
    const j = await res.json() as { error: { code: number } };
    assert.equal(j.error.code, status);
  }
  // A malformed HTTP request line gets a 400 too, and the connection is closed.
  const answer = await new Promise<string>((res) => {
    const sock = net.connect(srv.port, '127.0.0.1', () => sock.write('GARBAGE / HTTP/9\r\n\r\n'));
    let got = '';
    sock.on('data', (d) => { got += d.toString(); });
    sock.on('close', () => res(got));
    sock.on('error', () => res(got));
  });
  assert.match(answer, /^HTTP\/1\.1 400/);
  const health = await fetch(`${srv.url}/health`);
  assert.equal(health.status, 200);
  const okRes = await post('/v1/completions', ok);
  assert.equal(okRes.status, 200);
});

test('an API key, when set, is required on every endpoint but /health', async () => {
  const keyed = await startServer(lm, { port: 0, apiKey: 'sekret' });
  try {
    assert.equal((await fetch(`${keyed.url}/v1/models`)).status, 401);
    assert.equal((await fetch(`${keyed.url}/v1/models`, { headers: { authorization: 'Bearer sekret' } })).status, 200);
    assert.equal((await fetch(`${keyed.url}/health`)).status, 200);
  } finally {
    await keyed.close();
  }
});
