/**
 * `lightreasoner serve`: a model on our engine behind vLLM's OpenAI-compatible API subset
 * (src/serve/server.ts), so `sample --backend openai` / `eval --backend openai` and any OpenAI
 * client can use it.
 *
 *   lightreasoner serve --model models/amateur --port 8001 --max-logprobs -1
 */
import type { Command } from 'commander';
import { loadModel } from '../model/load.js';
import { DEFAULT_SERVE_OPTIONS, startServer } from '../serve/server.js';
import { DEFAULT_LIMITS } from '../serve/completions.js';
import { UserError } from '../util/errors.js';
import { integerAtLeast, nonNegativeInt, positiveInt } from './flags.js';
import { cliProgressCallback } from '../util/progress.js';

interface ServeCliOptions {
  model: string;
  adapter?: string;
  host: string;
  port: string;
  servedModelName?: string;
  maxLogprobs: string;
  maxBatch: string;
  apiKeyEnv?: string;
  log?: boolean;
  json?: boolean;
}

/** The startup line, printed once the server listens (with --json, as one JSON object). */
export interface ServeStartup {
  model: string;
  adapter: string | null;
  modelName: string;
  url: string;
  host: string;
  port: number;
  maxLogprobs: number;
  maxBatch: number;
}

export function formatServeStartup(s: ServeStartup): string {
  return `serving ${s.model}${s.adapter ? ` + adapter ${s.adapter}` : ''} as "${s.modelName}" on ${s.url} (max-logprobs ${s.maxLogprobs})`;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Serve a model on this engine over HTTP with the subset of vLLM\'s OpenAI-compatible API that Stage 1 and eval use: POST /v1/completions (prompt as text or token ids, max_tokens, temperature 0, logprobs, prompt_logprobs, echo, stop, stop_token_ids, return_tokens_as_token_ids), GET /v1/models, GET /health, POST /tokenize. Concurrent requests are decoded together. Stops on Ctrl-C.')
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json, model.safetensors, tokenizer.json)')
    .option('--adapter <dir>', 'LoRA adapter (PEFT layout) applied on top of --model')
    .option('--host <addr>', 'address to listen on (keep the loopback unless the network is trusted; see --api-key-env)', DEFAULT_SERVE_OPTIONS.host)
    .option('--port <n>', 'port (0 picks a free one, printed at start)', String(DEFAULT_SERVE_OPTIONS.port))
    .option('--served-model-name <name>', 'model name in /v1/models and requests (default: the directory name)')
    .option('--max-logprobs <k>', 'largest logprobs / prompt_logprobs k a request may ask for, as vLLM\'s flag; -1 lifts the cap and allows prompt_logprobs -1 (the whole vocabulary), which exact Stage 1 scoring needs', String(DEFAULT_LIMITS.maxLogprobs))
    .option('--max-batch <n>', 'sequences decoded together at most', String(DEFAULT_SERVE_OPTIONS.maxBatch))
    .option('--api-key-env <var>', 'require `Authorization: Bearer <key>` with the key read from this environment variable')
    .option('--log', 'one line per request on stderr')
    .option('--json', 'print the startup line as one JSON object on one line of stdout instead of the text: {model, adapter, modelName, url, host, port, maxLogprobs, maxBatch}')
    .action(async (opts: ServeCliOptions) => {
      const maxLogprobs = integerAtLeast(opts.maxLogprobs, '--max-logprobs', -1);
      const maxBatch = positiveInt(opts.maxBatch, '--max-batch');
      const port = nonNegativeInt(opts.port, '--port');
      if (port > 65535) throw new UserError(`--port must be at most 65535, got ${port}`);
      let apiKey: string | undefined;
      if (opts.apiKeyEnv !== undefined) {
        apiKey = process.env[opts.apiKeyEnv];
        if (!apiKey) throw new UserError(`--api-key-env ${opts.apiKeyEnv}: that environment variable is not set or empty`);
      }
      const progress = cliProgressCallback();
      let lm;
      try {
        lm = await loadModel(opts.model, { ...(opts.adapter ? { adapter: opts.adapter } : {}), onProgress: progress });
      } finally {
        progress.stopAll();
      }
      const server = await startServer(lm, {
        host: opts.host, port, maxBatch, limits: { maxLogprobs },
        ...(opts.servedModelName ? { modelName: opts.servedModelName } : {}), ...(apiKey ? { apiKey } : {}), ...(opts.log ? { log: true } : {}),
      }).catch((e: unknown) => {
        const code = (e as { code?: string }).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new UserError(`cannot listen on ${opts.host}:${port} (${code}): ${e instanceof Error ? e.message : String(e)}`);
        throw e;
      });
      const startup: ServeStartup = {
        model: opts.model, adapter: opts.adapter ?? null, modelName: server.modelName, url: server.url, host: server.host, port: server.port, maxLogprobs, maxBatch,
      };
      // One line either way, so a supervisor can read it as soon as the server listens.
      process.stdout.write(`${opts.json ? JSON.stringify(startup) : formatServeStartup(startup)}\n`);
      await new Promise<void>((res) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(res);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
