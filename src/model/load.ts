/**
 * The one public loader for a language model: `loadModel(ref)` turns a model reference into a
 * directory (resolveModelDir, the single place that does so), reads its config, tokenizer and
 * generation settings, checks that the tokenizer belongs to the model, and — unless told not to —
 * loads the weights (model-dir.ts checks them against the config and for NaN/Inf) and applies a
 * LoRA adapter on top without merging. Every caller (CLI commands, jobs, back ends, the library)
 * goes through it; model-dir.ts's readers are internals.
 *
 *   const expert = await loadModel('models/expert');
 *   const tuned = await loadModel('models/expert', { adapter: 'runs/adapter' });
 *   const info = await loadModel('models/expert', { weights: false }); // config + tokenizer only
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WEIGHTS_INDEX_FILE, weightsIndexShards } from '../hub/weights-index.js';
import { loadModelDir, readGeneration, readModelConfig, type GenerationSettings, type LoadedModel } from './model-dir.js';
import type { ModelParams } from './params.js';
import { Transformer } from './transformer.js';
import type { ModelConfig } from './config.js';
import { loadAdapter } from './adapter-dir.js';
import { holdWeightsAsBf16, type WeightsDtype } from './bf16-weights.js';
import { resolveModelDir } from './resolve.js';
import { ENDOFTEXT, IM_END, loadTokenizer, type HfTokenizer } from '../tokenizer/index.js';
import { UserError } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';

export interface LoadModelOptions {
  /** LoRA adapter directory (PEFT layout) or Hub id, applied on top of the weights without merging. */
  adapter?: string;
  /** Revision of a Hub id `ref` (branch, tag or commit; default main). */
  revision?: string;
  onProgress?: ProgressCallback;
  /** What the model is, in messages ("Expert model", ...); default "model". */
  what?: string;
  /**
   * Load even when the weights hold tensors the config does not use (listed in
   * loaded.ignoredTensors). By default that is an error: it means config and weights differ.
   */
  allowUnusedTensors?: boolean;
  /** false: config, tokenizer and generation settings only (a back end that runs its own copy of the weights). */
  weights?: boolean;
  /** 'bf16': hold the weights as bfloat16, for inference only (src/model/bf16-weights.ts); default 'f32'. */
  weightsDtype?: WeightsDtype;
}

/** What every caller needs of a model, weights aside. */
export interface ModelInfo {
  /** The reference as given. */
  ref: string;
  /** The local directory it resolved to. */
  dir: string;
  adapterDir: string | null;
  config: ModelConfig;
  tokenizer: HfTokenizer;
  generation: GenerationSettings;
  /**
   * Ids that end generation: the tokenizer's and the model's EOS ids, plus ChatML's <|im_end|> and
   * <|endoftext|> when the vocabulary has them (a base Qwen model prompted in ChatML ends its turn
   * with <|im_end|> although its configured EOS is <|endoftext|>).
   */
  stopIds: number[];
  /** modelFingerprint(dir, adapterDir, weightsDtype): identifies the weights in run manifests. */
  fingerprint: string;
}

/** A loaded model: ModelInfo plus the weights, ready to run on the engine. */
export interface LanguageModel extends ModelInfo {
  /** The model, with the adapter applied when one was given. */
  model: Transformer;
  params: ModelParams;
  /** What was read from the directory (tensors by name, ignored tensors; weights held as bf16 are not in `tensors`). */
  loaded: LoadedModel;
}

export function loadModel(ref: string, opts?: LoadModelOptions & { weights?: true }): Promise<LanguageModel>;
export function loadModel(ref: string, opts: LoadModelOptions & { weights: false }): Promise<ModelInfo>;
export async function loadModel(ref: string, opts: LoadModelOptions = {}): Promise<LanguageModel | ModelInfo> {
  const progress = opts.onProgress ? { onProgress: opts.onProgress } : {};
  const dir = await resolveModelDir(ref, { ...(opts.what ? { what: opts.what } : {}), ...(opts.revision !== undefined ? { revision: opts.revision } : {}), ...progress });
  // Config and tokenizer first: both are small, and a mismatch is reported before gigabytes are read.
  const config = readModelConfig(dir);
  const tokenizer = loadTokenizer(dir);
  assertTokenizerFits(tokenizer, config, dir);
  const adapterDir = opts.adapter === undefined ? null : await resolveModelDir(opts.adapter, { kind: 'adapter', ...progress });
  const weightsDtype = opts.weightsDtype ?? 'f32';
  const fingerprint = modelFingerprint(dir, adapterDir, weightsDtype);
  if (opts.weights === false) {
    const generation = readGeneration(dir, config);
    return { ref, dir, adapterDir, config, tokenizer, generation, stopIds: generationStopIds(tokenizer, generation.eosTokenIds, config.vocabSize), fingerprint };
  }
  const loaded = loadModelDir(dir, {
    config,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.allowUnusedTensors ? { allowUnusedTensors: true } : {}),
  });
  if (weightsDtype === 'bf16') holdWeightsAsBf16(loaded.params, loaded.tensors);
  const model = new Transformer(loaded.config, loaded.params);
  model.name = `${dir}${adapterDir ? ` + ${adapterDir}` : ''}`;
  if (adapterDir) model.adapter = loadAdapter(adapterDir, model);
  const stopIds = generationStopIds(tokenizer, loaded.generation.eosTokenIds, loaded.config.vocabSize);
  return {
    ref, dir, adapterDir, config: loaded.config, tokenizer, generation: loaded.generation, stopIds,
    fingerprint, model, params: loaded.params, loaded,
  };
}

