/**
 * A copy of a model directory with its weights stored in bfloat16 (config.json's torch_dtype says
 * so; tokenizer files copied). The engine widens bf16 to float32 when it loads, so the copy computes
 * with the rounded weights: whether that changes any answer is measured, not assumed
 * (docs/experiments.md §5.2: the bundled models are stored in bf16 only if it changes no dev or
 * test answer of the base models).
 *
 *   node dist/tools/world/store-bf16.js SRC_DIR OUT_DIR
 */
import { existsSync, readdirSync } from 'node:fs';
import { loadModelDir, saveModelDir } from '../../src/model/model-dir.js';

function main(): void {
  const [src, out] = process.argv.slice(2);
  if (!src || !out) throw new Error('usage: store-bf16.js SRC_DIR OUT_DIR');
  if (existsSync(out) && readdirSync(out).length > 0) throw new Error(`${out} exists and is not empty`);
  const m = loadModelDir(src);
  const saved = saveModelDir(out, m.config, m.params, { dtype: 'bfloat16', copyFrom: src });
  process.stdout.write(`${out}: ${saved.files.join(', ')} (bfloat16)\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
