/**
 * The request and response shapes of the inference servers the HTTP back end talks to, and of
 * `lightreasoner serve`, which writes vLLM's:
 *
 * vLLM `/v1/completions` (vllm/entrypoints/openai/completion/protocol.py):
 *   request   { model, prompt: number[] | number[][], max_tokens, temperature, logprobs?: k, echo?,
 *               prompt_logprobs?: k | -1, return_tokens_as_token_ids?, stop_token_ids?, ... }
 *   response  { id: "cmpl-…", object: "text_completion", created, model,
 *               choices: [{ index, text, logprobs: { text_offset, token_logprobs, tokens, top_logprobs } | null,
 *                           finish_reason: "stop" | "length", stop_reason: number | string | null,
 *                           prompt_logprobs: [null, { "<id>": { logprob, rank, decoded_token } }, …] | null }],
 *               usage: { prompt_tokens, total_tokens, completion_tokens } }
 *   With return_tokens_as_token_ids the tokens are "token_id:<id>". prompt_logprobs[i] is the
 *   distribution at position i−1 that predicts prompt token i (it always holds token i itself,
 *   plus the top k; all ids with k = −1).
 *   errors    { error: { message, type, param, code } } (older versions: { object: "error", message, type, param, code })
 *
 * SGLang `/generate`:
 *   request   { input_ids, sampling_params: { max_new_tokens, temperature, stop_token_ids }, return_logprob,
 *               logprob_start_len, top_logprobs_num, return_text_in_logprobs }
 *   response  { text, output_ids, meta_info: { finish_reason: { type, … }, prompt_tokens, completion_tokens,
 *               input_token_logprobs: [[logprob | null, id, text | null], …], input_top_logprobs: [null, [[lp, id, text], …], …],
 *               output_token_logprobs, output_top_logprobs } }
 *   input_top_logprobs[i] is, as in vLLM, the distribution that predicts input token i (i ≥ logprob_start_len).
 *
 * Every parser checks what it reads and names the server and the field when a response does not
 * have the documented shape, so a version mismatch is reported as such and not as wrong numbers.
 */
import { UserError } from '../util/errors.js';

export type ServerApi = 'vllm' | 'sglang';
export const SERVER_APIS: readonly ServerApi[] = ['vllm', 'sglang'];

/** One position's known log-probabilities: token id → log p. */
export type LogprobMap = Map<number, number>;

/** What the back end needs of one completion choice, whichever server wrote it. */
export interface ParsedChoice {
  index: number;
  /** Generated ids (a stop id that ended the sequence is included). */
  tokenIds: number[];
  finishReason: 'stop' | 'length' | null;
  /** Per prompt position: null at position 0 (nothing predicts it), else the known log-probabilities. */
  promptLogprobs: Array<LogprobMap | null> | null;
}

const TOKEN_ID_PREFIX = 'token_id:';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(where: string, msg: string): never {
  throw new UserError(`${where}: ${msg}`);
}

function intId(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(where, `expected a token id, got ${JSON.stringify(v)?.slice(0, 80)}`);
  return v;
}

function logprob(v: unknown, where: string): number {
  // JSON cannot carry -Infinity; vLLM writes a very negative float (-9999.0) for impossible tokens.
  if (typeof v !== 'number' || Number.isNaN(v) || v > 1e-4) fail(where, `expected a log-probability (a number <= 0), got ${JSON.stringify(v)?.slice(0, 80)}`);
  return Math.min(v, 0);
}

/** "token_id:123" → 123 (vLLM's return_tokens_as_token_ids); a bare integer string is accepted too. */
export function parseTokenIdString(s: unknown, where: string): number {
  if (typeof s !== 'string') fail(where, `expected a "token_id:<id>" string, got ${JSON.stringify(s)?.slice(0, 80)}`);
  const body = s.startsWith(TOKEN_ID_PREFIX) ? s.slice(TOKEN_ID_PREFIX.length) : s;
  if (!/^\d+$/.test(body)) fail(where, `expected a "token_id:<id>" string (send return_tokens_as_token_ids), got ${JSON.stringify(s).slice(0, 80)}`);
  return Number(body);
}

