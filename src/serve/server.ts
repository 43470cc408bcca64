/**
 * `lightreasoner serve`: one model on our engine behind the subset of vLLM's OpenAI-compatible API
 * that Stage 1 and eval use — POST /v1/completions, GET /v1/models, GET /health, POST /tokenize —
 * answering in vLLM's shapes, so the same client (src/backends/openai.ts) runs against either.
 *
 * Batching: requests are queued; the decode loop takes every queued generation request at once
 * and decodes their prompts together (one generate() call per distinct max_tokens / stop-id set),
 * then teacher-forced passes give the log-probabilities each request asked for. Requests that
 * arrive while a batch runs wait for the next one. The engine is synchronous, so while a batch
 * decodes the server accepts no new connection; they queue in the kernel's backlog.
 *
 * SGLang's native POST /generate is answered too (src/serve/sglang.ts), for --server-api sglang.
 *
 * Malformed requests get vLLM's error body with a 4xx status; bodies and responses are bounded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, resolve } from 'node:path';
import { generateGreedy } from '../model/generate.js';
import type { LanguageModel } from '../model/load.js';
import { packSequences } from '../model/transformer.js';
import { logSoftmaxRow } from '../engine/ops/loss.js';
import { errorMessage } from '../util/errors.js';
import { generateResponse, parseGenerateRequest } from './sglang.js';
import { completionResponse, serializeResponse, DEFAULT_LIMITS, errorBody, HttpError, parseCompletionRequest, type ChoiceResult, type CompletionJob, type ServeLimits } from './completions.js';

export interface ServeOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Name /v1/models lists and requests must use (default: the model directory's name). */
  modelName?: string;
  /** Required as `Authorization: Bearer <key>` when set. */
  apiKey?: string;
  limits?: Partial<ServeLimits>;
  /** Largest request body in bytes (default 16 MiB). */
  maxBodyBytes?: number;
  /** Sequences decoded together at most (default 64). */
  maxBatch?: number;
  /** Requests queued at most; more are answered 429 (default 1024). */
  maxQueue?: number;
  /** Log one line per request to stderr. */
  log?: boolean;
}

/** Where and how much `serve` serves when not told: the loopback, vLLM's port, and the batch limits below. */
export const DEFAULT_SERVE_OPTIONS = { host: '127.0.0.1', port: 8000, maxBatch: 64, maxQueue: 1024 } as const;

export interface ServeStats {
  requests: number;
  errors: number;
  /** Generation batches run, and the largest number of requests one held. */
  batches: number;
  largestBatchRequests: number;
}

export interface RunningServer {
  host: string;
  port: number;
  url: string;
  modelName: string;
  stats: ServeStats;
  close(): Promise<void>;
}

interface Queued {
  job: CompletionJob;
  resolve: (r: ChoiceResult[]) => void;
  reject: (e: unknown) => void;
}

