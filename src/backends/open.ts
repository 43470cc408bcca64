/**
 * One entry point from a model reference (+ adapter) to a back end, with what the pipeline needs
 * beside it: our tokenizer (every back end is fed its ids), the config and the stop ids. Models are
 * read by the one loader, loadModel (src/model/load.ts): with weights for the engine, config and
 * tokenizer only for llama.cpp, which runs its own GGUF.
 *
 *   const expert = await openModel({ backend: 'llama.cpp', modelDir: 'models/expert', gpu: 'auto' });
 *   const gens = await expert.backend.generateGreedy(prompts, { maxNewTokens: 256, stopIds: expert.stopIds });
 *
 * The llama.cpp back end runs a GGUF: the one given, checked against the tokenizer, or the model
 * exported into a cache directory (with the adapter merged) on first use.
 */
import type { ModelConfig } from '../model/config.js';
import { loadModel, type LanguageModel } from '../model/load.js';
import type { GgufDtype } from '../export/gguf-model.js';
import type { WeightsDtype } from '../model/bf16-weights.js';
import type { HfTokenizer } from '../tokenizer/index.js';
import { UserError } from '../util/errors.js';
import { firstNonFinite, nonFiniteName } from '../model/finite.js';
import type { ProgressCallback } from '../util/progress.js';
import type { BackendKind, LanguageModelBackend } from './backend.js';
import { EngineBackend } from './engine.js';
import { DEFAULT_LLAMA_CONTEXT, LlamaCppBackend } from './llama-cpp.js';
import { assertGgufVocabulary, ensureGguf } from './gguf-cache.js';
import { importNodeLlamaCpp } from './node-llama-cpp.js';
import { openRemote, type RemoteOptions } from './openai.js';

export interface OpenModelOptions {
  backend: BackendKind;
  /**
   * The model: a reference resolved by resolveModelDir (a Hugging Face model directory, or a Hub id
   * ORG/NAME through the Hub cache): config.json and the tokenizer always; the weights unless `gguf` is given.
   */
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
  /** llama.cpp: tokens per sequence (default min(max_position_embeddings, DEFAULT_LLAMA_CONTEXT)). */
  contextSize?: number;
  /** llama.cpp: parallel sequences (default 8). */
  parallel?: number;
  threads?: number;
  kvCache?: 'f32' | 'f16';
  /** engine: hold the weights as bf16 (inference only; src/model/bf16-weights.ts); other back ends run their own copy and refuse it. Default f32. */
  weightsDtype?: WeightsDtype;
  onProgress?: ProgressCallback;
  /** openai: the servers that run this model, and how to talk to them (the directory gives the tokenizer and config). */
  remote?: RemoteOptions;
}

export interface OpenedModel {
  /** The local directory the reference resolved to. */
  dir: string;
  adapterDir: string | null;
  tokenizer: HfTokenizer;
  config: ModelConfig;
  /** Ids that end generation (see ModelInfo.stopIds). */
  stopIds: number[];
  /** Identifies the weights and adapter in run manifests (ModelInfo.fingerprint). */
  fingerprint: string;
  /** The dtype the weights are computed in: bf16 only on the engine when asked for. */
  weightsDtype: WeightsDtype;
  backend: LanguageModelBackend;
  /** The loaded model when the back end is our engine (training reuses it); null for llama.cpp. */
  engine: LanguageModel | null;
  /** The GGUF llama.cpp runs, or null. */
  gguf: string | null;
}

/** bf16 weights are the engine's: a back end that runs its own copy of the weights refuses them (callers check early, before reading inputs). */
export function requireWeightsDtypeFits(weightsDtype: WeightsDtype | undefined, backend: BackendKind): void {
  if (weightsDtype === 'bf16' && backend !== 'engine') {
    throw new UserError(`--weights-dtype bf16 applies to the engine back end only; --backend ${backend} runs its own copy of the weights (for llama.cpp choose the GGUF's dtype with its own option)`);
  }
}

