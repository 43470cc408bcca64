/**
 * Hugging Face model directories: `config.json`, weights in `model.safetensors` or sharded with
 * `model.safetensors.index.json`, optional `generation_config.json`, tokenizer files beside them.
 * Loading checks every tensor against `expectedTensors(config)` from the headers alone, so a
 * config/checkpoint mismatch is reported with the file and tensor name before gigabytes are read.
 * Saving builds the whole directory under a temp name and renames it into place, so a killed
 * process leaves either no model or a complete one.
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ModelConfig, WeightDtype } from './config.js';
import { parameterCount, parseConfig } from './config.js';
import type { ModelParams } from './params.js';
import { expectedTensors, paramsFromTensors, tensorsFromParams } from './params.js';
import type { TensorMap } from './tensor.js';
import { fmtShape, shapeEquals } from './tensor.js';
import type { FloatDtype, SafetensorsEntry, SafetensorsHeader } from './safetensors.js';
import { readSafetensorsHeader, readSafetensorsWithHeader, writeSafetensors } from './safetensors.js';
import { UserError, describeValue, errorMessage } from '../util/errors.js';
import { readJsonFile, writeJsonAtomic } from '../util/fsx.js';
import { WEIGHTS_INDEX_FILE, readWeightsIndex } from '../hub/weights-index.js';
import type { ProgressCallback } from '../util/progress.js';

export const WEIGHTS_FILE = 'model.safetensors';
export { WEIGHTS_INDEX_FILE };

/** Files copied by saveModelDir's `copyFrom`, when present: what a tokenizer and generation need. */
export const TOKENIZER_FILES = [
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'vocab.json',
  'merges.txt', 'tokenizer.model', 'generation_config.json', 'chat_template.jinja', 'chat_template.json',
] as const;

export interface GenerationSettings {
  /** Generation stops at any of these (generation_config.json, else config.json). */
  eosTokenIds: number[];
  bosTokenId?: number;
  padTokenId?: number;
}

export interface LoadedModel {
  dir: string;
  config: ModelConfig;
  params: ModelParams;
  /** The tensors `params` views, by HF name: exactly those of expectedTensors(config). */
  tensors: TensorMap;
  generation: GenerationSettings;
  /**
   * Tensors in the checkpoint that this config does not use and that were not read: expected
   * leftovers (a tied model's `lm_head.weight`, `rotary_emb.inv_freq`), or anything when
   * `allowUnusedTensors` was given.
   */
  ignoredTensors: string[];
}

const DTYPE_OF: Record<WeightDtype, FloatDtype> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requireDir(dir: string, what: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new UserError(`${what} not found: ${dir}`);
  }
  if (!isDir) throw new UserError(`${what} ${dir} is not a directory`);
}

/** Where each needed tensor lives: its header entry and the header of its file. */
interface Located { entry: SafetensorsEntry; header: SafetensorsHeader }

interface LocatedWeights {
  located: Map<string, Located>;
  headers: SafetensorsHeader[];
  /** Every tensor name the checkpoint declares: the index's weight_map and the headers read. */
  allNames: Set<string>;
  /** Bytes of every weight file present (all shards the index lists). */
  fileBytes: number;
  /** What to name in messages: model.safetensors, or the index. */
  label: string;
  source: (name: string) => string;
}

