/**
 * The subset of vLLM's /v1/completions that `lightreasoner serve` implements: request checking
 * (every malformed request becomes an HttpError with vLLM's 4xx message shape, never a crash) and
 * building the response exactly as vLLM writes it. See src/backends/openai-protocol.ts for the
 * shapes.
 */
import { randomBytes } from 'node:crypto';
import type { HfTokenizer } from '../tokenizer/index.js';
import { tokenIdString } from '../backends/openai-protocol.js';

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly param: string | null = null, readonly type = status === 404 ? 'NotFoundError' : 'BadRequestError') {
    super(message);
  }
}

/** vLLM's error body (vllm/entrypoints/openai/engine/protocol.py ErrorResponse / ErrorInfo). */
export function errorBody(e: HttpError): { error: { message: string; type: string; param: string | null; code: number } } {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.status } };
}

export interface ServeLimits {
  /** Prompts in one request (vLLM's VLLM_MAX_COMPLETION_PROMPTS plays this role). */
  maxPrompts: number;
  /** Largest k for logprobs / prompt_logprobs; −1 lifts the cap (prompt_logprobs −1 = whole vocabulary), as vLLM's --max-logprobs. */
  maxLogprobs: number;
  /** Log-probability entries one response may carry (positions × k), so a full-vocabulary request cannot exhaust memory. */
  maxLogprobEntries: number;
  /** Stop strings per request. */
  maxStopStrings: number;
}

export const DEFAULT_LIMITS: ServeLimits = { maxPrompts: 256, maxLogprobs: 20, maxLogprobEntries: 4_000_000, maxStopStrings: 16 };

export interface CompletionJob {
  prompts: number[][];
  /** The prompt strings when the request sent text (echo repeats them as sent). */
  promptTexts: Array<string | null>;
  maxTokens: number;
  echo: boolean;
  logprobs: number | null;
  /** Entries per prompt position (−1 resolved to the vocabulary size); null when not asked. */
  promptLogprobs: number | null;
  stop: string[];
  /** Request stop_token_ids (reported as stop_reason) — the model's EOS ids stop generation too unless ignore_eos. */
  stopTokenIds: number[];
  ignoreEos: boolean;
  asTokenIds: boolean;
  returnTokenIds: boolean;
  skipSpecialTokens: boolean;
  includeStopStr: boolean;
}

/** Fields we accept but whose only supported value is the default (greedy, one choice, no streaming). */
const MUST_BE_DEFAULT: Array<[string, (v: unknown) => boolean, string]> = [
  ['n', (v) => v === 1, '1'],
  ['best_of', (v) => v === 1, '1'],
  ['stream', (v) => v === false, 'false (streaming is not supported)'],
  ['use_beam_search', (v) => v === false, 'false'],
  ['top_p', (v) => v === 1, '1 (decoding is greedy)'],
  ['top_k', (v) => v === -1 || v === 0, '-1 or 0 (decoding is greedy)'],
  ['min_p', (v) => v === 0, '0'],
  ['presence_penalty', (v) => v === 0, '0'],
  ['frequency_penalty', (v) => v === 0, '0'],
  ['repetition_penalty', (v) => v === 1, '1'],
  ['min_tokens', (v) => v === 0, '0'],
  ['suffix', () => false, 'absent'],
  ['logit_bias', () => false, 'absent'],
  ['allowed_token_ids', () => false, 'absent'],
  ['bad_words', (v) => Array.isArray(v) && v.length === 0, 'absent'],
  ['logprob_token_ids', () => false, 'absent'],
  ['response_format', () => false, 'absent'],
  ['structured_outputs', () => false, 'absent'],
  ['prompt_embeds', () => false, 'absent'],
  ['truncate_prompt_tokens', () => false, 'absent'],
];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const short = (v: unknown): string => (JSON.stringify(v) ?? String(v)).slice(0, 60);

function bool(body: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new HttpError(400, `\`${key}\` must be a boolean, got ${short(v)}`, key);
  return v;
}

