/**
 * Merging a LoRA adapter into its base model: for every adapted linear layer
 *   W ← W + (lora_alpha / r) · B·A
 * giving a standalone Hugging Face directory that loads wherever the base does (same config and
 * tokenizer files, weights in the base's dtype unless told otherwise).
 *
 * Storing the merged weights in bf16 or f16 rounds W + ΔW to the dtype's grid. When ΔW is small
 * next to that grid's spacing at W (a short or low-rate fine-tune on bf16 weights, whose spacing is
 * 2^-8 relative), much of ΔW can vanish in the rounding. This is measured, not guessed: the
 * effective delta is round(W + ΔW) − round(W), and the report gives ‖effective − ΔW‖ / ‖ΔW‖.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { WeightDtype } from './config.js';
import type { LoraAdapter } from './lora.js';
import type { LinearName, ModelParams } from './params.js';
import { LINEAR_NAMES, linearPrefix } from './params.js';
import { loadModelDir, saveModelDir } from './model-dir.js';
import { Transformer } from './transformer.js';
import { loadAdapter } from './adapter-dir.js';
import { f16BitsToF32Bits, f32BitsToBf16Bits, f32BitsToF16Bits } from './float16.js';
import { sgemm } from '../engine/blas.js';
import { UserError } from '../util/errors.js';

/** Values as they read back after storing them in `dtype` (float32 unchanged). */
export function roundToDtype(x: Float32Array, dtype: WeightDtype): Float32Array {
  if (dtype === 'float32') return x;
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Float32Array(x.length);
  const ob = new Uint32Array(out.buffer);
  if (dtype === 'bfloat16') for (let i = 0; i < x.length; i++) ob[i] = (f32BitsToBf16Bits(bits[i]!) << 16) >>> 0;
  else for (let i = 0; i < x.length; i++) ob[i] = f16BitsToF32Bits(f32BitsToF16Bits(bits[i]!));
  return out;
}

export interface ModuleRounding {
  /** HF name of the merged weight, e.g. model.layers.0.self_attn.q_proj.weight */
  name: string;
  /** ‖ΔW‖ (Frobenius). */
  deltaNorm: number;
  /** ‖(round(W + ΔW) − round(W)) − ΔW‖ / ‖ΔW‖ for the storage dtype (0 when ΔW = 0). */
  lostFraction: number;
}

export interface MergeStats {
  modules: ModuleRounding[];
  /** Over all merged modules together: ‖ΔW‖ and the fraction of it lost to rounding. */
  deltaNorm: number;
  lostFraction: number;
}

/**
 * Merge `adapter` into `params` in place (float32), measuring how much of each ΔW survives
 * storage in `dtype`.
 */
export function mergeLora(params: ModelParams, adapter: LoraAdapter, dtype: WeightDtype): MergeStats {
  const modules: ModuleRounding[] = [];
  let deltaSq = 0, lostSq = 0;
  adapter.layers.forEach((L, l) => {
    for (const n of LINEAR_NAMES) {
      const w = L[n as LinearName];
      if (!w) continue;
      const lin = params.layers[l]![n];
      if (lin.inFeatures !== w.inFeatures || lin.outFeatures !== w.outFeatures) {
        throw new UserError(`LoRA matrices for ${linearPrefix(l, n)} are for a [${w.outFeatures}, ${w.inFeatures}] weight, but the base model's is [${lin.outFeatures}, ${lin.inFeatures}]`);
      }
      const r = adapter.config.r;
      const delta = new Float32Array(lin.outFeatures * lin.inFeatures);
      // ΔW [out, in] = (α/r) · B [out, r] · A [r, in]
      sgemm(false, false, lin.outFeatures, lin.inFeatures, r, adapter.scale, w.B, 0, r, w.A, 0, lin.inFeatures, 0, delta, 0, lin.inFeatures);
      const before = roundToDtype(lin.weight, dtype);
      const beforeCopy = before === lin.weight ? Float32Array.from(before) : before;
      for (let i = 0; i < delta.length; i++) lin.weight[i]! += delta[i]!;
      const after = roundToDtype(lin.weight, dtype);
      let dSq = 0, eSq = 0;
      for (let i = 0; i < delta.length; i++) {
        const d = delta[i]!;
        const e = after[i]! - beforeCopy[i]! - d;
        dSq += d * d;
        eSq += e * e;
      }
      deltaSq += dSq;
      lostSq += eSq;
      modules.push({ name: `${linearPrefix(l, n)}.weight`, deltaNorm: Math.sqrt(dSq), lostFraction: dSq > 0 ? Math.sqrt(eSq / dSq) : 0 });
    }
  });
  return { modules, deltaNorm: Math.sqrt(deltaSq), lostFraction: deltaSq > 0 ? Math.sqrt(lostSq / deltaSq) : 0 };
}

export interface MergeJob {
  base: string;
  adapter: string;
  out: string;
  /** Storage dtype of the merged weights (default: the base's torch_dtype). */
  dtype?: WeightDtype;
  /** Replace `out` when it exists and is not empty. */
  force?: boolean;
}

export interface MergeReport extends MergeStats {
  out: string;
  dtype: WeightDtype;
  baseDtype: WeightDtype;
  files: string[];
  /** A warning when storage rounding loses a noticeable part of the delta. */
  warning: string | null;
}

/** Warn when rounding loses more than this fraction of the delta's norm. */
export const LOST_FRACTION_WARNING = 0.1;

/** base + adapter → a standalone model directory; see the module comment. */
export function mergeAdapterDir(job: MergeJob): MergeReport {
  const out = resolve(job.out);
  for (const [what, dir] of [['base model', job.base], ['adapter', job.adapter]] as const) {
    if (resolve(dir) === out) throw new UserError(`--out ${job.out} is the ${what} directory; write the merged model to a new directory`);
  }
  if (existsSync(out) && statSync(out).isDirectory() && readdirSync(out).length > 0 && !job.force) {
    throw new UserError(`--out ${job.out} exists and is not empty; pass --force to replace it`);
  }
  const loaded = loadModelDir(job.base);
  const model = new Transformer(loaded.config, loaded.params);
  const adapter = loadAdapter(job.adapter, model);
  const dtype = job.dtype ?? loaded.config.torchDtype;
  const stats = mergeLora(loaded.params, adapter, dtype);
  const saved = saveModelDir(job.out, loaded.config, loaded.params, { dtype, copyFrom: job.base, overwrite: job.force === true });
  let warning: string | null = null;
  if (stats.lostFraction > LOST_FRACTION_WARNING) {
    const worst = stats.modules.reduce((a, b) => (b.lostFraction > a.lostFraction ? b : a));
    warning = `storing the merged weights in ${dtype} loses ${(100 * stats.lostFraction).toFixed(1)}% of the LoRA delta's norm to rounding `
      + `(worst: ${worst.name}, ${(100 * worst.lostFraction).toFixed(1)}%): the delta is small next to ${dtype}'s spacing at these weights. `
      + 'The merged model then differs from base + adapter; merge with --dtype float32, or use the adapter unmerged (--adapter).';
  }
  return { ...stats, out: job.out, dtype, baseDtype: loaded.config.torchDtype, files: saved.files, warning };
}
