/**
 * A model on inference servers (vLLM's OpenAI-compatible API, SGLang's /generate, or
 * `lightreasoner serve`) as a back end. Token ids travel as ids both ways: prompts are sent as id
 * lists, generated tokens come back as ids (`return_tokens_as_token_ids`), and teacher-forced
 * scoring sends the exact Expert ids and reads `prompt_logprobs` at every position. Nothing is
 * re-tokenised; before anything runs, a probe checks that the server's tokenizer is ours.
 *
 *   const b = await OpenAIBackend.open({ urls: ['http://127.0.0.1:8000'], what: 'the Amateur server', logprobs: 'full' },
 *     { dir: 'models/amateur', tokenizer, config, stopIds });
 *   const rows = await b.stepLogits(promptIds, generatedIds); // [T, vocab] log-probabilities
 *
 * With `logprobs: 'full'` (vLLM `--max-logprobs -1`, prompt_logprobs −1) each row is the whole
 * distribution and everything downstream is exact. With `logprobs: k` the server returns the top k
 * per position (plus the scored token); the rest of the row is filled by the uniform-tail rule of
 * docs/top-k-kl.md and the back end reports `logprobsTopK = k` so records say they are approximate.
 */
import type { Generation } from '../model/generate.js';
import type { ModelConfig } from '../model/config.js';
import type { HfTokenizer } from '../tokenizer/index.js';
import { UserError } from '../util/errors.js';
import { checkIds, checkPrompts, type GreedyOptions, type LanguageModelBackend } from './backend.js';
import { EndpointPool, type EndpointPoolOptions } from './endpoint-pool.js';
import {
  parseModelList, parseSglangGenerate, parseTokenizeResponse, parseVllmCompletion, type LogprobMap, type ParsedChoice, type ServerApi,
} from './openai-protocol.js';

/** Text whose ids the server and the local tokenizer must agree on: digits, punctuation, unicode, whitespace runs, ChatML. */
export const TOKENIZER_PROBE = 'Natalia sold 48 clips in April, and 1/2 as many in May: 48/2 = 24.\n\n  café ∑ 数学 🙂 <|im_start|>user\nHow many?<|im_end|>';

export interface RemoteOptions extends Omit<EndpointPoolOptions, 'what'> {
  /** Which API the servers speak (default vllm; `lightreasoner serve` speaks vllm). */
  api?: ServerApi;
  /** 'full': every id at every position (exact); k: the top k per position (approximate KL). */
  logprobs?: 'full' | number;
  /** The served model name; default: the first model /v1/models lists. */
  model?: string;
}

/** What the back end checks the server against. */
export interface LocalModel {
  dir: string;
  tokenizer: HfTokenizer;
  config: ModelConfig;
  stopIds: readonly number[];
}

/** Log-probabilities below this are treated as impossible tokens (vLLM writes −9999 for −inf). */
const TAIL_MASS_FLOOR = 1e-12;

/**
 * Fill `out[off..off+V)` with log-probabilities from the known ones of one position. With
 * `topK === null` every id must be known (the exact row). Otherwise the ids not returned share the
 * mass the returned ones leave, uniformly: log((1 − Σ_known p) / (V − |known|)), with the leftover
 * mass floored at 1e-12 (docs/top-k-kl.md).
 */
export function fillLogprobRow(known: LogprobMap, V: number, out: Float32Array, off: number, topK: number | null, where: string): void {
  if (topK === null) {
    if (known.size < V) throw new UserError(`${where}: the server returned ${known.size} log-probabilities per position, not the whole vocabulary (${V}); start vLLM with --max-logprobs -1, or use --server-logprobs <k> for the top-k approximation`);
    for (const [id, lp] of known) {
      if (id >= V) throw new UserError(`${where}: token id ${id} is outside the vocabulary [0, ${V})`);
      out[off + id] = lp;
    }
    return;
  }
  let mass = 0, n = 0;
  for (const [id, lp] of known) {
    if (id >= V) throw new UserError(`${where}: token id ${id} is outside the vocabulary [0, ${V})`);
    mass += Math.exp(lp);
    n++;
  }
  const rest = V - n;
  const tail = rest > 0 ? Math.log(Math.max(1 - mass, TAIL_MASS_FLOOR) / rest) : -Infinity;
  out.fill(tail, off, off + V);
  for (const [id, lp] of known) out[off + id] = lp;
}

