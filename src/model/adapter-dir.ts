/**
 * LoRA adapters on disk in PEFT's layout, so Python users load ours with peft and we load theirs:
 *   adapter_config.json        peft_type LORA, r, lora_alpha, lora_dropout, target_modules, bias "none", ...
 *   adapter_model.safetensors  base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight [r, in], .lora_B.weight [out, r]
 *   lightreasoner_run.json     our run metadata (what trained it); not read by PEFT
 * adapter_config.json holds only fields of PEFT's LoraConfig (PEFT_LORA_CONFIG_FIELDS): PEFT before
 * 0.13 raises TypeError on any unknown key, and other loaders build their own config classes from
 * that file. Adapters written before the metadata moved carry it as a "lightreasoner" key in
 * adapter_config.json; they still load, and readAdapterRunInfo finds the metadata there.
 * PEFT options that change the computation and that we do not implement (DoRA, rsLoRA,
 * per-module ranks, bias training, modules_to_save, layer selection) are refused by name rather
 * than silently ignored.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LoraAdapter, LoraConfig, LoraWeights } from './lora.js';
import { loraTensors, peftKey, validateLoraConfig } from './lora.js';
import type { LinearName } from './params.js';
import { LINEAR_NAMES } from './params.js';
import type { Transformer } from './transformer.js';
import { readSafetensorsHeader, readSafetensorsWithHeader, writeSafetensors } from './safetensors.js';
import { fmtShape, shapeEquals } from './tensor.js';
import { UserError, describeValue } from '../util/errors.js';
import { readJsonFile, writeJsonAtomic } from '../util/fsx.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** Our run metadata, beside the PEFT files. */
export const ADAPTER_RUN_INFO = 'lightreasoner_run.json';

/**
 * Every field of PEFT 0.12.0's LoraConfig, with those it inherits from PeftConfig and
 * PeftConfigMixin (src/peft/tuners/lora/config.py and src/peft/config.py at tag v0.12.0, the oldest
 * PEFT the LightReasoner reference code accepts: peft>=0.12.0). Keys outside this list make
 * LoraConfig(**config) raise in PEFT before 0.13; adapter_config.json must hold none of them.
 */
export const PEFT_LORA_CONFIG_FIELDS: readonly string[] = [
  'alpha_pattern', 'auto_mapping', 'base_model_name_or_path', 'bias', 'fan_in_fan_out', 'inference_mode', 'init_lora_weights',
  'layer_replication', 'layers_pattern', 'layers_to_transform', 'loftq_config', 'lora_alpha', 'lora_dropout', 'megatron_config',
  'megatron_core', 'modules_to_save', 'peft_type', 'r', 'rank_pattern', 'revision', 'runtime_config', 'target_modules', 'task_type',
  'use_dora', 'use_rslora',
];

export interface AdapterConfigJson {
  peft_type: 'LORA';
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[];
  bias: 'none';
  task_type: 'CAUSAL_LM';
  base_model_name_or_path: string;
  fan_in_fan_out: false;
  inference_mode: boolean;
  init_lora_weights: boolean;
  modules_to_save: null;
  use_dora: false;
  use_rslora: false;
}

/** Parse and check an adapter_config.json object. */
export function parseAdapterConfig(raw: Record<string, unknown>, path: string): LoraConfig {
  if (raw.peft_type !== 'LORA') throw new UserError(`${path}: peft_type is ${describeValue(raw.peft_type)}, expected "LORA"`);
  const refuse = (field: string, ok: (v: unknown) => boolean, why: string): void => {
    if (raw[field] !== undefined && !ok(raw[field])) throw new UserError(`${path}: ${field} = ${describeValue(raw[field])} is not supported (${why})`);
  };
  const emptyish = (v: unknown): boolean => v === null || v === false || (typeof v === 'object' && Object.keys(v as object).length === 0);
  refuse('use_dora', (v) => v === false, 'DoRA adapters are not implemented');
  refuse('use_rslora', (v) => v === false, 'rank-stabilised LoRA scaling is not implemented');
  refuse('bias', (v) => v === 'none', 'only bias "none" is supported');
  refuse('fan_in_fan_out', (v) => v === false, 'only nn.Linear layouts are supported');
  refuse('rank_pattern', emptyish, 'per-module ranks are not supported');
  refuse('alpha_pattern', emptyish, 'per-module alphas are not supported');
  refuse('modules_to_save', emptyish, 'fully trained extra modules are not supported');
  refuse('layers_to_transform', (v) => v === null, 'layer selection is not supported');
  const r = raw.r, alpha = raw.lora_alpha, dropout = raw.lora_dropout ?? 0;
  if (typeof r !== 'number' || typeof alpha !== 'number' || typeof dropout !== 'number') {
    throw new UserError(`${path}: r, lora_alpha and lora_dropout must be numbers`);
  }
  const tm = raw.target_modules;
  const names = typeof tm === 'string' ? [tm] : Array.isArray(tm) ? tm : null;
  if (!names || names.length === 0) throw new UserError(`${path}: target_modules must be a list of module names`);
  for (const n of names) {
    if (typeof n !== 'string' || !(LINEAR_NAMES as readonly string[]).includes(n)) {
      throw new UserError(`${path}: target module ${describeValue(n)} is not supported; expected some of ${LINEAR_NAMES.join(', ')}`);
    }
  }
  const config: LoraConfig = { r, loraAlpha: alpha, dropout, targets: LINEAR_NAMES.filter((n) => names.includes(n)) };
  validateLoraConfig(config);
  return config;
}

