/**
 * The fuzz suites: each runs `n` generated cases through the real parsers and loaders in-process
 * and tallies how they ended (outcome.ts). Suites that need files write them under one temp dir.
 */
import { mkdirSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/util/rng.js';
import { parseSafetensorsBytes, type SafetensorsHeader } from '../../src/model/safetensors.js';
import { parseConfig } from '../../src/model/config.js';
import { loadModelDir } from '../../src/model/model-dir.js';
import { HfTokenizer } from '../../src/tokenizer/hf-tokenizer.js';
import { readQuestions, requireValidQuestions } from '../../src/data/questions.js';
import { readSamples, requireValidSamples } from '../../src/method/samples.js';
import { packSequences } from '../../src/model/transformer.js';
import { loadModel } from '../../src/model/load.js';
import { Tally, runCase, type Expect } from './outcome.js';
import { safetensorsCase } from './safetensors-gen.js';
import { configCase, jsonlLines, tokenizerCase, type TokenizerBase } from './other-gen.js';

/** What an accepted safetensors header must satisfy: the format's rules, checked independently. */
export function checkSafetensorsHeader(h: SafetensorsHeader): string | null {
  const names = new Set<string>();
  let at = 0;
  for (const t of [...h.tensors].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (names.has(t.name)) return `tensor ${t.name} twice`;
    names.add(t.name);
    if (t.begin !== at) return `tensor ${t.name} starts at ${t.begin}, not ${at}`;
    at = t.end;
  }
  if (h.dataOffset + at !== h.fileSize) return `data ends at ${h.dataOffset + at}, the file at ${h.fileSize}`;
  for (const v of Object.values(h.metadata)) if (typeof v !== 'string') return 'a metadata value is not a string';
  return null;
}

export function fuzzSafetensors(n: number, seed: number, tally = new Tally()): Tally {
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) {
    const c = safetensorsCase(rng);
    tally.add(runCase(c.expect, () => parseSafetensorsBytes(c.bytes, `case${i}.safetensors`), checkSafetensorsHeader), `safetensors case ${i} (seed ${seed}, ${c.mutation})`);
  }
  return tally;
}

export function fuzzConfigs(n: number, seed: number, tally = new Tally()): Tally {
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) {
    const c = configCase(rng);
    tally.add(runCase(c.expect, () => parseConfig(c.config as Record<string, unknown>, `config${i}.json`), (cfg) => {
      for (const k of ['hiddenSize', 'intermediateSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'vocabSize', 'maxPositionEmbeddings'] as const) {
        if (!Number.isSafeInteger(cfg[k]) || cfg[k] <= 0) return `${k} is ${cfg[k]}`;
      }
      if (!(cfg.rmsNormEps > 0 && cfg.rmsNormEps < 1) || !(cfg.ropeTheta > 1 && Number.isFinite(cfg.ropeTheta))) return 'eps or rope_theta out of range';
      return null;
    }), `config case ${i} (seed ${seed}, ${c.mutation})`);
  }
  return tally;
}

export function fuzzTokenizers(n: number, seed: number, base: TokenizerBase, tally = new Tally()): Tally {
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) {
    const c = tokenizerCase(rng, base);
    tally.add(runCase(c.expect, () => {
      const tok = HfTokenizer.fromFiles(c.files, base.dir);
      // Accepted tokenizers must work: ids are integers inside the vocabulary and decode back.
      const ids = tok.encode('Natalia sold 48 clips in April. 名前 ✓');
      return { tok, ids, text: tok.decode(ids) };
    }, ({ tok, ids, text }) => {
      if (!ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize)) return `encode gave ids outside [0, ${tok.vocabSize})`;
      if (typeof text !== 'string') return 'decode did not return text';
      return null;
    }), `tokenizer case ${i} (seed ${seed}, ${c.mutation})`);
  }
  return tally;
}