export function tokenIdString(id: number): string {
  return `${TOKEN_ID_PREFIX}${id}`;
}

/** The message of an error body in any of the shapes vLLM, SGLang and FastAPI write. */
export function errorBodyMessage(body: unknown): string | null {
  if (!isRecord(body)) return null;
  const e = body.error;
  if (isRecord(e) && typeof e.message === 'string') return e.message;
  if (typeof e === 'string') return e;
  if (typeof body.message === 'string') return body.message;
  if (typeof body.detail === 'string') return body.detail;
  return null;
}

/** vLLM's prompt_logprobs array: [null, {"<id>": {logprob, rank, decoded_token}}, …]. */
export function parseVllmPromptLogprobs(v: unknown, where: string): Array<LogprobMap | null> {
  if (!Array.isArray(v)) fail(where, 'expected prompt_logprobs to be a list (send prompt_logprobs in the request; the server must be vLLM >= 0.4)');
  return v.map((pos, i) => {
    if (pos === null) return null;
    if (!isRecord(pos)) fail(`${where}[${i}]`, 'expected null or an object of token id → {logprob, rank, decoded_token}');
    const m: LogprobMap = new Map();
    for (const [k, e] of Object.entries(pos)) {
      const id = /^\d+$/.test(k) ? Number(k) : parseTokenIdString(k, `${where}[${i}] key`);
      const lp = isRecord(e) ? e.logprob : e; // {logprob, rank, decoded_token}; a bare number from forks that flatten it
      m.set(id, logprob(lp, `${where}[${i}]["${k}"].logprob`));
    }
    return m;
  });
}

/** A vLLM /v1/completions response (non-streaming) → its choices, sorted by index. */
export function parseVllmCompletion(body: unknown, where: string): ParsedChoice[] {
  if (!isRecord(body)) fail(where, 'expected a JSON object');
  if (!Array.isArray(body.choices)) fail(where, `expected "choices" (a list); got ${JSON.stringify(body).slice(0, 200)}`);
  const out = body.choices.map((c, ci): ParsedChoice => {
    const w = `${where} choices[${ci}]`;
    if (!isRecord(c)) fail(w, 'expected an object');
    const index = intId(c.index, `${w}.index`);
    let tokenIds: number[];
    if (Array.isArray(c.token_ids)) {
      tokenIds = c.token_ids.map((t, k) => intId(t, `${w}.token_ids[${k}]`)); // return_token_ids (vLLM >= 0.10)
    } else if (isRecord(c.logprobs) && Array.isArray(c.logprobs.tokens)) {
      tokenIds = c.logprobs.tokens.map((t, k) => parseTokenIdString(t, `${w}.logprobs.tokens[${k}]`));
    } else if (c.logprobs === null || c.logprobs === undefined) {
      tokenIds = [];
    } else {
      fail(w, 'expected logprobs.tokens (a list)');
    }
    const fr = c.finish_reason;
    if (fr !== null && fr !== undefined && fr !== 'stop' && fr !== 'length') fail(`${w}.finish_reason`, `expected "stop", "length" or null, got ${JSON.stringify(fr)}`);
    const promptLogprobs = c.prompt_logprobs === null || c.prompt_logprobs === undefined ? null : parseVllmPromptLogprobs(c.prompt_logprobs, `${w}.prompt_logprobs`);
    return { index, tokenIds, finishReason: (fr ?? null) as ParsedChoice['finishReason'], promptLogprobs };
  });
  return out.sort((a, b) => a.index - b.index);
}

/** SGLang's [logprob, id, text] triples → (id, logprob); the leading null logprob of position 0 gives null. */
function sglangTriple(v: unknown, where: string): [number, number | null] {
  if (!Array.isArray(v) || v.length < 2) fail(where, `expected [logprob, token_id, text], got ${JSON.stringify(v)?.slice(0, 80)}`);
  return [intId(v[1], `${where}[1]`), v[0] === null ? null : logprob(v[0], `${where}[0]`)];
}