/** Check a /v1/completions body against the served model; the job to run, or an HttpError. */
export function parseCompletionRequest(raw: unknown, ctx: { modelName: string; vocabSize: number; contextSize: number; tokenizer: HfTokenizer; limits: ServeLimits }): CompletionJob {
  if (!isRecord(raw)) throw new HttpError(400, 'the request body must be a JSON object');
  const body = raw;
  const { limits, vocabSize: V, contextSize } = ctx;
  if (body.model !== undefined && body.model !== null && body.model !== ctx.modelName) {
    throw new HttpError(404, `The model \`${short(body.model)}\` does not exist.`, 'model');
  }
  for (const [key, ok, want] of MUST_BE_DEFAULT) {
    const v = body[key];
    if (v !== undefined && v !== null && !ok(v)) throw new HttpError(400, `\`${key}\` must be ${want} on this server, got ${short(v)}`, key);
  }
  const temperature = body.temperature;
  if (temperature !== 0) throw new HttpError(400, `\`temperature\` must be 0: this server decodes greedily only, got ${short(temperature)}`, 'temperature');

  const addSpecial = bool(body, 'add_special_tokens', true);
  const p = body.prompt;
  let prompts: number[][];
  let promptTexts: Array<string | null>;
  const tokenize = (s: string, i: number): number[] => {
    if (s.length > contextSize * 64) throw new HttpError(400, `prompt ${i} is ${s.length} characters, far beyond the context window of ${contextSize} tokens`, 'prompt');
    return ctx.tokenizer.encode(s, { addSpecialTokens: addSpecial });
  };
  const checkIdList = (a: unknown[], i: number): number[] => {
    if (a.length > contextSize) throw new HttpError(400, `prompt ${i} has ${a.length} tokens; the context window is ${contextSize}`, 'prompt');
    return a.map((t, k) => {
      if (!isInt(t) || t < 0) throw new HttpError(400, `prompt ${i}: token ${k} is ${short(t)}, not a token id`, 'prompt');
      if (t >= V) throw new HttpError(400, `Token id ${t} is out of vocabulary`, 'prompt');
      return t;
    });
  };
  if (typeof p === 'string') {
    prompts = [tokenize(p, 0)];
    promptTexts = [p];
  } else if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'number')) {
    prompts = [checkIdList(p, 0)];
    promptTexts = [null];
  } else if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) {
    if (p.length > limits.maxPrompts) throw new HttpError(400, `prompt list length ${p.length} exceeds the maximum allowed count of ${limits.maxPrompts}`, 'prompt');
    prompts = (p as string[]).map(tokenize);
    promptTexts = p as string[];
  } else if (Array.isArray(p) && p.length > 0 && p.every((x) => Array.isArray(x))) {
    if (p.length > limits.maxPrompts) throw new HttpError(400, `prompt list length ${p.length} exceeds the maximum allowed count of ${limits.maxPrompts}`, 'prompt');
    prompts = (p as unknown[][]).map(checkIdList);
    promptTexts = p.map(() => null);
  } else {
    throw new HttpError(400, p === undefined || p === null || (Array.isArray(p) && p.length === 0) || p === ''
      ? 'Either prompt or prompt_embeds must be provided and non-empty.'
      : `\`prompt\` must be a string, a list of strings, a list of token ids or a list of lists of token ids, got ${short(p)}`, 'prompt');
  }
  prompts.forEach((ids, i) => {
    if (ids.length === 0) throw new HttpError(400, `prompt ${i} is empty`, 'prompt');
  });

  const echo = bool(body, 'echo', false);
  let maxTokens = 16;
  if (body.max_tokens !== undefined && body.max_tokens !== null) {
    if (!isInt(body.max_tokens) || body.max_tokens < 0) throw new HttpError(400, `\`max_tokens\` must be a non-negative integer, got ${short(body.max_tokens)}`, 'max_tokens');
    maxTokens = body.max_tokens;
  }
  if (maxTokens === 0 && !echo) throw new HttpError(400, '`max_tokens` must be at least 1 (0 is allowed only with echo, to score a prompt)', 'max_tokens');
  for (const [i, ids] of prompts.entries()) {
    if (ids.length + maxTokens > contextSize) {
      throw new HttpError(400, `This model's maximum context length is ${contextSize} tokens. However, you requested ${ids.length + maxTokens} tokens (${ids.length} in the prompt ${i}, ${maxTokens} in the completion). Please reduce the length of the prompt or completion.`, 'max_tokens');
    }
  }

  const k = (key: 'logprobs' | 'prompt_logprobs'): number | null => {
    const v = body[key];
    if (v === undefined || v === null) return null;
    if (!isInt(v)) throw new HttpError(400, `\`${key}\` must be an integer.`, key);
    if (v < -1) throw new HttpError(400, `\`${key}\` must be a positive value or -1.`, key);
    if (limits.maxLogprobs !== -1 && (v === -1 || v > limits.maxLogprobs)) {
      throw new HttpError(400, `Requested ${key === 'logprobs' ? 'sample' : 'prompt'} logprobs of ${v === -1 ? `${V} (-1, the whole vocabulary)` : v}, which is greater than max allowed: ${limits.maxLogprobs} (start the server with --max-logprobs -1 to lift the cap)`, key);
    }
    return v === -1 ? V : Math.min(v, V);
  };
  const logprobs = k('logprobs');
  let promptLogprobs = k('prompt_logprobs');
  if (promptLogprobs === null && echo && logprobs !== null) promptLogprobs = null; // echo + logprobs puts prompt entries in `logprobs` (vLLM does the same)
  const positions = prompts.reduce((a, ids) => a + ids.length + maxTokens, 0);
  const entries = positions * (Math.max(logprobs ?? 0, promptLogprobs ?? 0) + 1);
  if (entries > limits.maxLogprobEntries) {
    throw new HttpError(400, `the response would hold ${entries} log-probabilities (${positions} positions × ${Math.max(logprobs ?? 0, promptLogprobs ?? 0) + 1}); the limit is ${limits.maxLogprobEntries}. Ask for fewer positions or a smaller k`, promptLogprobs !== null ? 'prompt_logprobs' : 'logprobs');
  }

  let stop: string[] = [];
  const st = body.stop;
  if (typeof st === 'string') stop = [st];
  else if (Array.isArray(st) && st.every((x) => typeof x === 'string')) stop = st as string[];
  else if (st !== undefined && st !== null) throw new HttpError(400, `\`stop\` must be a string or a list of strings, got ${short(st)}`, 'stop');
  if (stop.length > limits.maxStopStrings) throw new HttpError(400, `at most ${limits.maxStopStrings} stop strings, got ${stop.length}`, 'stop');
  if (stop.some((s) => s.length === 0 || s.length > 1000)) throw new HttpError(400, 'stop strings must be 1 to 1000 characters long', 'stop');

  let stopTokenIds: number[] = [];
  const sti = body.stop_token_ids;
  if (Array.isArray(sti)) {
    if (sti.length > 1024) throw new HttpError(400, `at most 1024 stop_token_ids, got ${sti.length}`, 'stop_token_ids');
    stopTokenIds = sti.map((t) => {
      if (!isInt(t) || t < 0 || t >= V) throw new HttpError(400, `\`stop_token_ids\` must be token ids in [0, ${V}), got ${short(t)}`, 'stop_token_ids');
      return t;
    });
  } else if (sti !== undefined && sti !== null) {
    throw new HttpError(400, `\`stop_token_ids\` must be a list of token ids, got ${short(sti)}`, 'stop_token_ids');
  }
  for (const key of ['user', 'request_id', 'seed', 'stream_options', 'priority', 'spaces_between_special_tokens'] as const) {
    const v = body[key];
    if (key === 'user' || key === 'request_id') {
      if (v !== undefined && v !== null && typeof v !== 'string') throw new HttpError(400, `\`${key}\` must be a string`, key);
    } else if ((key === 'seed' || key === 'priority') && v !== undefined && v !== null && !isInt(v)) {
      throw new HttpError(400, `\`${key}\` must be an integer`, key);
    }
  }
  return {
    prompts, promptTexts, maxTokens, echo, logprobs, promptLogprobs, stop, stopTokenIds,
    ignoreEos: bool(body, 'ignore_eos', false),
    asTokenIds: bool(body, 'return_tokens_as_token_ids', false),
    returnTokenIds: bool(body, 'return_token_ids', false),
    skipSpecialTokens: bool(body, 'skip_special_tokens', true),
    includeStopStr: bool(body, 'include_stop_str_in_output', false),
  };
}