/** Question files and samples files, written to `dir` and read back the way the commands read them. */
export function fuzzJsonl(n: number, seed: number, dir: string, tally = new Tally()): Tally {
  const rng = new Rng(seed);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const kind = i % 2 === 0 ? 'questions' : 'samples';
    const c = jsonlLines(rng, kind);
    const path = join(dir, `${kind}-${i}.jsonl`);
    writeFileSync(path, c.text);
    const check = (problems: Array<{ message: string }>): string | null => {
      const long = problems.find((p) => p.message.length > 1000);
      return long ? `a problem message of ${long.message.length} characters` : null;
    };
    if (kind === 'questions') {
      tally.add(runCase(c.expect, () => {
        const read = readQuestions(path);
        const bad = check(read.problems);
        if (bad) return bad;
        requireValidQuestions(read);
        return null;
      }, (bad) => bad), `questions case ${i} (seed ${seed}, ${c.mutation})`);
    } else {
      tally.add(runCase(c.expect, () => {
        const read = readSamples(path, 64);
        const bad = check(read.problems);
        if (bad) return bad;
        requireValidSamples(path, read);
        return null;
      }, (bad) => bad), `samples case ${i} (seed ${seed}, ${c.mutation})`);
    }
  }
  return tally;
}

/**
 * Whole model directories on disk, a copy of `modelDir` with one thing broken: config values,
 * config/weights mismatches, NaN/Inf weights, overflowing weights (the forward must stop).
 */
export async function fuzzModelDirs(modelDir: string, dir: string, tally = new Tally()): Promise<Tally> {
  const cfg = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const variants: Array<[string, Record<string, unknown> | null, ((b: Buffer) => Buffer) | null, Expect]> = [
    ['unchanged', null, null, 'accept'],
    ['num_hidden_layers - 1', { num_hidden_layers: (cfg.num_hidden_layers as number) - 1 }, null, 'reject'],
    ['num_hidden_layers + 1', { num_hidden_layers: (cfg.num_hidden_layers as number) + 1 }, null, 'reject'],
    ['num_hidden_layers 1e8', { num_hidden_layers: 1e8 }, null, 'reject'],
    ['hidden_size x2', { hidden_size: (cfg.hidden_size as number) * 2 }, null, 'reject'],
    ['vocab_size 1e9', { vocab_size: 1e9 }, null, 'reject'],
    ['LlamaForCausalLM', { architectures: ['LlamaForCausalLM'], model_type: 'llama' }, null, cfg.model_type === 'qwen2' ? 'reject' : 'accept'],
    ['rope_theta 0', { rope_theta: 0 }, null, 'reject'],
    ['rope_theta -1', { rope_theta: -1 }, null, 'reject'],
    ['rms_norm_eps -1', { rms_norm_eps: -1 }, null, 'reject'],
    ['rms_norm_eps 0', { rms_norm_eps: 0 }, null, 'reject'],
    // Untied weights under a tied config: lm_head.weight is ignored, as transformers does (a documented acceptance).
    ['tie_word_embeddings flipped', { tie_word_embeddings: !(cfg.tie_word_embeddings as boolean) }, null, cfg.tie_word_embeddings ? 'reject' : 'either'],
    ...(['7fc00000', '7f800000', 'ff800000'] as const).map((hex): [string, null, (b: Buffer) => Buffer, Expect] => [`weight ${hex}`, null, (b) => {
      // The file's last 4 data bytes: one F32, or as F16/BF16 a 0 and a NaN/Inf (strict layout: they belong to a tensor).
      const out = Buffer.from(b);
      out.writeUInt32LE(parseInt(hex, 16), out.length - 4);
      return out;
    }, 'reject']),
  ];
  let i = 0;
  for (const [name, patch, weights, expect] of variants) {
    const d = join(dir, `model-${i++}`);
    cpSync(modelDir, d, { recursive: true });
    if (patch) writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, ...patch }));
    if (weights) writeFileSync(join(d, 'model.safetensors'), weights(readFileSync(join(d, 'model.safetensors'))));
    tally.add(runCase(expect, () => loadModelDir(d)), `model dir ${name}`);
  }
  // Finite weights whose product overflows: loading succeeds, the first forward must stop.
  const d = join(dir, `model-${i++}`);
  cpSync(modelDir, d, { recursive: true });
  const lm = await loadModel(d);
  lm.params.finalNorm.fill(3e38);
  tally.add(runCase('reject', () => lm.model.forward(packSequences([[1, 2, 3]]), { logitRows: 'all' }).logits, (logits) => (logits.every(Number.isFinite) ? null : 'NaN output')), 'model dir overflowing weights (forward)');
  return tally;
}
