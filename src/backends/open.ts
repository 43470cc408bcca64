/**
 * One entry point from a model directory (+ adapter) to a back end, with what the pipeline needs
 * beside it: our tokenizer (every back end is fed its ids), the config and the stop ids.
 *
 *   const expert = await openModel({ backend: 'llama.cpp', modelDir: 'models/expert', gpu: 'auto' });
 *   const gens = await expert.backend.generateGreedy(prompts, { maxNewTokens: 256, stopIds: expert.stopIds });
 *
 * The llama.cpp back end runs a GGUF: the one given, checked against the tokenizer, or the model
 * exported into a cache directory (with the adapter merged) on first use.
 */
import { join } from 'node:path';
import { parseConfig, type ModelConfig } from '../model/config.js';
import { generationStopIds, loadLanguageModel, type LanguageModel } from '../model/load.js';
import { readGeneration } from '../model/model-dir.js';
import type { GgufDtype } from '../export/gguf-model.js';
import { loadTokenizer, type HfTokenizer } from '../tokenizer/index.js';
import { resolveModelRef } from '../hub/resolve.js';
import { UserError } from '../util/errors.js';
import { readJsonFile } from '../util/fsx.js';
import type { ProgressCallback } from '../util/progress.js';
import type { BackendKind, LanguageModelBackend } from './backend.js';
import { EngineBackend } from './engine.js';
import { LlamaCppBackend } from './llama-cpp.js';
import { assertGgufVocabulary, ensureGguf } from './gguf-cache.js';
import { importNodeLlamaCpp } from './node-llama-cpp.js';
import { openRemote, type RemoteOptions } from './openai.js';

export interface OpenModelOptions {
  backend: BackendKind;
  /** Hugging Face model directory: config.json and the tokenizer always; the weights unless `gguf` is given. A Hub id ORG/NAME is resolved through the Hub cache (src/hub). */
  modelDir: string;
  /** Revision of a Hub id `modelDir` (default main). */
  revision?: string;
  /** LoRA adapter (PEFT layout): applied by the engine, merged into the exported GGUF for llama.cpp. */
  adapter?: string;
  /** llama.cpp: run this GGUF instead of exporting the model (its vocabulary must be the tokenizer's). */
  gguf?: string;
  /** llama.cpp: where exported GGUFs are kept (default: defaultGgufCacheDir()). */
  ggufCacheDir?: string;
  /** llama.cpp: dtype of an exported GGUF (default f32, so llama.cpp computes on the same weights). */
  ggufDtype?: GgufDtype;
  gpu?: 'auto' | 'off';
  /** llama.cpp: tokens per sequence (default min(max_position_embeddings, 4096)). */
  contextSize?: number;
  /** llama.cpp: parallel sequences (default 8). */
  parallel?: number;
  threads?: number;
  kvCache?: 'f32' | 'f16';
  onProgress?: ProgressCallback;
  /** openai: the servers that run this model, and how to talk to them (the directory gives the tokenizer and config). */
  remote?: RemoteOptions;
}

export interface OpenedModel {
  dir: string;
  adapterDir: string | null;
  tokenizer: HfTokenizer;
  config: ModelConfig;
  /** Ids that end generation: the tokenizer's EOS ids (as loadLanguageModel computes them). */
  stopIds: number[];
  backend: LanguageModelBackend;
  /** The loaded model when the back end is our engine (training reuses it); null for llama.cpp. */
  engine: LanguageModel | null;
  /** The GGUF llama.cpp runs, or null. */
  gguf: string | null;
}