/** The tokenizer must not produce ids the model has no row for. */
function assertTokenizerFits(tokenizer: HfTokenizer, config: ModelConfig, dir: string): void {
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new UserError(`${dir}: the tokenizer has ${tokenizer.vocabSize} ids but config.json's vocab_size is ${config.vocabSize}; the tokenizer does not belong to this model`);
  }
}

/** See ModelInfo.stopIds. */
export function generationStopIds(tokenizer: HfTokenizer, modelEosIds: readonly number[], vocabSize: number): number[] {
  const chatml = [IM_END, ENDOFTEXT].map((t) => tokenizer.tokenToId(t)).filter((id): id is number => id !== undefined);
  return [...new Set([...tokenizer.eosTokenIds, ...modelEosIds, ...chatml])].filter((id) => id < vocabSize).sort((a, b) => a - b);
}

function isRegularFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/**
 * Identifies the weights as this process computes with them: the files' hash (weightsHash), marked
 * "+bf16" when they are held as bf16, whose numbers
 * differ slightly — so a run manifest (sample, eval) refuses to continue a run across dtypes.
 */
export function modelFingerprint(dir: string, adapterDir?: string | null, dtype: WeightsDtype = 'f32'): string {
  const f = weightsHash(dir, adapterDir);
  return dtype === 'bf16' ? `${f}+bf16` : f;
}

/**
 * A cheap identity of a model directory (and adapter) for run manifests: config.json, and for each
 * weight file its size and the hashes of its first and last MiB (which cover the safetensors
 * header). Reading whole multi-gigabyte files just to detect a swapped model would cost minutes.
 * Takes a resolved directory (ModelInfo.fingerprint is this for a loaded model).
 */
function weightsHash(dir: string, adapterDir?: string | null): string {
  const h = createHash('sha256');
  const addFile = (path: string): void => {
    if (!isRegularFile(path)) return; // a FIFO would block; the loader reports it
    const size = statSync(path).size;
    h.update(`${path.split('/').pop()}:${size}:`);
    const fd = openSync(path, 'r');
    try {
      const n = Math.min(size, 1 << 20);
      const buf = Buffer.alloc(n);
      readSync(fd, buf, 0, n, 0);
      h.update(buf);
      readSync(fd, buf, 0, n, Math.max(0, size - n));
      h.update(buf);
    } finally {
      closeSync(fd);
    }
  };
  for (const d of [dir, adapterDir].filter((x): x is string => !!x)) {
    // A reference that is not a directory (a Hub id not yet resolved, a typo) would hash to the same
    // value for every model and let a manifest check pass for another one.
    if (!existsSync(d) || !statSync(d).isDirectory()) throw new UserError(`cannot fingerprint ${d}: not a model directory (resolve Hub ids with resolveModelDir first)`);
    for (const f of ['config.json', 'adapter_config.json', 'tokenizer.json']) if (isRegularFile(join(d, f))) h.update(readFileSync(join(d, f)));
    for (const f of ['model.safetensors', 'adapter_model.safetensors']) addFile(join(d, f));
    const index = join(d, WEIGHTS_INDEX_FILE);
    if (isRegularFile(index)) {
      h.update(readFileSync(index));
      let shards: string[];
      try {
        shards = weightsIndexShards(index);
      } catch {
        shards = []; // a damaged index is reported, with its file, by the loader
      }
      for (const s of shards) addFile(join(d, s));
    }
  }
  return `sha256:${h.digest('hex').slice(0, 32)}`;
}
