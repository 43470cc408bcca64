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
import { BACKEND_KINDS, type BackendKind } from '../backends/backend.js';
import type { OpenModelOptions } from '../backends/open.js';
import { INSTALL_HINT } from '../backends/node-llama-cpp.js';
import { UserError } from '../util/errors.js';
import { positiveInt } from './flags.js';

export type BackendSettings = Pick<OpenModelOptions, 'backend' | 'gpu' | 'ggufCacheDir' | 'ggufDtype' | 'parallel' | 'threads' | 'kvCache' | 'contextSize'>;

/** Commander's parser for a positive-integer flag (cli/flags.ts). */
function positiveIntFlag(flag: string): (v: string) => number {
  return (v) => positiveInt(v, flag)!;
}

/**
 * Add --backend, --gpu, --gguf-cache, --gguf-dtype, --llama-parallel, --llama-threads,
 * --llama-context, --kv-cache, and one `--<flag> <file>` per model that may be given as a GGUF.
 */
export function addBackendOptions(cmd: Command, ggufFlags: ReadonlyArray<{ flag: string; model: string }> = []): Command {
  cmd
    .option('--backend <kind>', `what runs the models: engine (this package's CPU engine) or llama.cpp (through the optional node-llama-cpp; install with \`${INSTALL_HINT}\`)`, 'engine')
    .option('--gpu <mode>', 'llama.cpp: auto (use CUDA, Vulkan or Metal when node-llama-cpp finds one) or off (CPU only)', 'auto')
    .option('--gguf-cache <dir>', 'llama.cpp: where models exported to GGUF on the fly are kept (default $LIGHTREASONER_CACHE/gguf or ~/.cache/lightreasoner/gguf)')
    .option('--gguf-dtype <dtype>', 'llama.cpp: weight type of GGUFs exported on the fly: f32 (same weights as the engine) or f16', 'f32')
    .option('--llama-parallel <n>', 'llama.cpp: sequences evaluated in parallel in one context', positiveIntFlag('--llama-parallel'))
    .option('--llama-threads <n>', 'llama.cpp: CPU threads (default: the physical cores minus the 1-minute load average, at least 1, with a warning when load reduced it)', positiveIntFlag('--llama-threads'))
    .option('--llama-context <n>', 'llama.cpp: tokens per sequence, prompt + continuation (default min(max_position_embeddings, 4096))', positiveIntFlag('--llama-context'))
    .option('--kv-cache <type>', 'llama.cpp: KV cache type, f32 (matches the engine) or f16 (half the memory; moves probabilities by ~1e-3)', 'f32');
  for (const { flag, model } of ggufFlags) {
    cmd.option(`--${flag} <file>`, `llama.cpp: run the ${model} from this GGUF instead of exporting its model directory (whose tokenizer must match the file; the directory still provides the tokenizer)`);
  }
  return cmd;
}

/** The back-end settings from parsed options, checked. */
export function backendSettings(o: Record<string, unknown>): BackendSettings {
  const backend = String(o.backend ?? 'engine');
  if (!(BACKEND_KINDS as readonly string[]).includes(backend)) throw new UserError(`--backend must be ${BACKEND_KINDS.join(' or ')}, got "${backend}"`);
  const gpu = String(o.gpu ?? 'auto');
  if (gpu !== 'auto' && gpu !== 'off') throw new UserError(`--gpu must be auto or off, got "${gpu}"`);
  const dtype = String(o.ggufDtype ?? 'f32');
  if (dtype !== 'f32' && dtype !== 'f16') throw new UserError(`--gguf-dtype must be f32 or f16, got "${dtype}"`);
  const kv = String(o.kvCache ?? 'f32');
  if (kv !== 'f32' && kv !== 'f16') throw new UserError(`--kv-cache must be f32 or f16, got "${kv}"`);
  const s: BackendSettings = { backend: backend as BackendKind, gpu, ggufDtype: dtype, kvCache: kv };
  if (typeof o.ggufCache === 'string') s.ggufCacheDir = o.ggufCache;
  if (typeof o.llamaParallel === 'number') s.parallel = o.llamaParallel;
  if (typeof o.llamaThreads === 'number') s.threads = o.llamaThreads;
  if (typeof o.llamaContext === 'number') s.contextSize = o.llamaContext;
  return s;
}