export async function openModel(opts: OpenModelOptions): Promise<OpenedModel> {
  // Hub ids to snapshot directories, once the combination of options is known to make sense.
  const resolveRefs = async (): Promise<void> => {
    const onProgress = opts.onProgress ? { onProgress: opts.onProgress } : {};
    opts = {
      ...opts, modelDir: await resolveModelRef(opts.modelDir, { ...(opts.revision !== undefined ? { revision: opts.revision } : {}), ...onProgress }),
      ...(opts.adapter ? { adapter: await resolveModelRef(opts.adapter, { kind: 'adapter', ...onProgress }) } : {}),
    };
  };
  if (opts.backend === 'engine') {
    if (opts.gguf) throw new UserError(`a GGUF file (${opts.gguf}) can only be run by the llama.cpp back end; use --backend llama.cpp, or drop the GGUF to run ${opts.modelDir} on the engine`);
    await resolveRefs();
    const lm = loadLanguageModel(opts.modelDir, { ...(opts.adapter ? { adapter: opts.adapter } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    return {
      dir: lm.dir, adapterDir: lm.adapterDir, tokenizer: lm.tokenizer, config: lm.loaded.config, stopIds: lm.stopIds,
      backend: new EngineBackend(lm.model, `engine ${opts.modelDir}${opts.adapter ? ` + ${opts.adapter}` : ''}`), engine: lm, gguf: null,
    };
  }
  if (opts.backend === 'openai') return openRemoteModel(opts);
  if (opts.backend !== 'llama.cpp') throw new UserError(`unknown back end "${String(opts.backend)}"; expected engine, llama.cpp or openai`);
  if (opts.gguf && opts.adapter) {
    throw new UserError(`--adapter cannot be applied to a given GGUF (${opts.gguf}); merge it at export (\`lightreasoner export-gguf --model ${opts.modelDir} --adapter ${opts.adapter} --out FILE\`) or drop the GGUF to export on the fly`);
  }
  await importNodeLlamaCpp(); // before any export or download: a missing package is reported at once
  await resolveRefs();
  const configPath = join(opts.modelDir, 'config.json');
  const raw = readJsonFile<Record<string, unknown>>(configPath, 'model config');
  const config = parseConfig(raw, configPath);
  const tokenizer = loadTokenizer(opts.modelDir);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new UserError(`${opts.modelDir}: the tokenizer has ${tokenizer.vocabSize} ids but config.json's vocab_size is ${config.vocabSize}; the tokenizer does not belong to this model`);
  }
  let gguf: string;
  if (opts.gguf) {
    assertGgufVocabulary(opts.gguf, tokenizer, config.vocabSize, opts.modelDir);
    gguf = opts.gguf;
  } else {
    gguf = ensureGguf(opts.modelDir, {
      adapter: opts.adapter ?? null, ...(opts.ggufDtype ? { dtype: opts.ggufDtype } : {}),
      ...(opts.ggufCacheDir ? { cacheDir: opts.ggufCacheDir } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    }).path;
  }
  const backend = await LlamaCppBackend.open({
    gguf, vocabSize: config.vocabSize, contextSize: Math.min(opts.contextSize ?? 4096, config.maxPositionEmbeddings),
    ...(opts.gpu ? { gpu: opts.gpu } : {}), ...(opts.parallel ? { parallel: opts.parallel } : {}),
    ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.kvCache ? { kvCache: opts.kvCache } : {}),
  });
  const stopIds = generationStopIds(tokenizer, readGeneration(opts.modelDir, config).eosTokenIds, config.vocabSize);
  return { dir: opts.modelDir, adapterDir: opts.adapter ?? null, tokenizer, config, stopIds, backend, engine: null, gguf };
}

/** The openai back end: the model runs on inference servers; the local directory gives the tokenizer, config and stop ids. */
async function openRemoteModel(opts: OpenModelOptions): Promise<OpenedModel> {
  if (!opts.remote || opts.remote.urls.length === 0) throw new UserError(`--backend openai needs the URL of a server that runs ${opts.modelDir} (--expert-url / --amateur-url / --url)`);
  if (opts.gguf) throw new UserError(`a GGUF file (${opts.gguf}) cannot be used with --backend openai; the server loads its own weights`);
  if (opts.adapter) throw new UserError(`--adapter cannot be applied by --backend openai; serve the merged model (\`lightreasoner merge\`) or load the adapter on the server`);
  const configPath = join(opts.modelDir, 'config.json');
  const config = parseConfig(readJsonFile<Record<string, unknown>>(configPath, 'model config'), configPath);
  const tokenizer = loadTokenizer(opts.modelDir);
  const stopIds = generationStopIds(tokenizer, readGeneration(opts.modelDir, config).eosTokenIds, config.vocabSize);
  const backend = await openRemote({ dir: opts.modelDir, tokenizer, config, stopIds }, opts.remote, `the server for ${opts.modelDir}`);
  return { dir: opts.modelDir, adapterDir: null, tokenizer, config, stopIds, backend, engine: null, gguf: null };
}
