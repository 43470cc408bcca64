/**
 * llama.cpp (node-llama-cpp 3.21.1, CPU) against our engine on the bundled models and tiny random ones exported to GGUF
 * by our own writer: next-token distributions at every teacher-forced position, and greedy
 * generations token for token. This checks the exporter (names, layouts, rotary permutation,
 * llama3 rope factors, LoRA merge) and the engine against an independent implementation.
 * Skipped, saying why, when node-llama-cpp is not installed.
 */
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyModelDir, type TinySpec } from '../model/testing.js';
import { loadModelDir } from '../model/model-dir.js';
import { createLoraAdapter } from '../model/lora.js';
import { saveAdapter } from '../model/adapter-dir.js';
import { LINEAR_NAMES } from '../model/params.js';
import { Rng } from '../util/rng.js';
import { nodeLlamaCppAvailable, INSTALL_HINT } from './node-llama-cpp.js';
import { openModel, type OpenedModel } from './open.js';

const skip = (await nodeLlamaCppAvailable()) ? false : `node-llama-cpp is not installed (\`${INSTALL_HINT}\`): llama.cpp equivalence not checked`;

const work = mkdtempSync(join(tmpdir(), 'lr-llama-cpp-'));
const dirs: string[] = [work];
const opened: OpenedModel[] = [];
after(async () => {
  for (const m of opened) await m.backend.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const QUESTIONS = [
  'Natalia has 12 apples. She buys 3 times as many in May. How many apples does she have now?',
  'Weng buys 24 books.',
  'How many clips does Betty have?',
  'x',
];

function modelDir(spec: TinySpec, seed: number, edit?: (cfg: Record<string, unknown>) => void): string {
  const dir = tinyModelDir(spec, seed);
  dirs.push(dir);
  if (edit) {
    const p = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
    edit(cfg);
    writeFileSync(p, JSON.stringify(cfg));
  }
  return dir;
}

async function open(dir: string, backend: 'engine' | 'llama.cpp', adapter?: string): Promise<OpenedModel> {
  // One thread: this runs beside other test files, and spinning llama.cpp threads on busy cores crawl.
  const m = await openModel({ backend, modelDir: dir, gpu: 'off', threads: 1, parallel: 3, ggufCacheDir: join(work, 'cache'), ...(adapter ? { adapter } : {}) });
  opened.push(m);
  return m;
}

function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let s = 0;
  for (const v of row) s += Math.exp(v - max);
  const lse = max + Math.log(s);
  return Float64Array.from(row, (v) => v - lse);
}

interface Agreement { maxProbDiff: number; maxLogProbDiff: number; positions: number }

/**
 * Score the engine's greedy trajectories on both back ends (llama.cpp's calls concurrently) and
 * compare every distribution; then check llama.cpp's greedy generations against the engine's.
 */
async function compare(t: TestContext, dir: string, adapter?: string): Promise<Agreement> {
  const engine = await open(dir, 'engine', adapter);
  const llama = await open(dir, 'llama.cpp', adapter);
  const prompts = QUESTIONS.map((q) => engine.tokenizer.encodeChat([{ role: 'user', content: q }], { addGenerationPrompt: true }));
  const opts = { maxNewTokens: 20, stopIds: engine.stopIds, batchSize: 3 };
  const ge = await engine.backend.generateGreedy(prompts, opts);
  const V = engine.config.vocabSize;
  const le = await Promise.all(prompts.map((p, i) => engine.backend.stepLogits(p, ge[i]!.tokens)));
  const ll = await Promise.all(prompts.map((p, i) => llama.backend.stepLogits(p, ge[i]!.tokens)));
  const a: Agreement = { maxProbDiff: 0, maxLogProbDiff: 0, positions: 0 };
  prompts.forEach((_, i) => {
    assert.equal(ll[i]!.length, le[i]!.length);
    for (let s = 0; s < ge[i]!.tokens.length; s++) {
      const pe = logSoftmax(le[i]!.subarray(s * V, (s + 1) * V)), pl = logSoftmax(ll[i]!.subarray(s * V, (s + 1) * V));
      for (let v = 0; v < V; v++) {
        a.maxProbDiff = Math.max(a.maxProbDiff, Math.abs(Math.exp(pe[v]!) - Math.exp(pl[v]!)));
        if (pe[v]! >= Math.log(1e-3)) a.maxLogProbDiff = Math.max(a.maxLogProbDiff, Math.abs(pe[v]! - pl[v]!));
      }
      a.positions++;
    }
  });
  t.diagnostic(`${a.positions} positions × ${V} ids: max |Δp| ${a.maxProbDiff.toExponential(2)}, max |Δ log p| (p ≥ 1e-3) ${a.maxLogProbDiff.toExponential(2)}`);
  assert.ok(a.maxProbDiff <= 1e-4, `probabilities differ by ${a.maxProbDiff}`);
  assert.ok(a.maxLogProbDiff <= 1e-4, `log-probabilities differ by ${a.maxLogProbDiff}`);
  const gl = await llama.backend.generateGreedy(prompts, { ...opts, stopIds: llama.stopIds });
  assert.deepEqual(gl, ge, 'greedy generations');
  return a;
}

test('Qwen2 (tied embeddings, GQA, q/k/v biases): llama.cpp matches the engine at every position and in greedy decoding', { skip }, async (t) => {
  await compare(t, modelDir({ architecture: 'qwen2', hidden: 32, heads: 4, kvHeads: 2, layers: 2, intermediate: 48, tied: true }, 11));
});

test('the bundled Expert and Amateur (models/): llama.cpp matches the engine at every position and in greedy decoding', { skip }, async (t) => {
  for (const name of ['expert', 'amateur']) await compare(t, fileURLToPath(new URL(`../../../models/${name}`, import.meta.url)));
});

test('Llama (untied, GQA, permuted q/k for llama.cpp\'s NORM rope): llama.cpp matches the engine at every position and in greedy decoding', { skip }, async (t) => {
  await compare(t, modelDir({ architecture: 'llama', hidden: 48, heads: 6, kvHeads: 2, layers: 2, intermediate: 64, tied: false }, 12));
});

test('Llama 3 rope scaling (rope_freqs) and an explicit head_dim: llama.cpp matches the engine', { skip }, async (t) => {
  await compare(t, modelDir({ architecture: 'llama', hidden: 32, heads: 2, kvHeads: 1, layers: 2, intermediate: 48 }, 13, (cfg) => {
    cfg.head_dim = 16;
    cfg.rope_theta = 500000;
    cfg.rope_scaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 };
  }));
});