/** Headers of the weight files, and which tensors of each to read. */
function locateWeights(dir: string, wanted: Set<string>): LocatedWeights {
  const single = join(dir, WEIGHTS_FILE);
  const indexPath = join(dir, WEIGHTS_INDEX_FILE);
  const located = new Map<string, Located>();
  // As transformers does, a single model.safetensors wins over an index.
  if (existsSync(single)) {
    const header = readSafetensorsHeader(single);
    for (const entry of header.tensors) if (wanted.has(entry.name)) located.set(entry.name, { entry, header });
    return { located, headers: [header], allNames: new Set(header.tensors.map((t) => t.name)), fileBytes: header.fileSize, label: single, source: () => single };
  }
  if (!existsSync(indexPath)) {
    const bins = readdirSync(dir).filter((f) => f.endsWith('.bin') || f.endsWith('.pt') || f.endsWith('.gguf'));
    throw new UserError(`${dir}: no weights found: expected ${WEIGHTS_FILE} or ${WEIGHTS_INDEX_FILE}`
      + (bins.length ? ` (found ${bins.join(', ')}; only safetensors weights are supported: convert them with transformers' save_pretrained(safe_serialization=True))` : ''));
  }
  const shardOf = readWeightsIndex(indexPath);
  const byShard = new Map<string, string[]>();
  for (const name of wanted) {
    const shard = shardOf.get(name);
    if (shard === undefined) continue; // reported as missing, with its shape, by the caller
    const list = byShard.get(shard) ?? [];
    list.push(name);
    byShard.set(shard, list);
  }
  // Every shard must be there before any is read.
  for (const [shard, names] of byShard) {
    if (!existsSync(join(dir, shard))) {
      throw new UserError(`${dir}: shard ${shard} is missing; ${WEIGHTS_INDEX_FILE} lists it as holding "${names[0]}"${names.length > 1 ? ` and ${names.length - 1} more tensors` : ''}`);
    }
  }
  const headers: SafetensorsHeader[] = [];
  const allNames = new Set(shardOf.keys());
  for (const [shard, names] of byShard) {
    const header = readSafetensorsHeader(join(dir, shard));
    headers.push(header);
    const entries = new Map(header.tensors.map((t) => [t.name, t]));
    for (const t of header.tensors) allNames.add(t.name);
    for (const name of names) {
      const entry = entries.get(name);
      if (!entry) throw new UserError(`${header.path}: tensor "${name}" is missing, though ${WEIGHTS_INDEX_FILE} says this shard holds it`);
      located.set(name, { entry, header });
    }
  }
  let fileBytes = 0;
  for (const shard of new Set(shardOf.values())) {
    try {
      fileBytes += statSync(join(dir, shard)).size;
    } catch {
      // an absent shard holds no needed tensor (checked above); it adds nothing
    }
  }
  return {
    located, headers, allNames, fileBytes, label: indexPath,
    source: (name) => (shardOf.has(name) ? join(dir, shardOf.get(name)!) : indexPath),
  };
}

/**
 * Tensors a checkpoint may hold that no config uses, accepted without a flag (documented
 * acceptances): a tied model's stored lm_head copy (transformers ignores it too), and the rotary
 * `inv_freq` buffer older transformers versions saved (recomputed from rope_theta).
 */
function isExpectedUnusedTensor(name: string, config: ModelConfig): boolean {
  if (name === 'lm_head.weight' && config.tieWordEmbeddings) return true;
  return /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/.test(name);
}

const LAYER_NAME = /^model\.layers\.(\d+)\./;

/** config.json and the weights must describe the same model; say how they differ, naming both. */
function checkConfigAgainstWeights(config: ModelConfig, configPath: string, w: LocatedWeights): void {
  let maxLayer = -1, example = '';
  for (const name of w.allNames) {
    const m = LAYER_NAME.exec(name);
    if (m && Number(m[1]) > maxLayer) {
      maxLayer = Number(m[1]);
      example = name;
    }
  }
  if (maxLayer >= 0 && maxLayer + 1 !== config.numLayers) {
    throw new UserError(`${configPath}: num_hidden_layers is ${config.numLayers} but ${w.label} holds ${maxLayer + 1} layers (0 to ${maxLayer}, e.g. "${example}"); the config does not belong to these weights`);
  }
  // At least 2 bytes a parameter (F16/BF16, the smallest dtypes loaded): a config far larger than
  // the files is refused here, before anything is sized from it.
  const minBytes = parameterCount(config) * 2;
  if (minBytes > w.fileBytes) {
    throw new UserError(`${configPath} describes a model of ${parameterCount(config)} parameters (at least ${minBytes} bytes of weights) but ${w.label === configPath ? 'the weight files hold' : `${w.label} and its shards hold`} ${w.fileBytes} bytes; the config does not belong to these weights (check hidden_size, intermediate_size, num_hidden_layers and vocab_size)`);
  }
}

