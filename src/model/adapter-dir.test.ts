import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyModel } from './testing.js';
import { createLoraAdapter, loraTensors } from './lora.js';
import { ADAPTER_CONFIG, ADAPTER_RUN_INFO, PEFT_LORA_CONFIG_FIELDS, loadAdapter, readAdapterRunInfo, saveAdapter } from './adapter-dir.js';
import { testTempDir } from '../testing/tmp.js';

/**
 * The fields PEFT 0.12.0's LoraConfig accepts (its own, PeftConfig's and PeftConfigMixin's
 * dataclass fields in src/peft/tuners/lora/config.py and src/peft/config.py at tag v0.12.0).
 * PEFT before 0.13 raises `TypeError: LoraConfig.__init__() got an unexpected keyword argument`
 * on anything else, and the reference code asks only for peft>=0.12.0.
 */
const PEFT_0_12_LORA_CONFIG_FIELDS = [
  'alpha_pattern', 'auto_mapping', 'base_model_name_or_path', 'bias', 'fan_in_fan_out', 'inference_mode', 'init_lora_weights',
  'layer_replication', 'layers_pattern', 'layers_to_transform', 'loftq_config', 'lora_alpha', 'lora_dropout', 'megatron_config',
  'megatron_core', 'modules_to_save', 'peft_type', 'r', 'rank_pattern', 'revision', 'runtime_config', 'target_modules', 'task_type',
  'use_dora', 'use_rslora',
];

const model = tinyModel({ vocab: 23, hidden: 16, layers: 2 }, 5);
const adapter = createLoraAdapter(model, { r: 2, loraAlpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'] }, 6);
const run = { samples: '/data/samples.jsonl', records: 12, max_steps: 30, lr: 0.002, seed: 1 };

test('adapter_config.json holds only keys PEFT 0.12\'s LoraConfig accepts; the run metadata is in its own file', () => {
  assert.deepEqual([...PEFT_LORA_CONFIG_FIELDS], PEFT_0_12_LORA_CONFIG_FIELDS);
  const dir = testTempDir('adapter-peft-keys');
  saveAdapter(dir, adapter, { baseModel: '/models/expert', extra: run });
  const cfg = JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>;
  const unknown = Object.keys(cfg).filter((k) => !PEFT_0_12_LORA_CONFIG_FIELDS.includes(k));
  assert.deepEqual(unknown, [], `keys LoraConfig(**config) would refuse: ${unknown.join(', ')}`);
  assert.equal(cfg.peft_type, 'LORA');
  assert.equal(cfg.lora_alpha, 4);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, ADAPTER_RUN_INFO), 'utf8')), run);
  assert.deepEqual(readAdapterRunInfo(dir), run);
  const back = loadAdapter(dir, model);
  assert.deepEqual(loraTensors(back), loraTensors(adapter));
});

test('an adapter without run metadata has no run file, and readAdapterRunInfo says null', () => {
  const dir = testTempDir('adapter-no-run');
  saveAdapter(dir, adapter, { baseModel: '/models/expert' });
  assert.equal(existsSync(join(dir, ADAPTER_RUN_INFO)), false);
  assert.equal(readAdapterRunInfo(dir), null);
});

test('an adapter written before the metadata moved (a "lightreasoner" key in adapter_config.json) still loads, with its metadata', () => {
  const dir = testTempDir('adapter-old-style');
  saveAdapter(dir, adapter, { baseModel: '/models/expert' });
  // The layout saveAdapter wrote until the metadata moved out of the PEFT config.
  const old = {
    peft_type: 'LORA', r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'], bias: 'none', task_type: 'CAUSAL_LM',
    base_model_name_or_path: '/models/expert', fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, modules_to_save: null,
    use_dora: false, use_rslora: false, lightreasoner: run,
  };
  writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify(old, null, 2));
  const back = loadAdapter(dir, model);
  assert.equal(back.scale, 2);
  assert.deepEqual(loraTensors(back), loraTensors(adapter));
  assert.deepEqual(readAdapterRunInfo(dir), run);
});
