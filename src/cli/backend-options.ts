/**
 * The command-line options that choose a back end, shared by the commands that run models
 * (sample, eval, ...): add them with addBackendOptions, read them with backendSettings, and pass
 * the result to openModel together with the model directory, adapter and GGUF of each model.
 *
 *   addBackendOptions(cmd, [{ flag: 'expert-gguf', model: 'Expert' }, { flag: 'amateur-gguf', model: 'Amateur' }]);
 *   ...
 *   const b = backendSettings(opts);
 *   const expert = await openModel({ ...b, modelDir: opts.expert, gguf: opts.expertGguf });
 */
import type { Command } from 'commander';
import { BACKEND_KINDS } from '../backends/backend.js';
import type { OpenModelOptions } from '../backends/open.js';
import { INSTALL_HINT } from '../backends/node-llama-cpp.js';
import { DEFAULT_LLAMA_CONTEXT } from '../backends/llama-cpp.js';
import { UserError } from '../util/errors.js';
import { nonNegativeInt, oneOf, option, positiveInt, wordOrPositiveInt } from './flags.js';
import { DEFAULT_POOL_OPTIONS } from '../backends/endpoint-pool.js';
import { SERVER_APIS } from '../backends/openai-protocol.js';
import type { RemoteOptions } from '../backends/openai.js';

export type BackendSettings = Pick<OpenModelOptions, 'backend' | 'gpu' | 'ggufCacheDir' | 'ggufDtype' | 'parallel' | 'threads' | 'kvCache' | 'contextSize'> & {
  /** openai: how to talk to the servers; each model's URLs are added with remoteFor. */
  server?: Omit<RemoteOptions, 'urls'>;
};

/** Repeatable option: each use adds one value. */
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** The openModel options of one model served at `urls` (flag: the option that gave them, for messages). */
export function remoteFor(b: BackendSettings, urls: unknown, flag: string): Pick<OpenModelOptions, 'remote'> {
  if (b.backend !== 'openai') {
    if (Array.isArray(urls) && urls.length > 0) throw new UserError(`${flag} is for --backend openai (the back end is ${b.backend})`);
    return {};
  }
  if (!Array.isArray(urls) || urls.length === 0) throw new UserError(`--backend openai: give ${flag} <url> (repeat it for several endpoints serving the same model)`);
  return { remote: { ...b.server, urls: urls.map(String) } };
}

/**
 * Add --backend, --gpu, --gguf-cache, --gguf-dtype, --llama-parallel, --llama-threads,
 * --llama-context, --kv-cache, and one `--<flag> <file>` per model that may be given as a GGUF.
 */
