/**
 * GGUF files for the llama.cpp back end: exported on demand from a Hugging Face directory (plus
 * adapter) into a cache keyed by the model's fingerprint, or given by the user and then checked
 * against our tokenizer, because llama.cpp is fed our token ids and its rows must mean our tokens.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { modelFingerprint } from '../model/load.js';
import { exportGguf, type GgufDtype } from '../export/gguf-model.js';
import { readGgufHeader } from '../export/gguf-reader.js';
import type { Vocabulary } from '../tokenizer/index.js';
import { UserError } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';

/** Bump when the exporter's output changes, so stale cached files are not reused. */
export const GGUF_EXPORT_REVISION = 1;

/** $LIGHTREASONER_CACHE/gguf, else $XDG_CACHE_HOME/lightreasoner/gguf, else ~/.cache/lightreasoner/gguf. */
export function defaultGgufCacheDir(): string {
  const env = process.env;
  if (env.LIGHTREASONER_CACHE) return join(env.LIGHTREASONER_CACHE, 'gguf');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lightreasoner', 'gguf');
}

/** Where the export of `modelDir` (+ adapter) in `dtype` lives in `cacheDir`. */
export function cachedGgufPath(modelDir: string, adapterDir: string | null, dtype: GgufDtype, cacheDir: string): string {
  const h = createHash('sha256');
  h.update(`${GGUF_EXPORT_REVISION}\n${dtype}\n${modelFingerprint(modelDir, adapterDir)}\n`);
  // The chat template and special tokens live here and go into the GGUF too.
  const tokCfg = join(modelDir, 'tokenizer_config.json');
  if (existsSync(tokCfg)) h.update(readFileSync(tokCfg));
  const name = `${basename(resolve(modelDir))}${adapterDir ? `+${basename(resolve(adapterDir))}` : ''}`.replace(/[^A-Za-z0-9._+-]/g, '_');
  return join(cacheDir, `${name}-${h.digest('hex').slice(0, 16)}-${dtype}.gguf`);
}

/** The cached export of the model, written first when it is not there yet. */
export function ensureGguf(modelDir: string, opts: { adapter?: string | null; dtype?: GgufDtype; cacheDir?: string; onProgress?: ProgressCallback } = {}): { path: string; exported: boolean } {
  const dtype = opts.dtype ?? 'f32';
  const path = cachedGgufPath(modelDir, opts.adapter ?? null, dtype, opts.cacheDir ?? defaultGgufCacheDir());
  if (existsSync(path)) return { path, exported: false };
  exportGguf(modelDir, path, { dtype, ...(opts.adapter ? { adapter: opts.adapter } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  return { path, exported: true };
}

/**
 * Throw a UserError unless the GGUF's vocabulary is ours: `vocabSize` tokens (config.json's
 * vocab_size, the width of every distribution) with the same token at every id our tokenizer has.
 */
export function assertGgufVocabulary(ggufPath: string, tokenizer: Vocabulary, vocabSize: number, tokenizerDir: string): void {
  const header = readGgufHeader(ggufPath);
  const tokens = header.metadata.get('tokenizer.ggml.tokens');
  if (!Array.isArray(tokens)) throw new UserError(`${ggufPath}: has no tokenizer.ggml.tokens; llama.cpp needs the vocabulary in the file`);
  if (tokens.length !== vocabSize) {
    throw new UserError(`${ggufPath}: holds ${tokens.length} tokens but ${tokenizerDir}/config.json has vocab_size ${vocabSize}; the GGUF is not this model`);
  }
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const ours = tokenizer.idToToken(id);
    if (ours !== undefined && tokens[id] !== ours) {
      throw new UserError(`${ggufPath}: token ${id} is ${JSON.stringify(tokens[id])} but the tokenizer in ${tokenizerDir} has ${JSON.stringify(ours)}; llama.cpp would read our token ids as other tokens`);
    }
  }
}