/**
 * Read an adapter for `model` from `dir` (or from an explicit weights file beside an
 * adapter_config.json). Every matrix is checked against the base model's layer shapes.
 */
export function loadAdapter(dir: string, model: Transformer, weightsFile = ADAPTER_WEIGHTS): LoraAdapter {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`adapter directory not found: ${dir}`);
  const cfgPath = join(dir, ADAPTER_CONFIG);
  const config = parseAdapterConfig(readJsonFile<Record<string, unknown>>(cfgPath, 'adapter config'), cfgPath);
  const wPath = join(dir, weightsFile);
  if (!existsSync(wPath)) {
    const bin = existsSync(join(dir, 'adapter_model.bin')) ? ' (found adapter_model.bin: convert it to safetensors with peft\'s save_pretrained(safe_serialization=True))' : '';
    throw new UserError(`adapter weights not found: ${wPath}${bin}`);
  }
  const header = readSafetensorsHeader(wPath);
  // PEFT saves without the adapter name; in-memory state dicts carry ".default". Accept both.
  const byKey = new Map(header.tensors.map((t) => [t.name.replace('.default.weight', '.weight'), t]));
  const tensors = readSafetensorsWithHeader(header, { requireFinite: true });
  const used = new Set<string>();
  const get = (key: string, shape: number[]): Float32Array => {
    const entry = byKey.get(key);
    if (!entry) throw new UserError(`${wPath}: tensor "${key}" is missing (adapter_config.json targets ${config.targets.join(', ')})`);
    used.add(entry.name);
    if (!shapeEquals(entry.shape, shape)) {
      throw new UserError(`${wPath}: tensor "${key}" has shape ${fmtShape(entry.shape)}, but the base model needs ${fmtShape(shape)}; is this adapter for another base model?`);
    }
    return tensors.get(entry.name)!.data;
  };
  const layers = model.params.layers.map((L, l) => {
    const out: Partial<Record<LinearName, LoraWeights>> = {};
    for (const n of config.targets) {
      const lin = L[n];
      out[n] = {
        A: get(peftKey(l, n, 'A'), [config.r, lin.inFeatures]),
        B: get(peftKey(l, n, 'B'), [lin.outFeatures, config.r]),
        inFeatures: lin.inFeatures, outFeatures: lin.outFeatures,
      };
    }
    return out;
  });
  const expectedKeys = model.params.layers.length * config.targets.length * 2;
  const loraKeys = [...byKey.keys()].filter((k) => k.includes('.lora_'));
  if (loraKeys.length > expectedKeys) {
    const extra = loraKeys.find((k) => !/layers\.(\d+)\./.test(k) || Number(/layers\.(\d+)\./.exec(k)![1]) >= model.params.layers.length);
    throw new UserError(`${wPath}: holds ${loraKeys.length} LoRA matrices but the base model has room for ${expectedKeys}${extra ? ` (e.g. "${extra}")` : ''}; is this adapter for another base model?`);
  }
  // Every tensor is used: anything else (a module trained in full, a LoRA pair for a module that
  // target_modules does not list) would be silently dropped.
  const unused = header.tensors.map((t) => t.name).filter((n) => !used.has(n));
  if (unused.length > 0) {
    throw new UserError(`${wPath}: holds ${unused.length} tensor${unused.length === 1 ? '' : 's'} this adapter does not use (${unused.slice(0, 3).map((n) => describeValue(n)).join(', ')}${unused.length > 3 ? ', ...' : ''}); adapter_config.json targets ${config.targets.join(', ')} with r ${config.r}, and other weights are not supported`);
  }
  return { config, scale: config.loraAlpha / config.r, layers };
}

/**
 * Write `adapter` to `dir` in PEFT's layout (weights, then the run metadata `extra` when given, then
 * the config, each atomically: a directory with an adapter_config.json is complete).
 */
export function saveAdapter(dir: string, adapter: LoraAdapter, opts: { baseModel: string; extra?: Record<string, unknown> }): void {
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), loraTensors(adapter), { dtype: 'F32', metadata: { format: 'pt' } });
  if (opts.extra) writeJsonAtomic(join(dir, ADAPTER_RUN_INFO), opts.extra);
  const cfg: AdapterConfigJson = {
    peft_type: 'LORA', r: adapter.config.r, lora_alpha: adapter.config.loraAlpha, lora_dropout: adapter.config.dropout,
    target_modules: [...adapter.config.targets], bias: 'none', task_type: 'CAUSAL_LM', base_model_name_or_path: opts.baseModel,
    fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, modules_to_save: null, use_dora: false, use_rslora: false,
  };
  writeJsonAtomic(join(dir, ADAPTER_CONFIG), cfg);
}

/**
 * The run metadata saved with an adapter (saveAdapter's `extra`): lightreasoner_run.json, or the
 * "lightreasoner" key of adapter_config.json for adapters written before it moved; null when
 * neither is there (e.g. an adapter trained with PEFT).
 */
export function readAdapterRunInfo(dir: string): Record<string, unknown> | null {
  const runPath = join(dir, ADAPTER_RUN_INFO);
  if (existsSync(runPath)) return readJsonFile<Record<string, unknown>>(runPath, 'adapter run metadata');
  const cfgPath = join(dir, ADAPTER_CONFIG);
  if (!existsSync(cfgPath)) return null;
  const legacy = readJsonFile<Record<string, unknown>>(cfgPath, 'adapter config').lightreasoner;
  return legacy !== null && typeof legacy === 'object' && !Array.isArray(legacy) ? legacy as Record<string, unknown> : null;
}