/** Tensors in the checkpoint that the config does not use: an error unless expected or allowed. */
function checkUnusedTensors(config: ModelConfig, configPath: string, wanted: Set<string>, w: LocatedWeights, allow: boolean): string[] {
  const unused = [...w.allNames].filter((n) => !wanted.has(n)).sort();
  const unexpected = unused.filter((n) => !isExpectedUnusedTensor(n, config));
  if (unexpected.length === 0 || allow) return unused;
  const arch = describeValue(Array.isArray(config.raw.architectures) ? config.raw.architectures[0] : config.raw.model_type);
  const first = (names: string[]): string => `${names.slice(0, 3).map((n) => describeValue(n)).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}`;
  const attnBias = unexpected.filter((n) => /\.self_attn\.[qkvo]_proj\.bias$/.test(n));
  if (attnBias.length > 0) {
    throw new UserError(`${w.label} holds attention biases (${first(attnBias)}) that ${configPath} (architecture ${arch}${config.architecture === 'llama' ? ', attention_bias false' : ''}) does not use; the config does not match the weights (Qwen2 checkpoints, with q/k/v biases, need "architectures": ["Qwen2ForCausalLM"])`);
  }
  const mlpBias = unexpected.filter((n) => /\.mlp\.(gate|up|down)_proj\.bias$/.test(n));
  if (mlpBias.length > 0) {
    throw new UserError(`${w.label} holds MLP biases (${first(mlpBias)}) that ${configPath} (architecture ${arch}, mlp_bias false) does not use; the config does not match the weights`);
  }
  throw new UserError(`${w.label} holds ${unexpected.length} tensor${unexpected.length === 1 ? '' : 's'} that the model ${configPath} describes (architecture ${arch}) does not use: ${first(unexpected)}; loading would silently drop them, so the config and the weights do not match`);
}

function tokenIds(v: unknown, path: string, field: string): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  if (ok(v)) return [v];
  if (Array.isArray(v) && v.every(ok)) return v;
  throw new UserError(`${path}: field "${field}" is ${describeValue(v)}, expected a token id or a list of token ids`);
}

function tokenId(v: unknown, path: string, field: string): number | undefined {
  const ids = tokenIds(v, path, field);
  if (ids && ids.length !== 1) throw new UserError(`${path}: field "${field}" is ${describeValue(v)}, expected a single token id`);
  return ids?.[0];
}

/** Special token ids for generation: generation_config.json where present, else config.json. */
export function readGeneration(dir: string, config: ModelConfig): GenerationSettings {
  const path = join(dir, 'generation_config.json');
  const cfgPath = join(dir, 'config.json');
  const gen = existsSync(path) ? readJsonFile(path, 'generation config') : {};
  if (!isObject(gen)) throw new UserError(`${path}: expected a JSON object`);
  const settings: GenerationSettings = { eosTokenIds: tokenIds(gen.eos_token_id, path, 'eos_token_id') ?? config.eosTokenIds };
  const bos = tokenId(gen.bos_token_id, path, 'bos_token_id') ?? config.bosTokenId ?? undefined;
  const pad = tokenId(gen.pad_token_id, path, 'pad_token_id') ?? tokenId(config.raw.pad_token_id, cfgPath, 'pad_token_id');
  if (bos !== undefined) settings.bosTokenId = bos;
  if (pad !== undefined) settings.padTokenId = pad;
  return settings;
}

/** A model directory's config.json, parsed and checked. Internal: see loadModel. */
export function readModelConfig(dir: string): ModelConfig {
  requireDir(dir, 'model directory');
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new UserError(`${dir}: config.json is missing; a Hugging Face model directory needs config.json and ${WEIGHTS_FILE}`);
  const raw = readJsonFile(configPath, 'model config');
  if (!isObject(raw)) throw new UserError(`${configPath}: expected a JSON object`);
  return parseConfig(raw, configPath);
}

export interface LoadModelDirOptions {
  onProgress?: ProgressCallback;
  /**
   * Load even when the checkpoint holds tensors the config does not use (they are listed in
   * `ignoredTensors`); by default that is an error, because it means config and weights differ.
   */
  allowUnusedTensors?: boolean;
  /** This directory's config.json as readModelConfig(dir) already parsed it (loadModel reads it first, to check the tokenizer before any weights). */
  config?: ModelConfig;
}

/**
 * Read a Hugging Face model directory's config and weights. Internal: callers load models with
 * `loadModel` (load.ts), which also resolves the reference, reads the tokenizer and applies an
 * adapter. Every check runs on config.json and the safetensors headers before tensor data is
 * read: the config's values, its layer count and size against the weights, each needed tensor's
 * presence and shape, and every tensor the files hold being used (or an expected leftover, see
 * isExpectedUnusedTensor). Tensor data is then scanned for NaN/Inf as it is read.
 */