/** The row the server would give for exact log-probabilities `lp[off..off+V)` cut to its top k (the measurement tool uses it). */
export function topKLogprobs(lp: Float32Array, off: number, V: number, k: number, alsoId: number | null): LogprobMap {
  const idx = Array.from({ length: V }, (_, i) => i).sort((a, b) => lp[off + b]! - lp[off + a]! || a - b).slice(0, k);
  const m: LogprobMap = new Map(idx.map((i) => [i, lp[off + i]!]));
  if (alsoId !== null) m.set(alsoId, lp[off + alsoId]!);
  return m;
}

export class OpenAIBackend implements LanguageModelBackend {
  readonly kind = 'openai' as const;
  readonly description: string;
  readonly vocabSize: number;
  readonly contextSize: number;
  /** null: exact full-vocabulary rows; k: top-k rows with the uniform tail. */
  readonly logprobsTopK: number | null;
  readonly pool: EndpointPool;
  private readonly api: ServerApi;

  private constructor(pool: EndpointPool, private readonly model: string, local: LocalModel, api: ServerApi, topK: number | null, contextSize: number) {
    this.pool = pool;
    this.api = api;
    this.vocabSize = local.config.vocabSize;
    this.contextSize = contextSize;
    this.logprobsTopK = topK;
    this.description = `${api} ${pool.urls.join(' ')} (model "${model}", ${topK === null ? 'full-vocabulary log-probabilities' : `top-${topK} log-probabilities`})`;
  }

  /** Calls worth overlapping: endpoints in rotation × requests in flight each. */
  get concurrency(): number {
    return this.pool.capacity;
  }

  /** Connect, find the served model and check its tokenizer against `local`'s. */
  static async open(opts: RemoteOptions & { what: string }, local: LocalModel): Promise<OpenAIBackend> {
    const api = opts.api ?? 'vllm';
    const lp = opts.logprobs ?? 'full';
    if (lp !== 'full' && !(Number.isInteger(lp) && lp >= 1)) throw new UserError(`--server-logprobs must be "full" or a positive integer, got ${JSON.stringify(lp)}`);
    const pool = new EndpointPool(opts);
    const listed = parseModelList(await pool.request('/v1/models'), `${opts.what} /v1/models`);
    const model = opts.model ?? listed.id;
    const ctx = Math.min(local.config.maxPositionEmbeddings, listed.maxModelLen ?? Infinity);
    const b = new OpenAIBackend(pool, model, local, api, lp === 'full' ? null : lp, ctx);
    // Same tokenizer is checked below; which weights the server runs cannot be, without loading ours. Say so when the names differ.
    const localName = local.dir.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? '';
    const served = model.split('/').pop() ?? model;
    if (opts.model === undefined && localName !== '' && served.toLowerCase() !== localName.toLowerCase()) {
      process.stderr.write(`note: ${opts.what} (${pool.urls.join(', ')}) serves "${model}", which is not named like ${local.dir}; check that it runs the same weights\n`);
    }
    await b.probeTokenizer(local, opts.what);
    return b;
  }

