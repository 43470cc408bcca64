/**
 * SGLang's native POST /generate, the subset Stage 1 uses, so the HTTP back end's SGLang client
 * (--server-api sglang) is tested against a real server: `input_ids` (one list or several) or
 * `text`, `sampling_params` {max_new_tokens, temperature 0, stop_token_ids, skip_special_tokens},
 * `return_logprob`, `logprob_start_len`, `top_logprobs_num`. The answer has SGLang's shape:
 * { text, output_ids, meta_info: { finish_reason, prompt_tokens, completion_tokens,
 *   input_token_logprobs: [[logprob | null, id, null], …], input_top_logprobs, output_token_logprobs,
 *   output_top_logprobs } } — a list of those for a list of inputs.
 */
import type { HfTokenizer } from '../tokenizer/index.js';
import { HttpError, topIds, type ChoiceResult, type CompletionJob, type ServeLimits } from './completions.js';

export interface SglangJob extends CompletionJob {
  batch: boolean;
  returnLogprob: boolean;
  logprobStartLen: number;
  topLogprobsNum: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

export function parseGenerateRequest(raw: unknown, ctx: { vocabSize: number; contextSize: number; tokenizer: HfTokenizer; limits: ServeLimits }): SglangJob {
  if (!isRecord(raw)) throw new HttpError(400, 'the request body must be a JSON object');
  const { vocabSize: V, contextSize, limits } = ctx;
  const ids = (a: unknown, i: number): number[] => {
    if (!Array.isArray(a) || a.length === 0) throw new HttpError(400, `input_ids[${i}] must be a non-empty list of token ids`, 'input_ids');
    if (a.length > contextSize) throw new HttpError(400, `input ${i} has ${a.length} tokens; the context window is ${contextSize}`, 'input_ids');
    return a.map((t) => {
      if (!isInt(t) || t < 0 || t >= V) throw new HttpError(400, `input_ids[${i}]: ${JSON.stringify(t)?.slice(0, 40)} is not a token id in [0, ${V})`, 'input_ids');
      return t;
    });
  };
  let prompts: number[][];
  let batch = false;
  if (raw.input_ids !== undefined) {
    const x = raw.input_ids;
    if (Array.isArray(x) && x.length > 0 && x.every(Array.isArray)) {
      if (x.length > limits.maxPrompts) throw new HttpError(400, `at most ${limits.maxPrompts} inputs per request`, 'input_ids');
      prompts = x.map(ids);
      batch = true;
    } else {
      prompts = [ids(x, 0)];
    }
  } else if (typeof raw.text === 'string' && raw.text.length > 0 && raw.text.length <= contextSize * 64) {
    prompts = [ctx.tokenizer.encode(raw.text, { addSpecialTokens: true })];
  } else {
    throw new HttpError(400, 'give `input_ids` (a list of token ids, or a list of such lists) or `text`', 'input_ids');
  }
  const sp = raw.sampling_params ?? {};
  if (!isRecord(sp)) throw new HttpError(400, '`sampling_params` must be an object', 'sampling_params');
  if (sp.temperature !== 0) throw new HttpError(400, '`sampling_params.temperature` must be 0: this server decodes greedily only', 'sampling_params');
  const maxTokens = sp.max_new_tokens ?? 128;
  if (!isInt(maxTokens) || maxTokens < 0) throw new HttpError(400, '`sampling_params.max_new_tokens` must be a non-negative integer', 'sampling_params');
  prompts.forEach((p, i) => {
    if (p.length + maxTokens > contextSize) throw new HttpError(400, `input ${i}: ${p.length} tokens + max_new_tokens ${maxTokens} exceed the context length ${contextSize}`, 'sampling_params');
  });
  const stopIds = sp.stop_token_ids ?? [];
  if (!Array.isArray(stopIds) || !stopIds.every((t) => isInt(t) && t >= 0 && t < V)) throw new HttpError(400, '`sampling_params.stop_token_ids` must be a list of token ids', 'sampling_params');
  const returnLogprob = raw.return_logprob ?? false;
  if (typeof returnLogprob !== 'boolean') throw new HttpError(400, '`return_logprob` must be a boolean', 'return_logprob');
  const start = raw.logprob_start_len ?? -1;
  if (!isInt(start) || start < -1) throw new HttpError(400, '`logprob_start_len` must be an integer >= -1', 'logprob_start_len');
  const topN = raw.top_logprobs_num ?? 0;
  if (!isInt(topN) || topN < 0) throw new HttpError(400, '`top_logprobs_num` must be a non-negative integer', 'top_logprobs_num');
  if (limits.maxLogprobs !== -1 && topN > limits.maxLogprobs) throw new HttpError(400, `top_logprobs_num ${topN} is greater than max allowed: ${limits.maxLogprobs}`, 'top_logprobs_num');
  const positions = prompts.reduce((a, p) => a + p.length + maxTokens, 0);
  if (returnLogprob && positions * (Math.min(topN, V) + 1) > limits.maxLogprobEntries) throw new HttpError(400, `the response would hold more than ${limits.maxLogprobEntries} log-probabilities`, 'top_logprobs_num');
  const skip = sp.skip_special_tokens ?? true;
  if (typeof skip !== 'boolean') throw new HttpError(400, '`sampling_params.skip_special_tokens` must be a boolean', 'sampling_params');
  return {
    prompts, promptTexts: prompts.map(() => null), maxTokens, echo: maxTokens === 0, logprobs: returnLogprob ? Math.min(topN, V) : null,
    promptLogprobs: returnLogprob && start >= 0 ? Math.min(topN, V) : null, stop: [], stopTokenIds: stopIds as number[], ignoreEos: false,
    asTokenIds: true, returnTokenIds: true, skipSpecialTokens: skip, includeStopStr: false,
    batch, returnLogprob, logprobStartLen: start, topLogprobsNum: Math.min(topN, V),
  };
}

/** SGLang's answer for a job and its results. */
export function generateResponse(job: SglangJob, results: ChoiceResult[], V: number): unknown {
  const out = results.map((r, i) => {
    const prompt = job.prompts[i]!;
    const P = prompt.length;
    const rows = r.rows;
    const triple = (pos: number, id: number): [number | null, number, null] => [pos === 0 ? null : rows![(pos - 1 - r.rowsFrom) * V + id]!, id, null];
    const tops = (pos: number): Array<[number, number, null]> | null => {
      if (pos === 0 || job.topLogprobsNum === 0) return null;
      const off = (pos - 1 - r.rowsFrom) * V;
      return topIds(rows!, off, V, job.topLogprobsNum).map((id) => [rows![off + id]!, id, null]);
    };
    const meta: Record<string, unknown> = {
      id: `${Date.now().toString(16)}${i}`,
      finish_reason: r.finish === 'stop' ? { type: 'stop', matched: r.tokens[r.tokens.length - 1] ?? null } : { type: 'length', length: r.tokens.length },
      prompt_tokens: P, completion_tokens: r.tokens.length, cached_tokens: 0,
    };
    if (job.returnLogprob) {
      const start = job.logprobStartLen >= 0 ? job.logprobStartLen : P;
      const inPos = Array.from({ length: Math.max(0, P - start) }, (_, k) => start + k);
      meta.input_token_logprobs = inPos.map((pos) => triple(pos, prompt[pos]!));
      meta.input_top_logprobs = inPos.map(tops);
      meta.output_token_logprobs = r.tokens.map((id, t) => triple(P + t, id));
      meta.output_top_logprobs = r.tokens.map((_, t) => tops(P + t));
    }
    return { text: r.text, output_ids: r.tokens, meta_info: meta };
  });
  return job.batch ? out : out[0];
}
