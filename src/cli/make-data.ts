/**
 * `lightreasoner make-data`: write synthetic GSM8K-style problems (question, worked solution,
 * "#### answer") as JSONL. Splits are disjoint by construction: a problem's split is a hash of its
 * arithmetic, so train, dev and test never share a question whatever seeds they are made with.
 *
 *   lightreasoner make-data --split train --count 5000 --seed 1 --out data/synth-train.jsonl
 */
import { Option, type Command } from 'commander';
import { UserError } from '../util/errors.js';
import { DEFAULT_DIFFICULTY, resolveDifficulty, type Difficulty } from '../data/synthetic/difficulty.js';
import { generateProblems } from '../data/synthetic/generate.js';
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
}

const FLAG: Record<keyof Difficulty, string> = {
  minOps: '--min-ops', maxOps: '--max-ops', maxDigits: '--max-digits', maxMultiplier: '--max-multiplier',
  maxResult: '--max-result', ops: '--ops', templates: '--templates',
};

function parseCount(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw new UserError(`${flag} must be a non-negative integer, got '${v}'`);
  return Number(v);
}

function parseList(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export function registerMakeData(program: Command): void {
  const d = DEFAULT_DIFFICULTY;
  program
    .command('make-data')
    .description('Write synthetic multi-step arithmetic word problems with GSM8K-style worked solutions as JSONL ({"id","question","answer"}, answer ending "#### N"). Train, dev and test never share a problem.')
    .addOption(new Option('--split <name>', 'which split to draw from; membership is a hash of each problem\'s arithmetic, so splits are disjoint whatever the seeds').choices([...SPLITS]).makeOptionMandatory())
    .requiredOption('--count <n>', 'how many problems to write (all distinct questions)')
    .option('--seed <n>', 'random seed (0 to 4294967295); the same split, seed and difficulty always give the same file, and a smaller count gives its first lines', '1')
    .requiredOption('--out <file>', 'JSONL file to write (replaced atomically; folders are created)')
    .option('--min-ops <n>', `fewest operations (solution steps) per problem (default ${d.minOps})`)
    .option('--max-ops <n>', `most operations per problem; each problem draws its count uniformly from min..max (default ${d.maxOps})`)
    .option('--max-digits <n>', `numbers written in questions have at most this many digits (default ${d.maxDigits})`)
    .option('--max-multiplier <n>', `every product has a factor at most this, and every divisor is at most this (default ${d.maxMultiplier})`)
    .option('--max-result <n>', `no intermediate or final result exceeds this (default ${d.maxResult})`)
    .option('--ops <list>', `comma-separated operations problems may use, from add,sub,mul,div (default ${d.ops.join(',')})`)
    .option('--templates <list>', `comma-separated story templates to draw from (default all): ${TEMPLATES.map((t) => `${t.id} = ${t.summary}`).join('; ')}`)
    .action((opts: MakeDataOptions) => {
      const count = parseCount('--count', opts.count)!;
      const seed = parseCount('--seed', opts.seed)!;
      const difficulty = resolveDifficulty({
        minOps: parseCount(FLAG.minOps, opts.minOps),
        maxOps: parseCount(FLAG.maxOps, opts.maxOps),
        maxDigits: parseCount(FLAG.maxDigits, opts.maxDigits),
        maxMultiplier: parseCount(FLAG.maxMultiplier, opts.maxMultiplier),
        maxResult: parseCount(FLAG.maxResult, opts.maxResult),
        ops: parseList(opts.ops) as OpKind[] | undefined,
        templates: parseList(opts.templates),
      }, (f) => FLAG[f]);
      const problems = generateProblems({ split: opts.split, count, seed, difficulty });
      writeGsm8kJsonl(opts.out, problems);
      const lengths = problems.map((p) => p.question.length + p.answer.length);
      const mean = lengths.length ? lengths.reduce((a, b) => a + b, 0) / lengths.length : 0;
      process.stderr.write(
        `wrote ${problems.length} ${opts.split} problems (seed ${seed}) to ${opts.out}; ` +
        `${difficulty.minOps}-${difficulty.maxOps} operations, question+answer ${lengths.length ? Math.min(...lengths) : 0}-${lengths.length ? Math.max(...lengths) : 0} characters (mean ${mean.toFixed(0)})\n`,
      );
    });
}
