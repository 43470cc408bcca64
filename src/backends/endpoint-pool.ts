/**
 * Several HTTP endpoints serving the same model, used as one: each request goes to the healthy
 * endpoint with the fewest requests in flight (at most `maxInFlight` each; callers wait for a
 * slot), is retried with exponential backoff on 429, 5xx, timeouts and connection errors (on
 * whichever endpoint is free next), and an endpoint that fails `maxConsecutiveFailures` times in a
 * row is taken out of rotation. A 4xx other than 429 is the request's fault: it is not retried.
 *
 * Results do not depend on which endpoint answered (they all run the same weights), so the output
 * of a run is the same with one endpoint or many.
 */
import http from 'node:http';
import https from 'node:https';
import { UserError } from '../util/errors.js';
import { errorBodyMessage } from './openai-protocol.js';

export interface EndpointPoolOptions {
  /** Base URLs (http://host:port, optionally with a path prefix such as /v1 stripped by the caller). */
  urls: readonly string[];
  /** Sent as `Authorization: Bearer <key>` when set. */
  apiKey?: string;
  /** Requests in flight per endpoint (default 4). */
  maxInFlight?: number;
  /** Per-request timeout in ms (default 600000). */
  timeoutMs?: number;
  /** Attempts per request beyond the first (default 5). */
  retries?: number;
  /** First backoff in ms, doubled per attempt (default 200; capped at 10 s). */
  backoffMs?: number;
  /** Failures in a row that take an endpoint out of rotation (default 3). */
  maxConsecutiveFailures?: number;
  /** Largest response body accepted, in bytes (default 400 MiB: a JavaScript string holds at most ~512 Mi characters). */
  maxResponseBytes?: number;
  /** What the pool serves, for messages ("the Expert server"). */
  what: string;
}

interface Endpoint {
  url: URL;
  inFlight: number;
  failures: number;
  healthy: boolean;
  lastError: string | null;
}

/** A response whose status says to retry (429, 5xx) or a transport failure. */
class RetryableError extends Error {
  constructor(message: string, readonly retryAfterMs: number | null = null) {
    super(message);
  }
}

export interface PoolStats {
  requests: number;
  retries: number;
  /** Requests answered per endpoint URL. */
  answered: Record<string, number>;
  /** Endpoints taken out of rotation, with the last error. */
  removed: Array<{ url: string; error: string }>;
}

/** Per-endpoint requests in flight, request timeout and retries when not given (`--max-in-flight`, `--request-timeout`, `--retries`). */
export const DEFAULT_POOL_OPTIONS = { maxInFlight: 4, timeoutMs: 600_000, retries: 5 } as const;

export class EndpointPool {
  private readonly endpoints: Endpoint[];
  private readonly waiters: Array<() => void> = [];
  private readonly o: Required<Omit<EndpointPoolOptions, 'apiKey'>> & { apiKey?: string };
  readonly stats: PoolStats = { requests: 0, retries: 0, answered: {}, removed: [] };