export function loadModelDir(dir: string, opts: LoadModelDirOptions = {}): LoadedModel {
  const config = opts.config ?? readModelConfig(dir);
  const configPath = join(dir, 'config.json');

  const specs = expectedTensors(config);
  const wanted = new Set(specs.map((s) => s.name));
  const weights = locateWeights(dir, wanted);
  const { located, headers, source } = weights;
  checkConfigAgainstWeights(config, configPath, weights);
  for (const spec of specs) {
    const loc = located.get(spec.name);
    if (!loc) throw new UserError(`${source(spec.name)}: tensor "${spec.name}" is missing (expected shape ${fmtShape(spec.shape)} from config.json)`);
    if (!shapeEquals(loc.entry.shape, spec.shape)) {
      throw new UserError(`${loc.header.path}: tensor "${spec.name}" has shape ${fmtShape(loc.entry.shape)}, expected ${fmtShape(spec.shape)} from config.json`);
    }
  }
  const ignored = checkUnusedTensors(config, configPath, wanted, weights, opts.allowUnusedTensors === true);

  const tensors: TensorMap = new Map();
  const bytesOf = (h: SafetensorsHeader): number => h.tensors.reduce((s, t) => s + (located.get(t.name)?.header === h ? t.end - t.begin : 0), 0);
  const totalBytes = headers.reduce((s, h) => s + bytesOf(h), 0);
  const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
  let doneBytes = 0;
  for (const header of headers) {
    const base = doneBytes, shardBytes = bytesOf(header);
    // One bar over all shards: each shard's own events are rescaled onto the whole.
    const onProgress: ProgressCallback | undefined = opts.onProgress && ((e) => {
      const bytes = base + (e.total > 0 ? (e.done / e.total) * shardBytes : shardBytes);
      opts.onProgress!({ ...e, done: bytes >= totalBytes ? mib(totalBytes) : Math.min(mib(bytes), mib(totalBytes)), total: mib(totalBytes) });
    });
    const part = readSafetensorsWithHeader(header, { filter: (name) => located.get(name)?.header === header, onProgress, requireFinite: true });
    for (const [name, t] of part) tensors.set(name, t);
    doneBytes += shardBytes;
  }
  const params = paramsFromTensors(config, tensors, dir);
  return { dir, config, params, tensors, generation: readGeneration(dir, config), ignoredTensors: ignored };
}

export interface SaveModelDirOptions {
  /** Storage dtype of the weights (default: the config's torch_dtype); config.json records it. */
  dtype?: WeightDtype;
  /** A model directory to copy TOKENIZER_FILES from (those it has). */
  copyFrom?: string;
  /** Fields set in config.json on top of config.raw; they must not change any tensor shape. */
  configOverrides?: Record<string, unknown>;
  /** Replace `dir` if it exists and is not empty: the whole old directory is removed. */
  overwrite?: boolean;
}

export interface SavedModelDir {
  dir: string;
  /** File names written into `dir`. */
  files: string[];
  /** Size of model.safetensors in bytes. */
  weightBytes: number;
}

/** Flush a copied file to disk before the directory holding it is renamed into place. */
function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** config.json, model.safetensors and the tokenizer files of `copyFrom`, each written atomically into `dir`. */
function writeModelFiles(dir: string, raw: Record<string, unknown>, tensors: TensorMap, dtype: WeightDtype, copyFrom: string | undefined): { files: string[]; weightBytes: number } {
  const files: string[] = [];
  const weightBytes = writeSafetensors(join(dir, WEIGHTS_FILE), [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })),
    { dtype: DTYPE_OF[dtype], metadata: { format: 'pt' } }); // transformers refuses model files whose metadata lacks format "pt"
  files.push(WEIGHTS_FILE);
  if (copyFrom !== undefined && resolve(copyFrom) !== resolve(dir)) {
    for (const f of TOKENIZER_FILES) {
      const src = join(copyFrom, f);
      if (!existsSync(src)) continue;
      const tmpCopy = join(dir, `.${f}.tmp-${process.pid}`);
      copyFileSync(src, tmpCopy);
      fsyncFile(tmpCopy);
      renameSync(tmpCopy, join(dir, f));
      files.push(f);
    }
  }
  writeJsonAtomic(join(dir, 'config.json'), raw);
  files.push('config.json');
  return { files, weightBytes };
}

