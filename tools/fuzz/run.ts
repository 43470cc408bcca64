/**
 * Running the fuzz suites together: `main` for the command line (index.ts), `runFuzz` for tests.
 *
 *   node dist/tools/fuzz/index.js                              # every suite at CI size
 *   node dist/tools/fuzz/index.js --safetensors-headers 100000 # 10^5 headers through the parser, in-process
 *   node dist/tools/fuzz/index.js --configs 5000 --tokenizers 500 --jsonl 1000 --seed 7 --json counts.json
 */
import { rmSync, writeFileSync } from 'node:fs';
import { readJsonFile } from '../../src/util/fsx.js';
import { join } from 'node:path';
import { tinyModelDir } from '../../src/model/testing.js';
import { tinyTokenizerDir } from '../../src/tokenizer/testing.js';
import { testTempDir } from '../../src/testing/tmp.js';
import { Tally } from './outcome.js';
import { fuzzConfigs, fuzzJsonl, fuzzModelDirs, fuzzSafetensors, fuzzTokenizers } from './suites.js';
import type { TokenizerBase } from './other-gen.js';

export interface FuzzSizes {
  safetensors: number;
  configs: number;
  tokenizers: number;
  jsonl: number;
  modelDirs: boolean;
  seed: number;
}

/** What CI runs as part of `npm test`: a few hundred cases, well under a minute. */
export const CI_SIZES: FuzzSizes = { safetensors: 400, configs: 200, tokenizers: 60, jsonl: 60, modelDirs: true, seed: 1 };

export interface FuzzResult {
  suites: Record<string, Tally>;
  seconds: Record<string, number>;
  failed: number;
}

function tokenizerBase(): TokenizerBase {
  const { dir } = tinyTokenizerDir();
  return {
    dir,
    tokenizerJson: readJsonFile<Record<string, unknown>>(join(dir, 'tokenizer.json'), 'tokenizer.json'),
    tokenizerConfig: readJsonFile<Record<string, unknown>>(join(dir, 'tokenizer_config.json'), 'tokenizer config'),
  };
}

export async function runFuzz(s: FuzzSizes): Promise<FuzzResult> {
  const suites: Record<string, Tally> = {};
  const seconds: Record<string, number> = {};
  const timed = async (name: string, f: () => Tally | Promise<Tally>): Promise<void> => {
    const t0 = performance.now();
    suites[name] = await f();
    seconds[name] = (performance.now() - t0) / 1000;
  };
  const work = testTempDir('lr-fuzz-');
  try {
    if (s.safetensors > 0) await timed('safetensors headers', () => fuzzSafetensors(s.safetensors, s.seed));
    if (s.configs > 0) await timed('config.json', () => fuzzConfigs(s.configs, s.seed));
    if (s.tokenizers > 0) {
      const base = tokenizerBase();
      await timed('tokenizers', () => fuzzTokenizers(s.tokenizers, s.seed, base));
    }
    if (s.jsonl > 0) await timed('JSONL (questions, samples)', () => fuzzJsonl(s.jsonl, s.seed, join(work, 'jsonl')));
    if (s.modelDirs) {
      for (const [name, spec] of [['qwen2', { architecture: 'qwen2' as const }], ['llama tied', { architecture: 'llama' as const, tied: true }]] as const) {
        const model = tinyModelDir(spec, 3);
        await timed(`model directories (${name})`, () => fuzzModelDirs(model, join(work, `models-${name.replace(' ', '-')}`)));
        rmSync(model, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const failed = Object.values(suites).reduce((a, t) => a + t.failed, 0);
  return { suites, seconds, failed };
}

function usage(): string {
  return 'usage: fuzz [--safetensors-headers N] [--configs N] [--tokenizers N] [--jsonl N] [--model-dirs] [--seed S] [--json FILE]\n'
    + '  no suite flag: every suite at CI size; with suite flags: only those suites';
}

export async function main(argv: string[]): Promise<number> {
  const args = argv.slice(2);
  const chosen: FuzzSizes = { safetensors: 0, configs: 0, tokenizers: 0, jsonl: 0, modelDirs: false, seed: 1 };
  let any = false, json: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): number => {
      const v = Number(args[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer\n${usage()}`);
      return v;
    };
    if (a === '--safetensors-headers') { chosen.safetensors = value(); any = true; }
    else if (a === '--configs') { chosen.configs = value(); any = true; }
    else if (a === '--tokenizers') { chosen.tokenizers = value(); any = true; }
    else if (a === '--jsonl') { chosen.jsonl = value(); any = true; }
    else if (a === '--model-dirs') { chosen.modelDirs = true; any = true; }
    else if (a === '--seed') chosen.seed = value();
    else if (a === '--json') json = args[++i] ?? null;
    else if (a === '--help' || a === '-h') { process.stdout.write(`${usage()}\n`); return 0; }
    else { process.stderr.write(`unknown argument ${a}\n${usage()}\n`); return 2; }
  }
  const sizes = any ? chosen : { ...CI_SIZES, seed: chosen.seed };
  const r = await runFuzz(sizes);
  for (const [name, t] of Object.entries(r.suites)) {
    process.stdout.write(`${t.format(name)}\n  (${r.seconds[name]!.toFixed(1)} s, seed ${sizes.seed})\n`);
    for (const f of t.failures) process.stdout.write(`  failure: ${f}\n`);
  }
  process.stdout.write(`${r.failed === 0 ? 'every case ended in a named UserError or a checked acceptance' : `${r.failed} case(s) FAILED`}\n`);
  if (json) writeFileSync(json, `${JSON.stringify({ seed: sizes.seed, seconds: r.seconds, counts: Object.fromEntries(Object.entries(r.suites).map(([k, t]) => [k, t.toJSON()])) }, null, 2)}\n`);
  return r.failed === 0 ? 0 : 1;
}
