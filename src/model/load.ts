/**
 * One loader for a language model as the pipeline uses it: a Hugging Face directory's weights
 * (src/model/model-dir.ts), its tokenizer (src/tokenizer), and optionally a LoRA adapter applied
 * on top without merging.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelDir, type LoadedModel } from './model-dir.js';
import { Transformer } from './transformer.js';
import type { ModelConfig } from './config.js';
import { loadAdapter } from './adapter-dir.js';
import { ENDOFTEXT, IM_END, loadTokenizer, type HfTokenizer } from '../tokenizer/index.js';
import { UserError } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';

export interface LanguageModel {
  dir: string;
  adapterDir: string | null;
  model: Transformer;
  tokenizer: HfTokenizer;
  config: ModelConfig;
  loaded: LoadedModel;
  /**
   * Ids that end generation: the tokenizer's and the model's EOS ids, plus ChatML's <|im_end|> and
   * <|endoftext|> when the vocabulary has them (a base Qwen model prompted in ChatML ends its turn
   * with <|im_end|> although its configured EOS is <|endoftext|>).
   */
  stopIds: number[];
}

export function loadLanguageModel(dir: string, opts: { adapter?: string; onProgress?: ProgressCallback } = {}): LanguageModel {
  const loaded = loadModelDir(dir, opts.onProgress ? { onProgress: opts.onProgress } : {});
  const tokenizer = loadTokenizer(dir);
  if (tokenizer.vocabSize > loaded.config.vocabSize) {
    throw new UserError(`${dir}: the tokenizer has ${tokenizer.vocabSize} ids but config.json's vocab_size is ${loaded.config.vocabSize}; the tokenizer does not belong to this model`);
  }
  const model = new Transformer(loaded.config, loaded.params);
  if (opts.adapter) model.adapter = loadAdapter(opts.adapter, model);
  const stopIds = generationStopIds(tokenizer, loaded.generation.eosTokenIds, loaded.config.vocabSize);
  return { dir, adapterDir: opts.adapter ?? null, model, tokenizer, config: loaded.config, loaded, stopIds };
}

/** See LanguageModel.stopIds. */
export function generationStopIds(tokenizer: HfTokenizer, modelEosIds: readonly number[], vocabSize: number): number[] {
  const chatml = [IM_END, ENDOFTEXT].map((t) => tokenizer.tokenToId(t)).filter((id): id is number => id !== undefined);
  return [...new Set([...tokenizer.eosTokenIds, ...modelEosIds, ...chatml])].filter((id) => id < vocabSize).sort((a, b) => a - b);
}

/**
 * A cheap identity of a model directory (and adapter) for run manifests: config.json, and for each
 * weight file its size and the hashes of its first and last MiB (which cover the safetensors
 * header). Reading whole multi-gigabyte files just to detect a swapped model would cost minutes.
 */
export function modelFingerprint(dir: string, adapterDir?: string | null): string {
  const h = createHash('sha256');
  const addFile = (path: string): void => {
    if (!existsSync(path)) return;
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
    for (const f of ['config.json', 'adapter_config.json', 'tokenizer.json']) if (existsSync(join(d, f))) h.update(readFileSync(join(d, f)));
    for (const f of ['model.safetensors', 'adapter_model.safetensors']) addFile(join(d, f));
    const index = join(d, 'model.safetensors.index.json');
    if (existsSync(index)) {
      const shards = new Set(Object.values((JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map));
      for (const s of [...shards].sort()) addFile(join(d, s));
    }
  }
  return `sha256:${h.digest('hex').slice(0, 32)}`;
}
