import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyModelDir } from './testing.js';
import { loadModel } from './load.js';
import { loadModelDir, saveModelDir } from './model-dir.js';
import { createLoraAdapter, type LoraAdapter, type LoraWeights } from './lora.js';
import { saveAdapter } from './adapter-dir.js';
import { packSequences, Transformer } from './transformer.js';
import { LINEAR_NAMES, type LinearName } from './params.js';
import { mergeAdapterDir } from './merge.js';
import { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';

const root = mkdtempSync(join(tmpdir(), 'lr-merge-'));
const baseDir = tinyModelDir({ architecture: 'qwen2', tied: false }, 31);
after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(baseDir, { recursive: true, force: true });
});
let n = 0;
const fresh = (name: string): string => join(root, `${name}${n++}`);

/** An adapter on `model` with A and B drawn at `scaleB`, written to a fresh directory. */
function writeAdapter(model: Transformer, targets: LinearName[], scaleB: number, seed: number): { dir: string; adapter: LoraAdapter } {
  const adapter = createLoraAdapter(model, { r: 4, loraAlpha: 8, dropout: 0.05, targets }, seed);
  const rng = new Rng(seed + 1);
  for (const L of adapter.layers) for (const w of Object.values(L) as LoraWeights[]) for (let i = 0; i < w.B.length; i++) w.B[i] = rng.normal() * scaleB;
  const dir = fresh('adapter');
  saveAdapter(dir, adapter, { baseModel: baseDir });
  return { dir, adapter };
}

const seq = [[3, 17, 250, 9, 44, 101, 7, 2], [5, 6, 300, 12]];

test('a merged model\'s logits equal base + adapter to 1e-5 (float32), and it loads as a standalone directory with the base\'s tokenizer', async () => {
  const base = await loadModel(baseDir);
  const { dir } = writeAdapter(base.model, [...LINEAR_NAMES], 0.3, 1);
  const out = fresh('merged');
  const report = mergeAdapterDir({ base: baseDir, adapter: dir, out });
  assert.equal(report.modules.length, 2 * LINEAR_NAMES.length);
  assert.equal(report.dtype, 'float32');
  assert.ok(report.lostFraction < 1e-4, `float32 keeps the delta (${report.lostFraction})`);
  assert.equal(report.warning, null);

  const withAdapter = await loadModel(baseDir, { adapter: dir });
  const merged = await loadModel(out);
  assert.equal(merged.model.adapter, null);
  const batch = packSequences(seq);
  const a = withAdapter.model.forward(batch, { logitRows: 'all' }).logits;
  const b = merged.model.forward(batch, { logitRows: 'all' }).logits;
  const c = base.model.forward(batch, { logitRows: 'all' }).logits;
  let maxDiff = 0, maxChange = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    maxChange = Math.max(maxChange, Math.abs(a[i]! - c[i]!));
  }
  assert.ok(maxDiff <= 1e-5, `merged vs base + adapter: ${maxDiff}`);
  assert.ok(maxChange > 1e-2, 'the adapter changes the logits (the test is not vacuous)');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) assert.equal(readFileSync(join(out, f), 'utf8'), readFileSync(join(baseDir, f), 'utf8'));
  assert.deepEqual(merged.tokenizer.encode('12 apples'), base.tokenizer.encode('12 apples'));
});

test('storing a merge in bfloat16: the reported share of the delta lost to rounding is what the written file shows, with a warning when large', async () => {
  const base = await loadModel(baseDir);
  const baseBf16 = fresh('base-bf16');
  saveModelDir(baseBf16, base.model.config, base.model.params, { dtype: 'bfloat16', copyFrom: baseDir });
  const roundedBase = loadModelDir(baseBf16);
  for (const [scaleB, lossy] of [[3e-4, true], [0.5, false]] as const) {
    const { dir, adapter } = writeAdapter(base.model, ['q_proj', 'v_proj'], scaleB, 7);
    const out = fresh('merged-bf16');
    const report = mergeAdapterDir({ base: baseDir, adapter: dir, out, dtype: 'bfloat16' });
    const merged = loadModelDir(out);
    assert.equal(merged.config.torchDtype, 'bfloat16');
    // Independently: ΔW = (α/r)·B·A by plain loops, and what the file's weights actually changed.
    let dSq = 0, eSq = 0;
    adapter.layers.forEach((L, l) => {
      for (const [name, w] of Object.entries(L) as Array<[LinearName, LoraWeights]>) {
        const r = adapter.config.r, inF = w.inFeatures;
        const before = roundedBase.params.layers[l]![name].weight, after = merged.params.layers[l]![name].weight;
        for (let o = 0; o < w.outFeatures; o++) {
          for (let i = 0; i < inF; i++) {
            let d = 0;
            for (let k = 0; k < r; k++) d += w.B[o * r + k]! * w.A[k * inF + i]!;
            d *= adapter.scale;
            const e = after[o * inF + i]! - before[o * inF + i]! - d;
            dSq += d * d;
            eSq += e * e;
          }
        }
      }
    });
    const lost = Math.sqrt(eSq / dSq);
    assert.ok(Math.abs(report.lostFraction - lost) <= 1e-3 * Math.max(lost, 1e-3), `reported ${report.lostFraction}, measured ${lost}`);
    if (lossy) {
      assert.ok(lost > 0.5, `a delta far below bf16's spacing is mostly lost (${lost})`);
      assert.match(report.warning ?? '', /bfloat16 loses \d+\.\d% of the LoRA delta's norm/);
    } else {
      assert.ok(lost < 0.1, `a large delta survives bf16 rounding (${lost})`);
      assert.equal(report.warning, null);
    }
  }
});

test('an adapter for another base (shape mismatch) is refused naming the adapter file and the tensor; nothing is written', async () => {
  const otherDir = tinyModelDir({ hidden: 24, heads: 4, kvHeads: 2 }, 32);
  try {
    const other = await loadModel(otherDir);
    const { dir } = writeAdapter(other.model, ['q_proj', 'v_proj'], 0.1, 3);
    const out = fresh('never');
    assert.throws(() => mergeAdapterDir({ base: baseDir, adapter: dir, out }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /adapter_model\.safetensors: tensor "base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight" has shape \[4, 24\], but the base model needs \[4, 16\]/);
      return true;
    });
    assert.ok(!existsSync(out));
  } finally {
    rmSync(otherDir, { recursive: true, force: true });
  }
});

test('merge refuses a non-empty --out without force, and --out equal to the base', async () => {
  const base = await loadModel(baseDir);
  const { dir } = writeAdapter(base.model, ['q_proj'], 0.1, 5);
  const out = fresh('merged');
  mergeAdapterDir({ base: baseDir, adapter: dir, out });
  assert.throws(() => mergeAdapterDir({ base: baseDir, adapter: dir, out }), /exists and is not empty; pass --force/);
  mergeAdapterDir({ base: baseDir, adapter: dir, out, force: true, dtype: 'float16' });
  assert.equal(loadModelDir(out).config.torchDtype, 'float16');
  assert.throws(() => mergeAdapterDir({ base: baseDir, adapter: dir, out: baseDir, force: true }), /is the base model directory/);
});