  /**
   * Refuse a server whose tokenizer is not ours: the ids of TOKENIZER_PROBE must be the local ids,
   * and the vocabulary sizes must agree (full mode: the width of a returned distribution; top-k
   * mode: the last local id is accepted and config.json's vocab_size is refused).
   */
  private async probeTokenizer(local: LocalModel, what: string): Promise<void> {
    const V = local.config.vocabSize;
    const localIds = local.tokenizer.encode(TOKENIZER_PROBE, { addSpecialTokens: false });
    let serverIds: number[];
    if (this.api === 'vllm') {
      serverIds = parseTokenizeResponse(await this.pool.request('/tokenize', { model: this.model, prompt: TOKENIZER_PROBE, add_special_tokens: false }), `${what} /tokenize`);
    } else {
      const r = await this.pool.request('/generate', { text: TOKENIZER_PROBE, sampling_params: { max_new_tokens: 0, temperature: 0 }, return_logprob: true, logprob_start_len: 0 });
      const meta = (r as { meta_info?: { input_token_logprobs?: unknown[] } }).meta_info;
      serverIds = (meta?.input_token_logprobs ?? []).map((e) => (Array.isArray(e) ? Number(e[1]) : NaN));
      const bos = local.tokenizer.encode('', { addSpecialTokens: true });
      if (bos.length > 0 && serverIds[0] === bos[0] && localIds[0] !== bos[0]) serverIds = serverIds.slice(1);
    }
    const same = serverIds.length === localIds.length && serverIds.every((id, i) => id === localIds[i]);
    if (!same) {
      throw new UserError(`${what} (${this.pool.urls.join(', ')}, model "${this.model}") does not use the tokenizer of ${local.dir}: it encodes the probe ${JSON.stringify(TOKENIZER_PROBE)} as [${serverIds.join(', ')}] but the local tokenizer as [${localIds.join(', ')}]. Serve the same model (or one with the same tokenizer) as ${local.dir}`);
    }
    const probe = localIds.slice(0, 2);
    if (this.logprobsTopK === null) {
      let rows: Array<LogprobMap | null>;
      try {
        rows = (await this.scoreRaw(probe)).logprobs;
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        throw new UserError(`${e.message}\n(full-vocabulary mode asks for prompt_logprobs -1; start vLLM with --max-logprobs -1 (lightreasoner serve: --max-logprobs -1), or use --server-logprobs <k> for the top-k approximation)`);
      }
      const width = rows[1]?.size ?? 0;
      if (width !== V) throw new UserError(`${what} (${this.pool.urls.join(', ')}) returns distributions over ${width} ids but ${local.dir}/config.json's vocab_size is ${V}; the server runs another model or caps log-probabilities (start vLLM with --max-logprobs -1 for full-vocabulary mode)`);
      return;
    }
    const lastTok = local.tokenizer.vocabSize - 1;
    try {
      await this.scoreRaw([probe[0]!, lastTok]);
    } catch (e) {
      throw new UserError(`${what} (${this.pool.urls.join(', ')}) refused to score ids [${probe[0]}, ${lastTok}] (${lastTok} is the last id of the tokenizer of ${local.dir}) with prompt_logprobs ${this.logprobsTopK}: ${e instanceof Error ? e.message : String(e)}`);
    }
    let refused = false;
    try {
      await this.scoreRaw([probe[0]!, V]);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      refused = true;
    }
    if (!refused) throw new UserError(`${what} (${this.pool.urls.join(', ')}) accepts token id ${V}, outside ${local.dir}'s vocabulary (vocab_size ${V}); the server runs a model with a larger vocabulary`);
  }

  /** prompt_logprobs of one id sequence, per position (null at 0). */
  private async scoreRaw(seq: readonly number[]): Promise<{ logprobs: Array<LogprobMap | null>; from: string }> {
    const k = this.logprobsTopK;
    let choice: ParsedChoice;
    let from: string;
    if (this.api === 'vllm') {
      const r = await this.pool.requestWithSource('/v1/completions', {
        model: this.model, prompt: seq, max_tokens: 0, echo: true, temperature: 0,
        prompt_logprobs: k === null ? -1 : k, return_tokens_as_token_ids: true,
      });
      from = r.from;
      const choices = parseVllmCompletion(r.json, from);
      if (choices.length !== 1) throw new UserError(`${from}: expected 1 choice for one prompt, got ${choices.length}`);
      choice = choices[0]!;
    } else {
      const r = await this.pool.requestWithSource('/generate', {
        input_ids: seq, sampling_params: { max_new_tokens: 0, temperature: 0 }, return_logprob: true,
        logprob_start_len: 0, top_logprobs_num: k === null ? this.vocabSize : k, return_text_in_logprobs: false,
      });
      from = r.from;
      choice = parseSglangGenerate(r.json, from);
    }
    const pl = choice.promptLogprobs;
    if (!pl || pl.length !== seq.length) throw new UserError(`${from}: expected prompt log-probabilities at ${seq.length} positions, got ${pl ? pl.length : 'none'} (does the server support prompt_logprobs / logprob_start_len?)`);
    return { logprobs: pl, from };
  }