export function startServer(lm: LanguageModel, opts: ServeOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const modelName = opts.modelName ?? basename(resolve(lm.dir));
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const maxBody = opts.maxBodyBytes ?? 16 << 20;
  const maxBatch = opts.maxBatch ?? DEFAULT_SERVE_OPTIONS.maxBatch;
  const maxQueue = opts.maxQueue ?? DEFAULT_SERVE_OPTIONS.maxQueue;
  const V = lm.config.vocabSize, contextSize = lm.config.maxPositionEmbeddings;
  const created = Math.floor(Date.now() / 1000);
  const stats: ServeStats = { requests: 0, errors: 0, batches: 0, largestBatchRequests: 0 };
  const ctx = { modelName, vocabSize: V, contextSize, tokenizer: lm.tokenizer, limits };
  const queue: Queued[] = [];
  let scheduled = false;

  /**
   * Log-probability rows of seq for positions [from, seq.length − 1) (row k predicts seq[from+k+1]):
   * only the rows asked for are kept — a generation request without echo needs none of the
   * prompt's, and at a 152k vocabulary each row is 600 kB.
   */
  const logprobRows = (seq: number[], from: number): Float32Array => {
    const n = seq.length - 1 - from;
    const out = new Float32Array(Math.max(0, n) * V);
    if (n <= 0) return out;
    const rows = Int32Array.from({ length: n }, (_, k) => from + k);
    const logits = lm.model.forward(packSequences([seq.slice(0, seq.length - 1)]), { logitRows: rows }).logits;
    for (let k = 0; k < n; k++) logSoftmaxRow(logits, k * V, V, out, k * V);
    return out;
  };

  const runJobs = (batch: Queued[]): void => {
    // Group generation by what generate() takes once per call: the token budget and the stop set.
    const gens = new Map<string, Array<{ q: Queued; i: number }>>();
    for (const q of batch) {
      if (q.job.maxTokens === 0) continue;
      const stopIds = [...new Set([...(q.job.ignoreEos ? [] : lm.stopIds), ...q.job.stopTokenIds])].sort((a, b) => a - b);
      const key = `${q.job.maxTokens}|${stopIds.join(',')}`;
      const list = gens.get(key) ?? [];
      q.job.prompts.forEach((_, i) => list.push({ q, i }));
      gens.set(key, list);
    }
    const generated = new Map<Queued, Array<{ tokens: number[]; finish: 'stop' | 'length' | 'context' }>>();
    for (const [key, list] of gens) {
      const [maxTokens, stopKey] = key.split('|') as [string, string];
      const stopIds = stopKey === '' ? [] : stopKey.split(',').map(Number);
      const out = generateGreedy(lm.model, list.map(({ q, i }) => q.job.prompts[i]!), { maxNewTokens: Number(maxTokens), stopIds, batchSize: maxBatch });
      list.forEach(({ q, i }, k) => {
        const g = generated.get(q) ?? [];
        g[i] = out[k]!;
        generated.set(q, g);
      });
    }
    stats.batches++;
    stats.largestBatchRequests = Math.max(stats.largestBatchRequests, gens.size > 0 ? new Set([...gens.values()].flat().map((x) => x.q)).size : 0);
    for (const q of batch) {
      try {
        const job = q.job;
        const results = job.prompts.map((prompt, i): ChoiceResult => {
          let tokens = job.maxTokens === 0 ? [] : generated.get(q)![i]!.tokens;
          const g = job.maxTokens === 0 ? null : generated.get(q)![i]!;
          let finish: 'stop' | 'length' = g && g.finish === 'stop' ? 'stop' : 'length';
          const last = tokens[tokens.length - 1];
          let stopReason: number | string | null = finish === 'stop' && last !== undefined && job.stopTokenIds.includes(last) && !lm.stopIds.includes(last) ? last : null;
          let text = lm.tokenizer.decode(tokens, { skipSpecialTokens: job.skipSpecialTokens });
          if (job.stop.length > 0) {
            // Greedy decoding is deterministic, so cutting at the first stop string afterwards gives what stopping there would have.
            for (let t = 1; t <= tokens.length; t++) {
              const prefix = lm.tokenizer.decode(tokens.slice(0, t), { skipSpecialTokens: job.skipSpecialTokens });
              const hit = job.stop.map((s) => ({ s, at: prefix.indexOf(s) })).filter((h) => h.at >= 0).sort((a, b) => a.at - b.at)[0];
              if (hit) {
                tokens = tokens.slice(0, t);
                text = prefix.slice(0, hit.at + (job.includeStopStr ? hit.s.length : 0));
                finish = 'stop';
                stopReason = hit.s;
                break;
              }
            }
          }
          const wantRows = job.promptLogprobs !== null || job.logprobs !== null;
          const from = job.promptLogprobs !== null || job.echo ? 0 : prompt.length - 1;
          const rows = wantRows ? logprobRows([...prompt, ...tokens], from) : null;
          return { tokens, finish, stopReason, text, rows, rowsFrom: from };
        });
        q.resolve(results);
      } catch (e) {
        q.reject(e);
      }
    }
  };

  const drain = (): void => {
    const batch = queue.splice(0, queue.length);
    try {
      runJobs(batch);
    } catch (e) {
      for (const q of batch) q.reject(e);
    }
    if (queue.length > 0) setTimeout(drain, 0);
    else scheduled = false;
  };

  const enqueue = (job: CompletionJob): Promise<ChoiceResult[]> => new Promise((res, rej) => {
    if (queue.length >= maxQueue) throw new HttpError(429, `the server has ${queue.length} requests queued; retry later`, null, 'RateLimitError');
    queue.push({ job, resolve: res, reject: rej });
    if (!scheduled) {
      scheduled = true;
      setTimeout(drain, 1); // a moment for requests sent together to arrive together
    }
  });

  const send = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = body === null ? '' : serializeResponse(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const readBody = (req: http.IncomingMessage): Promise<unknown> => new Promise((res, rej) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBody) {
      rej(new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${maxBody} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0, over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) { over = true; return; }
      chunks.push(c);
    });
    req.on('error', rej);
    req.on('end', () => {
      if (over) return rej(new HttpError(413, `request body exceeds the limit of ${maxBody} bytes`));
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        res(JSON.parse(text));
      } catch (e) {
        rej(new HttpError(400, `the request body is not valid JSON (${errorMessage(e).slice(0, 200)})`));
      }
    });
  });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    stats.requests++;
    const path = (req.url ?? '/').split('?')[0]!;
    if (opts.apiKey && path !== '/health' && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      req.resume();
      send(res, 401, { error: 'Unauthorized' });
      return;
    }
    const route = `${req.method} ${path}`;
    switch (route) {
      case 'GET /health':
        send(res, 200, null);
        return;
      case 'GET /v1/models':
        send(res, 200, {
          object: 'list',
          data: [{ id: modelName, object: 'model', created, owned_by: 'lightreasoner', root: resolve(lm.dir), parent: null, max_model_len: contextSize, permission: [] }],
        });
        return;
      case 'POST /tokenize': {
        const body = await readBody(req);
        if (typeof body !== 'object' || body === null || typeof (body as { prompt?: unknown }).prompt !== 'string') throw new HttpError(400, '`prompt` must be a string', 'prompt');
        const b = body as { prompt: string; add_special_tokens?: unknown };
        if (b.prompt.length > contextSize * 64) throw new HttpError(400, `prompt of ${b.prompt.length} characters is too long`, 'prompt');
        const tokens = lm.tokenizer.encode(b.prompt, { addSpecialTokens: b.add_special_tokens !== false });
        send(res, 200, { count: tokens.length, max_model_len: contextSize, tokens, token_strs: null });
        return;
      }
      case 'POST /v1/completions': {
        const job = parseCompletionRequest(await readBody(req), ctx);
        const results = await enqueue(job);
        send(res, 200, completionResponse(job, results, ctx));
        return;
      }
      case 'POST /generate': {
        const job = parseGenerateRequest(await readBody(req), ctx);
        const results = await enqueue(job);
        send(res, 200, generateResponse(job, results, V));
        return;
      }
      default:
        req.resume();
        if (['/health', '/v1/models', '/tokenize', '/v1/completions', '/generate'].includes(path)) throw new HttpError(405, `Method ${req.method} is not allowed on ${path}`, null, 'MethodNotAllowed');
        throw new HttpError(404, `${path} is not served here (this server offers POST /v1/completions, GET /v1/models, GET /health, POST /tokenize, and SGLang's POST /generate)`);
    }
  };

  const server = http.createServer((req, res) => {
    const t0 = performance.now();
    handle(req, res).catch((e: unknown) => {
      const err = e instanceof HttpError ? e : new HttpError(500, `internal error: ${errorMessage(e)}`, null, 'InternalServerError');
      stats.errors++;
      if (!res.headersSent) send(res, err.status, errorBody(err));
      else res.destroy();
    }).finally(() => {
      if (opts.log) process.stderr.write(`${req.method} ${req.url} ${res.statusCode} ${(performance.now() - t0).toFixed(0)} ms\n`);
    });
  });
  server.requestTimeout = 0; // a long batch is not a slow client
  server.headersTimeout = 60_000;
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\r\n{"error":{"message":"malformed HTTP request","type":"BadRequestError","param":null,"code":400}}');
    else socket.destroy();
  });
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(opts.port ?? 8000, host, () => {
      const port = (server.address() as AddressInfo).port;
      res({
        host, port, url: `http://${host}:${port}`, modelName, stats,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}