export function addBackendOptions(cmd: Command, ggufFlags: ReadonlyArray<{ flag: string; model: string }> = [], urlFlags: ReadonlyArray<{ flag: string; model: string }> = []): Command {
  cmd
    .option('--backend <kind>', `what runs the models: engine (this package's CPU engine, the default), llama.cpp (through the optional node-llama-cpp; install with \`${INSTALL_HINT}\`) or openai (inference servers speaking vLLM's OpenAI-compatible API or SGLang's: vLLM, SGLang, \`lightreasoner serve\`; the default when a URL is given)`)
    .option('--gpu <mode>', 'llama.cpp: auto (use CUDA, Vulkan or Metal when node-llama-cpp finds one) or off (CPU only)', 'auto')
    .option('--gguf-cache <dir>', 'llama.cpp: where models exported to GGUF on the fly are kept (default $LIGHTREASONER_CACHE/gguf or ~/.cache/lightreasoner/gguf)')
    .option('--gguf-dtype <dtype>', 'llama.cpp: weight type of GGUFs exported on the fly: f32 (same weights as the engine) or f16', 'f32')
    .option('--llama-parallel <n>', 'llama.cpp: sequences evaluated in parallel in one context', option(positiveInt, '--llama-parallel'))
    .option('--llama-threads <n>', 'llama.cpp: CPU threads (default: the physical cores minus the 1-minute load average, at least 1, with a warning when load reduced it)', option(positiveInt, '--llama-threads'))
    .option('--llama-context <n>', `llama.cpp: tokens per sequence, prompt + continuation (default min(max_position_embeddings, ${DEFAULT_LLAMA_CONTEXT}))`, option(positiveInt, '--llama-context'))
    .option('--kv-cache <type>', 'llama.cpp: KV cache type, f32 (matches the engine) or f16 (half the memory; moves probabilities by ~1e-3)', 'f32');
  if (urlFlags.length > 0) {
    for (const { flag, model } of urlFlags) {
      cmd.option(`--${flag} <url>`, `openai: base URL of a server running the ${model} (http://host:port); repeat for several endpoints serving the same model — work is spread over them and a failing one is taken out of rotation`, collect);
    }
    cmd
      .option('--server-api <api>', `openai: the servers' API: ${SERVER_APIS.join(' (/v1/completions with prompt_logprobs) or ')} (/generate with logprob_start_len)`, 'vllm')
      .option('--server-logprobs <k>', 'openai: "full" (every id at every position: exact KL and labels; vLLM needs --max-logprobs -1) or k (the top k per position: KL approximated as in docs/top-k-kl.md, and recorded as such)', 'full')
      .option('--api-key-env <var>', 'openai: environment variable holding the API key sent as `Authorization: Bearer` (never passed on the command line)')
      .option('--max-in-flight <n>', 'openai: requests in flight per endpoint', option(positiveInt, '--max-in-flight'), DEFAULT_POOL_OPTIONS.maxInFlight)
      .option('--request-timeout <s>', 'openai: seconds before a request is abandoned and retried', option(positiveInt, '--request-timeout'), DEFAULT_POOL_OPTIONS.timeoutMs / 1000)
      .option('--retries <n>', 'openai: retries of a request (with exponential backoff) on 429, 5xx, timeouts and connection errors', option(nonNegativeInt, '--retries'), DEFAULT_POOL_OPTIONS.retries);
  }
  for (const { flag, model } of ggufFlags) {
    cmd.option(`--${flag} <file>`, `llama.cpp: run the ${model} from this GGUF instead of exporting its model directory (whose tokenizer must match the file; the directory still provides the tokenizer)`);
  }
  return cmd;
}

/** The back-end settings from parsed options, checked. */
export function backendSettings(o: Record<string, unknown>): BackendSettings {
  const urlGiven = ['url', 'expertUrl', 'amateurUrl'].some((k) => Array.isArray(o[k]) && (o[k] as unknown[]).length > 0);
  const backend = oneOf(String(o.backend ?? (urlGiven ? 'openai' : 'engine')), '--backend', BACKEND_KINDS);
  const gpu = oneOf(String(o.gpu ?? 'auto'), '--gpu', ['auto', 'off'] as const);
  const dtype = oneOf(String(o.ggufDtype ?? 'f32'), '--gguf-dtype', ['f32', 'f16'] as const);
  const kv = oneOf(String(o.kvCache ?? 'f32'), '--kv-cache', ['f32', 'f16'] as const);
  const s: BackendSettings = { backend, gpu, ggufDtype: dtype, kvCache: kv };
  if (typeof o.ggufCache === 'string') s.ggufCacheDir = o.ggufCache;
  if (typeof o.llamaParallel === 'number') s.parallel = o.llamaParallel;
  if (typeof o.llamaThreads === 'number') s.threads = o.llamaThreads;
  if (typeof o.llamaContext === 'number') s.contextSize = o.llamaContext;
  if (backend === 'openai') {
    const api = oneOf(String(o.serverApi ?? 'vllm'), '--server-api', SERVER_APIS);
    const remote: Omit<RemoteOptions, 'urls'> = { api, logprobs: wordOrPositiveInt(String(o.serverLogprobs ?? 'full'), '--server-logprobs', 'full') };
    if (typeof o.apiKeyEnv === 'string') {
      const key = process.env[o.apiKeyEnv];
      if (!key) throw new UserError(`--api-key-env ${o.apiKeyEnv}: that environment variable is not set or empty`);
      remote.apiKey = key;
    }
    if (typeof o.maxInFlight === 'number') remote.maxInFlight = o.maxInFlight;
    if (typeof o.requestTimeout === 'number') remote.timeoutMs = o.requestTimeout * 1000;
    if (typeof o.retries === 'number') remote.retries = o.retries;
    s.server = remote;
  }
  return s;
}