  constructor(opts: EndpointPoolOptions) {
    if (opts.urls.length === 0) throw new UserError(`${opts.what}: no URL given`);
    this.o = {
      ...DEFAULT_POOL_OPTIONS, backoffMs: 200, maxConsecutiveFailures: 3, maxResponseBytes: 400 << 20, ...opts,
    };
    this.endpoints = opts.urls.map((u) => {
      let url: URL;
      try {
        url = new URL(u);
      } catch {
        throw new UserError(`${opts.what}: "${u}" is not a URL (expected http://host:port)`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UserError(`${opts.what}: "${u}" must be an http:// or https:// URL`);
      // The API lives under /v1 (vLLM, OpenAI); accept a base URL given with or without it.
      url.pathname = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
      this.stats.answered[url.href] = 0;
      return { url, inFlight: 0, failures: 0, healthy: true, lastError: null };
    });
  }

  /** Endpoints in rotation × requests each: how many calls are worth overlapping. */
  get capacity(): number {
    return Math.max(1, this.endpoints.filter((e) => e.healthy).length) * this.o.maxInFlight;
  }

  get urls(): string[] {
    return this.endpoints.map((e) => e.url.href);
  }

  /** Where the next pick starts looking: ties go round the endpoints, not always to the first. */
  private nextStart = 0;

  /**
   * The healthy endpoint with the fewest requests in flight; among equals, the next in turn. Without
   * the turn, a client whose requests rarely overlap would send every one to the first endpoint, and
   * the others (a failed one included) would never be tried.
   */
  private pick(): Endpoint | null {
    let best: Endpoint | null = null;
    let bestIndex = -1;
    const n = this.endpoints.length;
    for (let k = 0; k < n; k++) {
      const i = (this.nextStart + k) % n;
      const e = this.endpoints[i]!;
      if (!e.healthy || e.inFlight >= this.o.maxInFlight) continue;
      if (!best || e.inFlight < best.inFlight) { best = e; bestIndex = i; }
    }
    if (best) this.nextStart = (bestIndex + 1) % n;
    return best;
  }

  private async acquire(): Promise<Endpoint> {
    for (;;) {
      if (!this.endpoints.some((e) => e.healthy)) {
        throw new UserError(`${this.o.what}: every endpoint is out of rotation (${this.endpoints.map((e) => `${e.url.href}: ${e.lastError ?? 'failed'}`).join('; ')})`);
      }
      const e = this.pick();
      if (e) {
        e.inFlight++;
        return e;
      }
      await new Promise<void>((res) => this.waiters.push(res));
    }
  }

  private release(e: Endpoint): void {
    e.inFlight--;
    this.waiters.shift()?.();
  }

  private fail(e: Endpoint, msg: string): void {
    e.failures++;
    e.lastError = msg;
    if (e.healthy && e.failures >= this.o.maxConsecutiveFailures) {
      e.healthy = false;
      this.stats.removed.push({ url: e.url.href, error: msg });
      process.stderr.write(`warning: ${this.o.what} ${e.url.href} taken out of rotation after ${e.failures} failures in a row (${msg})\n`);
      // Wake every waiter: they must re-check whether any endpoint is left.
      for (const w of this.waiters.splice(0)) w();
    }
  }

  /** GET (body undefined) or POST JSON to `path` on some endpoint; the parsed JSON answer. */
  async request(path: string, body?: unknown): Promise<unknown> {
    return (await this.requestWithSource(path, body)).json;
  }

  /**
   * As `request`, with the URL that answered: a caller that finds the answer malformed names the
   * server that sent it, not one of the others.
   */
  async requestWithSource(path: string, body?: unknown): Promise<{ json: unknown; from: string }> {
    this.stats.requests++;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    let last = '';
    for (let attempt = 0; ; attempt++) {
      const e = await this.acquire();
      let retryAfter: number | null = null;
      try {
        const json = await this.once(e, path, payload);
        e.failures = 0;
        this.stats.answered[e.url.href]!++;
        return { json, from: `${e.url.href.replace(/\/$/, '')}${path}` };
      } catch (err) {
        if (!(err instanceof RetryableError)) throw err;
        last = `${e.url.href}${path.slice(1)}: ${err.message}`;
        retryAfter = err.retryAfterMs;
        this.fail(e, err.message);
      } finally {
        this.release(e);
      }
      if (attempt >= this.o.retries) throw new UserError(`${this.o.what}: giving up after ${attempt + 1} attempts; last: ${last}`);
      this.stats.retries++;
      const backoff = Math.min(10_000, this.o.backoffMs * 2 ** attempt);
      await new Promise((res) => setTimeout(res, Math.max(backoff, retryAfter ?? 0)));
    }
  }

  private once(e: Endpoint, path: string, payload: Buffer | undefined): Promise<unknown> {
    const url = new URL(e.url.href.replace(/\/$/, '') + path);
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (payload) { headers['content-type'] = 'application/json'; headers['content-length'] = payload.length; }
      if (this.o.apiKey) headers.authorization = `Bearer ${this.o.apiKey}`;
      const req = lib.request(url, { method: payload ? 'POST' : 'GET', headers, timeout: this.o.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.o.maxResponseBytes) {
            req.destroy();
            reject(new UserError(`${this.o.what} ${url.href}: response larger than ${this.o.maxResponseBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err) => reject(new RetryableError(`response interrupted (${err.message})`)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let json: unknown = undefined;
          try {
            json = text === '' ? null : JSON.parse(text);
          } catch {
            json = undefined;
          }
          const msg = (errorBodyMessage(json) ?? text.slice(0, 300)) || `HTTP ${status}`;
          if (status === 429 || status >= 500) {
            const ra = Number(res.headers['retry-after']);
            reject(new RetryableError(`HTTP ${status}: ${msg}`, Number.isFinite(ra) ? Math.min(ra * 1000, 60_000) : null));
          } else if (status === 401 || status === 403) {
            reject(new UserError(`${this.o.what} ${url.href}: HTTP ${status} (${msg}); set the API key in the environment variable named by --api-key-env`));
          } else if (status >= 400) {
            reject(new UserError(`${this.o.what} ${url.href} refused the request: HTTP ${status}: ${msg}`));
          } else if (json === undefined) {
            reject(new RetryableError(`HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}`));
          } else {
            resolve(json);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.o.timeoutMs} ms`)));
      req.on('error', (err) => reject(new RetryableError(err.message)));
      req.end(payload);
    });
  }
}
