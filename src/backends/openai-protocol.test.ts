import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { errorBodyMessage, parseModelList, parseSglangGenerate, parseTokenIdString, parseTokenizeResponse, parseVllmCompletion } from './openai-protocol.js';
import { fillLogprobRow } from './openai.js';
import { UserError } from '../util/errors.js';

const dir = fileURLToPath(new URL('../../../fixtures/servers/', import.meta.url));
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(dir, name), 'utf8'));

test('a vLLM generation response (two prompts, return_tokens_as_token_ids) gives each choice its ids and finish reason', () => {
  const c = parseVllmCompletion(fixture('vllm-completion-generate.json'), 'fixture');
  assert.deepEqual(c.map((x) => x.tokenIds), [[5, 3, 7], [1, 1]]);
  assert.deepEqual(c.map((x) => x.finishReason), ['stop', 'length']);
  assert.deepEqual(c.map((x) => x.promptLogprobs), [null, null]);
});

test('vLLM >= 0.10 token_ids are read directly', () => {
  const [c] = parseVllmCompletion(fixture('vllm-completion-token-ids.json'), 'fixture');
  assert.deepEqual(c!.tokenIds, [5, 3, 7]);
});

test('vLLM full-vocabulary prompt_logprobs become exact rows: every id, the documented numbers', () => {
  const [c] = parseVllmCompletion(fixture('vllm-completion-prompt-logprobs.json'), 'fixture');
  const want = fixture('vllm-completion-prompt-logprobs.expected.json') as { rows: number[][]; prompt: number[] };
  const pl = c!.promptLogprobs!;
  assert.equal(pl.length, 3);
  assert.equal(pl[0], null);
  for (let pos = 1; pos < 3; pos++) {
    const row = new Float32Array(8);
    fillLogprobRow(pl[pos]!, 8, row, 0, null, 'fixture');
    assert.deepEqual(Array.from(row), want.rows[pos - 1]!.map((x) => Math.fround(x)));
  }
  // Asking for exact rows from a top-k answer is refused, naming the vLLM flag.
  const cut = new Map([...pl[1]!].slice(0, 3));
  assert.throws(() => fillLogprobRow(cut, 8, new Float32Array(8), 0, null, 'fixture'), /--max-logprobs -1/);
});

test('SGLang /generate with logprob_start_len 0 parses to the same shape, position 0 having no distribution', () => {
  const c = parseSglangGenerate(fixture('sglang-generate-logprobs.json'), 'fixture');
  assert.deepEqual(c.tokenIds, [5, 3, 7]);
  assert.equal(c.finishReason, 'stop');
  assert.equal(c.promptLogprobs![0], null);
  assert.deepEqual([...c.promptLogprobs![1]!], [[2, -0.4], [4, -2.2]]);
  // The input token's own log-probability is included even when it is outside the top k (as vLLM does).
  assert.deepEqual([...c.promptLogprobs![2]!], [[4, -0.9], [0, -1.2], [6, -2.6]]);
});

test('error bodies of both vLLM generations, model lists and /tokenize answers are read', () => {
  assert.match(errorBodyMessage(fixture('vllm-error.json'))!, /must be a positive value or -1/);
  assert.match(errorBodyMessage(fixture('vllm-error-legacy.json'))!, /greater than max allowed: 20/);
  assert.deepEqual(parseModelList(fixture('vllm-models.json'), 'fixture'), { id: 'Qwen/Qwen2.5-0.5B', maxModelLen: 4096 });
  assert.deepEqual(parseTokenizeResponse(fixture('vllm-tokenize.json'), 'fixture'), [4, 2, 6]);
});

test('responses of another shape are refused with the field named, not misread', () => {
  assert.throws(() => parseVllmCompletion({ choices: [{ index: 0, logprobs: { tokens: [' 24'] } }] }, 'srv'), (e: unknown) => e instanceof UserError && /tokens\[0\].*return_tokens_as_token_ids/.test(e.message));
  assert.throws(() => parseVllmCompletion({ object: 'error' }, 'srv'), /expected "choices"/);
  assert.throws(() => parseVllmCompletion({ choices: [{ index: 0, logprobs: null, prompt_logprobs: [null, { 3: { logprob: 0.7 } }] }] }, 'srv'), /log-probability/);
  assert.throws(() => parseSglangGenerate({ text: 'x' }, 'srv'), /meta_info/);
  assert.equal(parseTokenIdString('token_id:42', 'x'), 42);
  assert.throws(() => parseTokenIdString('token_id:-1', 'x'), UserError);
});

test('top-k rows: the ids not returned share the mass left over, uniformly, and rows sum to 1', () => {
  const V = 10;
  const known = new Map([[3, Math.log(0.5)], [7, Math.log(0.3)]]);
  const row = new Float32Array(V);
  fillLogprobRow(known, V, row, 0, 2, 'test');
  assert.ok(Math.abs(row[3]! - Math.log(0.5)) < 1e-7);
  for (const i of [0, 1, 2, 4, 5, 6, 8, 9]) assert.ok(Math.abs(row[i]! - Math.log(0.2 / 8)) < 1e-6);
  assert.ok(Math.abs(Array.from(row).reduce((a, x) => a + Math.exp(x), 0) - 1) < 1e-6);
  // Rounding can make the known mass reach 1: the tail is floored, never -Infinity or NaN.
  const full = new Map([[0, 0]]);
  fillLogprobRow(full, 4, row, 0, 1, 'test');
  assert.ok(Number.isFinite(row[1]!) && row[1]! < -25);
});