  async stepLogits(promptIds: ArrayLike<number>, generated: ArrayLike<number>): Promise<Float32Array> {
    const T = generated.length, V = this.vocabSize, P = promptIds.length;
    if (T === 0) return new Float32Array(0);
    const seq = [...Array.from(promptIds), ...Array.from(generated)];
    checkIds(seq, V, 'scored sequence');
    const { logprobs: pl, from } = await this.scoreRaw(seq);
    const out = new Float32Array(T * V);
    for (let t = 0; t < T; t++) {
      const m = pl[P + t];
      if (!m) throw new UserError(`${from}: no log-probabilities at position ${P + t}`);
      fillLogprobRow(m, V, out, t * V, this.logprobsTopK, `${from} (model "${this.model}"), position ${P + t}`);
    }
    return out;
  }

  async generateGreedy(prompts: ReadonlyArray<ArrayLike<number>>, opts: GreedyOptions): Promise<Generation[]> {
    checkPrompts(prompts, this.contextSize, this.vocabSize);
    const stopIds = [...new Set(opts.stopIds)];
    // A sequence may not outgrow the context: ask for fewer tokens there and report "context" as the engine does.
    const budget = prompts.map((p) => Math.min(opts.maxNewTokens, this.contextSize - p.length));
    const groups = new Map<number, number[]>();
    budget.forEach((b, i) => groups.set(b, [...(groups.get(b) ?? []), i]));
    const results: Generation[] = new Array(prompts.length);
    const finish = (i: number, c: ParsedChoice): void => {
      const tokens = c.tokenIds;
      let f: Generation['finish'];
      if (tokens.length > 0 && stopIds.includes(tokens[tokens.length - 1]!)) f = 'stop';
      else if (tokens.length >= budget[i]!) f = budget[i]! < opts.maxNewTokens ? 'context' : 'length';
      else if (c.finishReason === 'stop') f = 'stop';
      else throw new UserError(`${this.description}: generation of prompt ${i} ended after ${tokens.length} of ${budget[i]} tokens without a stop id (finish_reason ${JSON.stringify(c.finishReason)})`);
      results[i] = { tokens, finish: f };
      opts.onFinish?.(i, results[i]!);
    };
    await Promise.all([...groups].map(async ([maxTokens, idx]) => {
      if (this.api === 'vllm') {
        const r = await this.pool.requestWithSource('/v1/completions', {
          model: this.model, prompt: idx.map((i) => Array.from(prompts[i]!)), max_tokens: maxTokens, temperature: 0,
          logprobs: 1, return_tokens_as_token_ids: true, return_token_ids: true, stop_token_ids: stopIds, skip_special_tokens: false,
        });
        const choices = parseVllmCompletion(r.json, r.from);
        if (choices.length !== idx.length) throw new UserError(`${r.from}: sent ${idx.length} prompts, got ${choices.length} choices`);
        choices.forEach((c, k) => finish(idx[k]!, c));
      } else {
        await Promise.all(idx.map(async (i) => {
          const r = await this.pool.requestWithSource('/generate', {
            input_ids: Array.from(prompts[i]!), sampling_params: { max_new_tokens: maxTokens, temperature: 0, stop_token_ids: stopIds, skip_special_tokens: false },
          });
          finish(i, parseSglangGenerate(r.json, r.from));
        }));
      }
    }));
    return results;
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

/** Open a model served over HTTP, with the local directory providing the tokenizer, config and stop ids. */
export async function openRemote(local: LocalModel, opts: RemoteOptions, what: string): Promise<OpenAIBackend> {
  return OpenAIBackend.open({ ...opts, what }, local);
}