/** A SGLang /generate response (one prompt) → the same shape as a vLLM choice. */
export function parseSglangGenerate(body: unknown, where: string, index = 0): ParsedChoice {
  if (!isRecord(body)) fail(where, 'expected a JSON object');
  const meta = body.meta_info;
  if (!isRecord(meta)) fail(where, 'expected "meta_info" (an object)');
  let tokenIds: number[];
  if (Array.isArray(body.output_ids)) tokenIds = body.output_ids.map((t, k) => intId(t, `${where}.output_ids[${k}]`));
  else if (Array.isArray(meta.output_token_logprobs)) tokenIds = meta.output_token_logprobs.map((t, k) => sglangTriple(t, `${where}.meta_info.output_token_logprobs[${k}]`)[0]);
  else fail(where, 'expected "output_ids" or meta_info.output_token_logprobs');
  const fr = meta.finish_reason;
  let finishReason: ParsedChoice['finishReason'] = null;
  if (isRecord(fr)) {
    if (fr.type === 'length') finishReason = 'length';
    else if (fr.type === 'stop') finishReason = 'stop';
    else fail(`${where}.meta_info.finish_reason`, `expected type "stop" or "length", got ${JSON.stringify(fr.type)} (${String(fr.message ?? '')})`);
  } else if (fr !== null && fr !== undefined) {
    fail(`${where}.meta_info.finish_reason`, 'expected an object {type, …} or null');
  }
  let promptLogprobs: ParsedChoice['promptLogprobs'] = null;
  if (meta.input_top_logprobs !== undefined && meta.input_top_logprobs !== null) {
    const tops = meta.input_top_logprobs;
    if (!Array.isArray(tops)) fail(`${where}.meta_info.input_top_logprobs`, 'expected a list');
    const toks = Array.isArray(meta.input_token_logprobs) ? meta.input_token_logprobs : [];
    promptLogprobs = tops.map((pos, i) => {
      if (pos === null) return null;
      if (!Array.isArray(pos)) fail(`${where}.meta_info.input_top_logprobs[${i}]`, 'expected null or a list of [logprob, id, text]');
      const m: LogprobMap = new Map();
      for (const [k, e] of pos.entries()) {
        const [id, lp] = sglangTriple(e, `${where}.meta_info.input_top_logprobs[${i}][${k}]`);
        if (lp !== null) m.set(id, lp);
      }
      // The input token's own log-probability, as vLLM includes it in each position.
      if (toks[i] !== undefined && toks[i] !== null) {
        const [id, lp] = sglangTriple(toks[i], `${where}.meta_info.input_token_logprobs[${i}]`);
        if (lp !== null && !m.has(id)) m.set(id, lp);
      }
      return m.size === 0 ? null : m;
    });
  }
  return { index, tokenIds, finishReason, promptLogprobs };
}

/** The id and context length of the first model a /v1/models response lists. */
export function parseModelList(body: unknown, where: string): { id: string; maxModelLen: number | null } {
  if (!isRecord(body) || !Array.isArray(body.data) || body.data.length === 0) fail(where, 'expected {"object": "list", "data": [{"id": …}, …]} with at least one model');
  const m = body.data[0];
  if (!isRecord(m) || typeof m.id !== 'string') fail(`${where} data[0]`, 'expected a model with an "id"');
  const len = m.max_model_len;
  return { id: m.id, maxModelLen: typeof len === 'number' && Number.isInteger(len) && len > 0 ? len : null };
}

/** vLLM's /tokenize response → its ids. */
export function parseTokenizeResponse(body: unknown, where: string): number[] {
  if (!isRecord(body) || !Array.isArray(body.tokens)) fail(where, 'expected {"count", "max_model_len", "tokens": [ids]}');
  return body.tokens.map((t, k) => intId(t, `${where}.tokens[${k}]`));
}