/** What the model produced for one prompt, before formatting. */
export interface ChoiceResult {
  tokens: number[];
  finish: 'stop' | 'length';
  stopReason: number | string | null;
  /** Text of the generated tokens (stop string handling applied). */
  text: string;
  /** Log-probability rows [positions − rowsFrom, V] of prompt + generated tokens (row r − rowsFrom predicts token r+1), when asked. */
  rows: Float32Array | null;
  /** The position of `rows`' first row. */
  rowsFrom: number;
}

/** The top k ids of a row, by decreasing log-probability (ties: lower id first). */
export function topIds(row: Float32Array, off: number, V: number, k: number): number[] {
  if (k >= V) return Array.from({ length: V }, (_, i) => i).sort((a, b) => row[off + b]! - row[off + a]! || a - b);
  const ids: number[] = [];
  for (let i = 0; i < V; i++) {
    const v = row[off + i]!;
    if (ids.length === k && v <= row[off + ids[k - 1]!]!) continue;
    let j = ids.length === k ? k - 1 : ids.length;
    if (ids.length < k) ids.push(i);
    while (j > 0 && row[off + ids[j - 1]!]! < v) { ids[j] = ids[j - 1]!; j--; }
    ids[j] = i;
  }
  return ids;
}

function rank(row: Float32Array, off: number, V: number, id: number): number {
  const v = row[off + id]!;
  let r = 1;
  for (let i = 0; i < V; i++) if (row[off + i]! > v) r++;
  return r;
}

/** JSON text spliced into a response as it is (see serializeResponse). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** A log-probability as JSON (which has no −Infinity: vLLM writes −9999.0 for impossible tokens). */
function jsonNumber(x: number): string {
  return Number.isFinite(x) ? String(x) : '-9999.0';
}

