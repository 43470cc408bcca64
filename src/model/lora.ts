/**
 * LoRA adapters as PEFT defines them: for a target linear layer W [out, in],
 *   y = x Wᵀ + b + (α / r) · B (A dropout(x))      A [r, in], B [out, r]
 * A is initialised Kaiming-uniform (PEFT's default, a = √5 → bound 1/√in) and B with zeros, so
 * a new adapter leaves the model unchanged. Names follow PEFT's state dict:
 *   base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight
 */
import type { ModelConfig } from './config.js';
import type { LinearName, ModelParams } from './params.js';
import { LINEAR_NAMES, linearPrefix } from './params.js';
import { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';

export interface LoraConfig {
  r: number;
  /** LoRA's α: the adapter's output is scaled by loraAlpha / r (PEFT's lora_alpha; flag --lora-alpha). */
  loraAlpha: number;
  dropout: number;
  targets: LinearName[];
}

export interface LoraWeights {
  A: Float32Array; // [r, in]
  B: Float32Array; // [out, r]
  inFeatures: number;
  outFeatures: number;
}

export interface LoraAdapter {
  config: LoraConfig;
  /** α / r */
  scale: number;
  /** Per layer, the adapted linears. */
  layers: Array<Partial<Record<LinearName, LoraWeights>>>;
}

export const DEFAULT_LORA: LoraConfig = { r: 8, loraAlpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'] };

export function parseTargets(spec: string): LinearName[] {
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(LINEAR_NAMES as readonly string[]).includes(n)) {
      throw new UserError(`unknown LoRA target module "${n}"; expected some of ${LINEAR_NAMES.join(', ')}`);
    }
  }
  if (names.length === 0) throw new UserError('no LoRA target modules given');
  return names as LinearName[];
}

export function validateLoraConfig(c: LoraConfig): void {
  if (!Number.isInteger(c.r) || c.r <= 0) throw new UserError(`LoRA rank must be a positive integer, got ${c.r}`);
  if (!(c.loraAlpha > 0)) throw new UserError(`lora_alpha must be positive, got ${c.loraAlpha}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new UserError(`lora_dropout must be in [0, 1), got ${c.dropout}`);
}

/** A fresh adapter (PEFT init: A Kaiming-uniform, B zero). */
export function createLoraAdapter(model: { config: ModelConfig; params: ModelParams }, config: LoraConfig, seed: number): LoraAdapter {
  validateLoraConfig(config);
  const rng = new Rng(seed);
  const layers = model.params.layers.map((L) => {
    const out: Partial<Record<LinearName, LoraWeights>> = {};
    for (const name of config.targets) {
      const lin = L[name];
      const A = new Float32Array(config.r * lin.inFeatures);
      // kaiming_uniform_(a=√5) on [r, in]: bound = √(6 / ((1 + a²)·fan_in)) = 1/√fan_in
      const bound = 1 / Math.sqrt(lin.inFeatures);
      for (let i = 0; i < A.length; i++) A[i] = (rng.next() * 2 - 1) * bound;
      out[name] = { A, B: new Float32Array(lin.outFeatures * config.r), inFeatures: lin.inFeatures, outFeatures: lin.outFeatures };
    }
    return out;
  });
  return { config, scale: config.loraAlpha / config.r, layers };
}

/** PEFT state-dict key of an adapter matrix. */
export function peftKey(layer: number, name: LinearName, which: 'A' | 'B'): string {
  return `base_model.model.${linearPrefix(layer, name)}.lora_${which}.weight`;
}

/** Every adapter matrix with its PEFT key, in a stable order (layer, module, A then B). */
export function loraTensors(a: LoraAdapter): Array<{ name: string; data: Float32Array; shape: number[] }> {
  const out: Array<{ name: string; data: Float32Array; shape: number[] }> = [];
  a.layers.forEach((L, l) => {
    for (const n of LINEAR_NAMES) {
      const w = L[n];
      if (!w) continue;
      out.push({ name: peftKey(l, n, 'A'), data: w.A, shape: [a.config.r, w.inFeatures] });
      out.push({ name: peftKey(l, n, 'B'), data: w.B, shape: [w.outFeatures, a.config.r] });
    }
  });
  return out;
}
