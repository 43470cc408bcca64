/**
 * Writes the base-regime world's two corpora (src/data/base-world) as JSONL for build-base.sh:
 *   <out>/general.jsonl   --general N documents (seed --general-seed)
 *   <out>/math.jsonl      --math N documents of train-split problems (seed --math-seed)
 * and prints how many documents, characters and problems each holds. A file already present with the
 * same settings (recorded in <out>/corpora.json) is kept, so a rerun of the build does no work twice.
 *
 *   node dist/tools/world/base-corpora.js --out runs/base-world --general 60000 --math 30000
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateGeneralDocuments, generateMathDocuments, writeCorpusJsonl } from '../../src/data/base-world/index.js';
import { writeJsonAtomic } from '../../src/util/fsx.js';
import { UserError } from '../../src/util/errors.js';

export interface BaseCorporaSettings {
  general: number;
  generalSeed: number;
  math: number;
  mathSeed: number;
}

export interface BaseCorporaReport {
  settings: BaseCorporaSettings;
  general: { documents: number; chars: number };
  math: { documents: number; chars: number; problems: number };
  /** True when the files were already there with these settings. */
  kept: boolean;
}

export function writeBaseCorpora(out: string, s: BaseCorporaSettings): BaseCorporaReport {
  const manifest = join(out, 'corpora.json');
  if (existsSync(manifest) && existsSync(join(out, 'general.jsonl')) && existsSync(join(out, 'math.jsonl'))) {
    const old = JSON.parse(readFileSync(manifest, 'utf8')) as BaseCorporaReport;
    if (JSON.stringify(old.settings) === JSON.stringify(s)) return { ...old, kept: true };
    throw new UserError(`${out} holds corpora made with other settings (${JSON.stringify(old.settings)}, now ${JSON.stringify(s)}); use another directory`);
  }
  const general = generateGeneralDocuments({ count: s.general, seed: s.generalSeed });
  writeCorpusJsonl(join(out, 'general.jsonl'), general);
  const math = generateMathDocuments({ count: s.math, seed: s.mathSeed });
  writeCorpusJsonl(join(out, 'math.jsonl'), math);
  const report: BaseCorporaReport = {
    settings: s,
    general: { documents: general.length, chars: general.reduce((a, d) => a + d.text.length, 0) },
    math: { documents: math.length, chars: math.reduce((a, d) => a + d.text.length, 0), problems: math.reduce((a, d) => a + d.problems.length, 0) },
    kept: false,
  };
  // Written last: its presence says both corpora are complete.
  writeJsonAtomic(manifest, report);
  return report;
}

function flag(name: string, fallback?: string): string {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new UserError(`${name} is required`);
  return v;
}

function count(name: string, fallback?: string): number {
  const v = Number(flag(name, fallback));
  if (!Number.isInteger(v) || v < 0) throw new UserError(`${name} must be a non-negative integer, got ${flag(name, fallback)}`);
  return v;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const r = writeBaseCorpora(flag('--out'), { general: count('--general'), generalSeed: count('--general-seed', '1'), math: count('--math'), mathSeed: count('--math-seed', '11') });
    console.log(JSON.stringify(r));
  } catch (e) {
    console.error(`base-corpora: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 2;
  }
}
