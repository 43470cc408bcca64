/**
 * `lightreasoner make-data`: write synthetic GSM8K-style problems (question, worked solution,
 * "#### answer") as JSONL. Splits are disjoint by construction: a problem's split is a hash of its
 * arithmetic, so train, dev and test never share a question whatever seeds they are made with.
 *
 *   lightreasoner make-data --split train --count 5000 --seed 1 --out data/synth-train.jsonl
 */
import { Option, type Command } from 'commander';
import { commaList, JSON_HELP, nonNegativeInt, optional, printSummary } from './flags.js';
import { DEFAULT_DIFFICULTY, resolveDifficulty, type Difficulty } from '../data/synthetic/difficulty.js';
import { DEFAULT_SEED, generateProblems } from '../data/synthetic/generate.js';
import { writeGsm8kJsonl } from '../data/synthetic/gsm8k-jsonl.js';
import type { OpKind } from '../data/synthetic/program.js';
import { SPLITS, type Split } from '../data/synthetic/split.js';
import { TEMPLATES } from '../data/synthetic/templates/index.js';

interface MakeDataOptions {
  split: Split;
  count: string;
  seed: string;
  out: string;
  minOps?: string;
  maxOps?: string;
  maxDigits?: string;
  maxMultiplier?: string;
  maxResult?: string;
  ops?: string;
  templates?: string;
  json?: boolean;
}

const FLAG: Record<keyof Difficulty, string> = {
  minOps: '--min-ops', maxOps: '--max-ops', maxDigits: '--max-digits', maxMultiplier: '--max-multiplier',
  maxResult: '--max-result', ops: '--ops', templates: '--templates',
};

/** The end-of-run summary. */
export interface MakeDataSummary {
  out: string;
  split: Split;
  count: number;
  seed: number;
  difficulty: Difficulty;
  /** Characters of question + answer per problem; null when no problem was written. */
  characters: { min: number; max: number; mean: number } | null;
}

export function formatMakeDataSummary(s: MakeDataSummary): string {
  const c = s.characters;
  return `wrote ${s.count} ${s.split} problems (seed ${s.seed}) to ${s.out}` +
    (c === null ? '' : `; ${s.difficulty.minOps}-${s.difficulty.maxOps} operations, question+answer ${c.min}-${c.max} characters (mean ${c.mean.toFixed(0)})`);
}

export function registerMakeData(program: Command): void {
  const d = DEFAULT_DIFFICULTY;
  program
    .command('make-data')
    .description('Write synthetic multi-step arithmetic word problems with GSM8K-style worked solutions as JSONL ({"id","question","answer"}, answer ending "#### N"). Train, dev and test never share a problem.')
    .addOption(new Option('--split <name>', 'which split to draw from; membership is a hash of each problem\'s arithmetic, so splits are disjoint whatever the seeds').choices([...SPLITS]).makeOptionMandatory())
    .requiredOption('--count <n>', 'how many problems to write (all distinct questions)')
    .option('--seed <n>', 'random seed (0 to 4294967295); the same split, seed and difficulty always give the same file, and a smaller count gives its first lines', String(DEFAULT_SEED))
    .requiredOption('--out <file>', 'JSONL file to write (replaced atomically; folders are created)')
    .option('--min-ops <n>', `fewest operations (solution steps) per problem (default ${d.minOps})`)
    .option('--max-ops <n>', `most operations per problem; each problem draws its count uniformly from min..max (default ${d.maxOps})`)
    .option('--max-digits <n>', `numbers written in questions have at most this many digits (default ${d.maxDigits})`)
    .option('--max-multiplier <n>', `every product has a factor at most this, and every divisor is at most this (default ${d.maxMultiplier})`)
    .option('--max-result <n>', `no intermediate or final result exceeds this (default ${d.maxResult})`)
    .option('--ops <list>', `comma-separated operations problems may use, from add,sub,mul,div (default ${d.ops.join(',')})`)
    .option('--json', JSON_HELP)
    .option('--templates <list>', `comma-separated story templates to draw from (default all): ${TEMPLATES.map((t) => `${t.id} = ${t.summary}`).join('; ')}`)
    .action((opts: MakeDataOptions) => {
      const count = nonNegativeInt(opts.count, '--count');
      const seed = nonNegativeInt(opts.seed, '--seed');
      const difficulty = resolveDifficulty({
        minOps: optional(nonNegativeInt, opts.minOps, FLAG.minOps),
        maxOps: optional(nonNegativeInt, opts.maxOps, FLAG.maxOps),
        maxDigits: optional(nonNegativeInt, opts.maxDigits, FLAG.maxDigits),
        maxMultiplier: optional(nonNegativeInt, opts.maxMultiplier, FLAG.maxMultiplier),
        maxResult: optional(nonNegativeInt, opts.maxResult, FLAG.maxResult),
        ops: optional(commaList, opts.ops, FLAG.ops) as OpKind[] | undefined,
        templates: optional(commaList, opts.templates, FLAG.templates),
      }, (f) => FLAG[f]);
      const problems = generateProblems({ split: opts.split, count, seed, difficulty });
      writeGsm8kJsonl(opts.out, problems);
      const lengths = problems.map((p) => p.question.length + p.answer.length);
      const summary: MakeDataSummary = {
        out: opts.out, split: opts.split, count: problems.length, seed, difficulty,
        characters: lengths.length === 0 ? null : { min: lengths.reduce((x, y) => Math.min(x, y)), max: lengths.reduce((x, y) => Math.max(x, y)), mean: lengths.reduce((x, y) => x + y, 0) / lengths.length },
      };
      printSummary(summary, opts.json, formatMakeDataSummary, process.stderr);
    });
}