/**
 * Write (or replace) a model's files inside an existing directory that holds other things too — a
 * training run's output, with its log and checkpoints beside the model. Each file is replaced
 * atomically and config.json last, so a reader sees the old model or the new weights.
 */
export function saveModelFilesInto(dir: string, config: ModelConfig, params: ModelParams, opts: Omit<SaveModelDirOptions, 'overwrite'> = {}): SavedModelDir {
  const dtype = opts.dtype ?? config.torchDtype;
  const raw: Record<string, unknown> = { ...config.raw, ...opts.configOverrides, torch_dtype: dtype };
  if ('dtype' in raw) raw.dtype = dtype;
  const tensors = tensorsFromParams(config, params);
  paramsFromTensors(parseConfig(raw, join(dir, 'config.json')), tensors, dir);
  mkdirSync(dir, { recursive: true });
  try {
    const { files, weightBytes } = writeModelFiles(dir, raw, tensors, dtype, opts.copyFrom);
    return { dir, files: files.sort(), weightBytes };
  } catch (e) {
    throw new UserError(`could not save the model to ${dir}: ${errorMessage(e)}`, { cause: e });
  }
}

/**
 * Write a model directory loadable by loadModelDir and by transformers: config.json (config.raw
 * with `configOverrides` and the storage dtype), one model.safetensors (never sharded: the format
 * has 64-bit offsets and transformers reads a single file of any size), and the tokenizer files of
 * `copyFrom`. Everything is written into a temp directory beside `dir` and renamed into place.
 */
export function saveModelDir(dir: string, config: ModelConfig, params: ModelParams, opts: SaveModelDirOptions = {}): SavedModelDir {
  const dtype = opts.dtype ?? config.torchDtype;
  const raw: Record<string, unknown> = { ...config.raw, ...opts.configOverrides, torch_dtype: dtype };
  if ('dtype' in raw) raw.dtype = dtype; // newer transformers writes "dtype" instead of "torch_dtype"
  const target = resolve(dir);
  // The config written must describe these very tensors, or the saved model would not load.
  const outConfig = parseConfig(raw, join(dir, 'config.json'));
  const tensors = tensorsFromParams(config, params);
  paramsFromTensors(outConfig, tensors, dir);
  if (outConfig.tieWordEmbeddings && params.lmHead !== params.embed && params.lmHead.some((v, i) => !Object.is(v, params.embed[i]))) {
    throw new UserError(`${dir}: config ties lm_head to embed_tokens, but the parameters hold a different lm_head; saving would lose it`);
  }
  if (opts.copyFrom !== undefined) requireDir(opts.copyFrom, 'directory to copy tokenizer files from');

  let replacing = false;
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new UserError(`cannot save a model to ${dir}: it exists and is not a directory`);
    if (readdirSync(target).length > 0) {
      if (!opts.overwrite) throw new UserError(`cannot save a model to ${dir}: the directory exists and is not empty (choose a new directory, or overwrite it)`);
      replacing = true;
    }
  }

  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
  let files: string[] = [];
  try {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const written = writeModelFiles(tmp, raw, tensors, dtype, opts.copyFrom);
    files = written.files;
    const weightBytes = written.weightBytes;

    if (!replacing) {
      if (existsSync(target)) rmdirSync(target); // empty: rename cannot replace a directory everywhere
      renameSync(tmp, target);
    } else {
      // Between these two renames `dir` is briefly absent; the old model is in `old` until then.
      const old = join(dirname(target), `.${basename(target)}.old-${process.pid}`);
      rmSync(old, { recursive: true, force: true });
      renameSync(target, old);
      try {
        renameSync(tmp, target);
      } catch (e) {
        renameSync(old, target);
        throw e;
      }
      rmSync(old, { recursive: true, force: true });
    }
    return { dir, files: files.sort(), weightBytes };
  } catch (e) {
    try {
      rmSync(tmp, { recursive: true, force: true });
    } catch {
      // tmp may sit under a path that is not a directory; then nothing was created
    }
    throw new UserError(`could not save the model to ${dir}: ${errorMessage(e)}`, { cause: e });
  }
}