test('a LoRA adapter merged at export gives llama.cpp the distributions of the engine running the unmerged adapter', { skip }, async (t) => {
  const dir = modelDir({ architecture: 'qwen2', hidden: 32, heads: 4, kvHeads: 2, layers: 2, intermediate: 48 }, 14);
  const base = loadModelDir(dir);
  const adapter = createLoraAdapter({ config: base.config, params: base.params }, { r: 4, loraAlpha: 8, dropout: 0, targets: [...LINEAR_NAMES] }, 5);
  const rng = new Rng(9);
  for (const L of adapter.layers) for (const w of Object.values(L)) for (let i = 0; i < w.B.length; i++) w.B[i] = (rng.next() - 0.5) * 0.4;
  const adapterDir = join(work, 'adapter');
  saveAdapter(adapterDir, adapter, { baseModel: dir });
  await compare(t, dir, adapterDir);
});

test('both back ends stop at the context window with finish "context" and the same tokens', { skip }, async () => {
  const dir = modelDir({ architecture: 'llama', hidden: 32, heads: 4, kvHeads: 2, layers: 1, intermediate: 32, maxPositions: 40 }, 15);
  const engine = await open(dir, 'engine');
  const llama = await open(dir, 'llama.cpp');
  assert.equal(llama.backend.contextSize, 40);
  const prompt = engine.tokenizer.encode('Natalia has 12 apples and Weng buys 24 books.').slice(0, 25);
  const opts = { maxNewTokens: 100, stopIds: [] };
  const [ge] = await engine.backend.generateGreedy([prompt], opts);
  const [gl] = await llama.backend.generateGreedy([prompt], opts);
  assert.equal(ge!.finish, 'context');
  assert.equal(ge!.tokens.length, 40 - prompt.length);
  assert.deepEqual(gl, ge);
});