/** JSON.stringify with RawJson values spliced in. */
export function serializeResponse(body: unknown): string {
  const raws: string[] = [];
  const nonce = randomBytes(8).toString('hex'); // so no text in the response can pose as a placeholder
  const text = JSON.stringify(body, (_k, v: unknown) => {
    if (v instanceof RawJson) { raws.push(v.text); return `\u0000${nonce}:${raws.length - 1}\u0000`; }
    return v;
  });
  return raws.length === 0 ? text : text.replace(new RegExp(`"\\\\u0000${nonce}:(\\d+)\\\\u0000"`, 'g'), (_m, i: string) => raws[Number(i)]!);
}

/** Build vLLM's CompletionResponse for a job and its per-prompt results. */
export function completionResponse(job: CompletionJob, results: ChoiceResult[], ctx: { modelName: string; vocabSize: number; tokenizer: HfTokenizer }): Record<string, unknown> {
  const V = ctx.vocabSize, tok = ctx.tokenizer;
  const tokStr = (id: number): string => (job.asTokenIds ? tokenIdString(id) : tok.decode([id], { skipSpecialTokens: false }));
  let promptTokens = 0, completionTokens = 0;
  const choices = results.map((r, i) => {
    const prompt = job.prompts[i]!;
    promptTokens += prompt.length;
    completionTokens += r.tokens.length;
    const P = prompt.length;
    const rows = r.rows;
    const lpOf = (pos: number, id: number): number => rows![(pos - 1 - r.rowsFrom) * V + id]!; // distribution at pos−1 predicts token at pos
    // Written straight to JSON text: a full-vocabulary answer has positions × vocab entries, and
    // building that many objects first costs several times the serialisation itself.
    let promptLogprobs: RawJson | null = null;
    if (job.promptLogprobs !== null) {
      const parts: string[] = ['[null'];
      const idStr = new Map<number, string>();
      const quoted = (id: number): string => {
        let q = idStr.get(id);
        if (q === undefined) { q = JSON.stringify(tokStr(id)); idStr.set(id, q); }
        return q;
      };
      for (let pos = 1; pos < P; pos++) {
        const off = (pos - 1 - r.rowsFrom) * V;
        const id0 = prompt[pos]!;
        const entry: string[] = [`"${id0}":{"logprob":${jsonNumber(lpOf(pos, id0))},"rank":${rank(rows!, off, V, id0)},"decoded_token":${quoted(id0)}}`];
        topIds(rows!, off, V, job.promptLogprobs).forEach((id, k) => {
          if (id !== id0) entry.push(`"${id}":{"logprob":${jsonNumber(rows![off + id]!)},"rank":${k + 1},"decoded_token":${quoted(id)}}`);
        });
        parts.push(`{${entry.join(',')}}`);
      }
      promptLogprobs = new RawJson(`${parts.join(',')}]`);
    }
    const echoText = job.echo ? (job.promptTexts[i] ?? tok.decode(prompt, { skipSpecialTokens: job.skipSpecialTokens })) : '';
    let logprobs: Record<string, unknown> | null = null;
    if (job.logprobs !== null) {
      const tokens: string[] = [], tokenLogprobs: Array<number | null> = [], top: Array<Record<string, number> | null> = [], offsets: number[] = [];
      let offset = 0;
      const add = (pos: number, id: number, first: boolean): void => {
        const s = tokStr(id);
        tokens.push(s);
        offsets.push(offset);
        offset += job.asTokenIds ? 0 : s.length;
        if (first) { tokenLogprobs.push(null); top.push(null); return; }
        const off = (pos - 1 - r.rowsFrom) * V;
        tokenLogprobs.push(rows![off + id]!);
        const t: Record<string, number> = { [s]: rows![off + id]! };
        for (const j of topIds(rows!, off, V, job.logprobs!)) t[tokStr(j)] = rows![off + j]!;
        top.push(t);
      };
      if (job.echo) prompt.forEach((id, pos) => add(pos, id, pos === 0));
      r.tokens.forEach((id, t) => add(P + t, id, false));
      logprobs = { text_offset: offsets, token_logprobs: tokenLogprobs, tokens, top_logprobs: top };
    }
    return {
      index: i,
      text: echoText + r.text,
      logprobs,
      finish_reason: r.finish,
      stop_reason: r.stopReason,
      token_ids: job.returnTokenIds ? r.tokens : null,
      prompt_logprobs: promptLogprobs,
      prompt_token_ids: job.returnTokenIds ? prompt : null,
    };
  });
  return {
    id: `cmpl-${randomBytes(16).toString('hex')}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: ctx.modelName,
    choices,
    service_tier: null,
    system_fingerprint: null,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens + completionTokens, completion_tokens: completionTokens, prompt_tokens_details: null },
    kv_transfer_params: null,
  };
}