export async function openModel(opts: OpenModelOptions): Promise<OpenedModel> {
  const progress = opts.onProgress ? { onProgress: opts.onProgress } : {};
  requireWeightsDtypeFits(opts.weightsDtype, opts.backend);
  if (opts.backend === 'engine') {
    if (opts.gguf) throw new UserError(`a GGUF file (${opts.gguf}) can only be run by the llama.cpp back end; use --backend llama.cpp, or drop the GGUF to run ${opts.modelDir} on the engine`);
    const lm = await loadModel(opts.modelDir, {
      ...(opts.adapter ? { adapter: opts.adapter } : {}), ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
      ...(opts.weightsDtype ? { weightsDtype: opts.weightsDtype } : {}), ...progress,
    });
    return {
      dir: lm.dir, adapterDir: lm.adapterDir, tokenizer: lm.tokenizer, config: lm.config, stopIds: lm.stopIds, fingerprint: lm.fingerprint, weightsDtype: opts.weightsDtype ?? 'f32',
      backend: new EngineBackend(lm.model, `engine ${lm.dir}${opts.adapter ? ` + ${opts.adapter}` : ''}`), engine: lm, gguf: null,
    };
  }
  if (opts.backend === 'openai') return openRemoteModel(opts);
  if (opts.backend !== 'llama.cpp') throw new UserError(`unknown back end "${String(opts.backend)}"; expected engine, llama.cpp or openai`);
  if (opts.gguf && opts.adapter) {
    throw new UserError(`--adapter cannot be applied to a given GGUF (${opts.gguf}); merge it at export (\`lightreasoner export-gguf --model ${opts.modelDir} --adapter ${opts.adapter} --out FILE\`) or drop the GGUF to export on the fly`);
  }
  await importNodeLlamaCpp(); // before any export: a missing package is reported at once
  const info = await loadModel(opts.modelDir, { weights: false, ...(opts.adapter ? { adapter: opts.adapter } : {}), ...(opts.revision !== undefined ? { revision: opts.revision } : {}), ...progress });
  const { dir, tokenizer, config } = info;
  let gguf: string;
  if (opts.gguf) {
    assertGgufVocabulary(opts.gguf, tokenizer, config.vocabSize, dir);
    gguf = opts.gguf;
  } else {
    gguf = ensureGguf(dir, {
      adapter: info.adapterDir, ...(opts.ggufDtype ? { dtype: opts.ggufDtype } : {}),
      ...(opts.ggufCacheDir ? { cacheDir: opts.ggufCacheDir } : {}), ...progress,
    }).path;
  }
  const backend = checkFiniteScores(await LlamaCppBackend.open({
    gguf, vocabSize: config.vocabSize, contextSize: Math.min(opts.contextSize ?? DEFAULT_LLAMA_CONTEXT, config.maxPositionEmbeddings),
    ...(opts.gpu ? { gpu: opts.gpu } : {}), ...(opts.parallel ? { parallel: opts.parallel } : {}),
    ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.kvCache ? { kvCache: opts.kvCache } : {}),
  }), `llama.cpp ${gguf}`);
  return { dir, adapterDir: info.adapterDir, tokenizer, config, stopIds: info.stopIds, fingerprint: info.fingerprint, weightsDtype: 'f32', backend, engine: null, gguf };
}

/**
 * The engine's forward refuses NaN/Inf logits itself (Transformer.forward); a back end that runs
 * elsewhere gets the same check on the distributions it returns, so a NaN never reaches a KL or a
 * score. (Its greedy generations return tokens only; there is nothing to check there.)
 */
export function checkFiniteScores<B extends LanguageModelBackend>(backend: B, name: string): B {
  const inner = backend.stepLogits.bind(backend);
  backend.stepLogits = async (promptIds, generated) => {
    const out = await inner(promptIds, generated);
    const bad = firstNonFinite(out);
    if (bad >= 0) {
      const row = Math.floor(bad / backend.vocabSize);
      throw new UserError(`model ${name} produced a ${nonFiniteName(out[bad]!)} score (token id ${bad % backend.vocabSize}) at position ${promptIds.length + row - 1} of a ${promptIds.length + generated.length}-token sequence; stopping instead of writing results computed from it`);
    }
    return out;
  };
  return backend;
}

/** The openai back end: the model runs on inference servers; the local directory gives the tokenizer, config and stop ids. */
async function openRemoteModel(opts: OpenModelOptions): Promise<OpenedModel> {
  if (!opts.remote || opts.remote.urls.length === 0) throw new UserError(`--backend openai needs the URL of a server that runs ${opts.modelDir} (--expert-url / --amateur-url / --url)`);
  if (opts.gguf) throw new UserError(`a GGUF file (${opts.gguf}) cannot be used with --backend openai; the server loads its own weights`);
  if (opts.adapter) throw new UserError(`--adapter cannot be applied by --backend openai; serve the merged model (\`lightreasoner merge\`) or load the adapter on the server`);
  // Config, tokenizer and stop ids from the one loader, without the weights (the server has its own).
  const info = await loadModel(opts.modelDir, { weights: false, ...(opts.revision !== undefined ? { revision: opts.revision } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  const { dir, tokenizer, config, stopIds } = info;
  const backend = await openRemote({ dir, tokenizer, config, stopIds }, opts.remote, `the server for ${dir}`);
  return { dir, adapterDir: null, tokenizer, config, stopIds, fingerprint: info.fingerprint, weightsDtype: 'f32', backend, engine: null, gguf: null };
}
