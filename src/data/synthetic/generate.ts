/**
 * Draws synthetic GSM8K-style problems: a template and a step count are drawn per problem from the
 * seeded stream, the template writes question, solution and program together, and only problems whose
 * arithmetic hashes into the requested split (see split.ts) and whose question is new are kept. The
 * same (split, seed, difficulty) always gives the same list, and a shorter count gives a prefix of it.
 *
 *   generateProblems({ split: 'train', count: 1000, seed: 1 })
 */
import { UserError } from '../../util/errors.js';
import { Reject, type Draft } from './builder.js';
import { resolveDifficulty, type Difficulty } from './difficulty.js';
import { fnv1a32 } from './hash.js';
import { evaluateProgram, type Program } from './program.js';
import { createRng, type Rng } from './rng.js';
import { SPLITS, splitOf, type Split } from './split.js';
import { templateById, type Template } from './templates/index.js';

export interface SyntheticProblem {
  /** "synth-<split>-<seed>-<index>". */
  id: string;
  split: Split;
  template: string;
  question: string;
  /** The worked solution in GSM8K form: one sentence per step, then "#### <answer>". */
  answer: string;
  answerValue: number;
  /** The solution sentences, one per program step (the answer text without "#### N"). */
  solutionLines: string[];
  program: Program;
}

export interface GenerateOptions {
  split: Split;
  count: number;
  /** Any integer from 0 to 2^32 - 1. */
  seed: number;
  difficulty?: Partial<Difficulty>;
}

/** Draws in a row that may yield nothing new before the settings are judged exhausted. */
const MAX_BARREN_DRAWS = 50_000;

/** The seed `make-data` uses when none is given. */
export const DEFAULT_SEED = 1;

export function generateProblems(options: GenerateOptions): SyntheticProblem[] {
  const { split, count, seed } = options;
  if (!SPLITS.includes(split)) throw new UserError(`split must be one of ${SPLITS.join(', ')}, got ${JSON.stringify(split)}`);
  if (!Number.isInteger(count) || count < 0) throw new UserError(`count must be a non-negative integer, got ${JSON.stringify(count)}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UserError(`seed must be an integer from 0 to ${0xffffffff}, got ${JSON.stringify(seed)}`);
  const difficulty = resolveDifficulty(options.difficulty);
  const templates = difficulty.templates.map(templateById);
  // The split is part of the stream's seed so that dev and test do not wade through train's draws.
  const rng = createRng(fnv1a32(`lightreasoner-synthetic:${seed}:${split}`));

  const out: SyntheticProblem[] = [];
  const seen = new Set<string>();
  let barren = 0;
  while (out.length < count) {
    const draft = draw(rng, templates, difficulty);
    if (draft && splitOf(draft.program) === split && !seen.has(draft.question)) {
      seen.add(draft.question);
      out.push(finish(draft, split, `synth-${split}-${seed}-${out.length}`));
      barren = 0;
    } else if (++barren > MAX_BARREN_DRAWS) {
      throw new UserError(
        `made only ${out.length} of ${count} distinct ${split} problems: ${MAX_BARREN_DRAWS} draws in a row gave nothing new. ` +
        `The difficulty settings (ops ${difficulty.ops.join(',')}, ${difficulty.minOps}-${difficulty.maxOps} operations, ` +
        `templates ${difficulty.templates.join(',')}, maxDigits ${difficulty.maxDigits}) allow too few problems; widen them or ask for fewer`,
      );
    }
  }
  return out;
}

/** Unlucky draws retried with the same template and step count, so every template gets its share. */
const TRIES_PER_DRAW = 50;

/** One candidate problem, or null when the template has no story of the drawn length (or stays unlucky). */
function draw(rng: Rng, templates: readonly Template[], difficulty: Difficulty): Draft | null {
  const template = rng.pick(templates);
  const ops = rng.int(difficulty.minOps, difficulty.maxOps);
  for (let t = 0; t < TRIES_PER_DRAW; t++) {
    let draft: Draft | null;
    try {
      draft = template.build({ rng, difficulty, ops });
    } catch (e) {
      if (e instanceof Reject) continue;
      throw e;
    }
    if (draft && draft.program.steps.length !== ops) {
      throw new Error(`template ${template.id} made ${draft.program.steps.length} steps when asked for ${ops}`);
    }
    return draft;
  }
  return null;
}

function finish(draft: Draft, split: Split, id: string): SyntheticProblem {
  const answerValue = evaluateProgram(draft.program);
  return {
    id,
    split,
    template: draft.template,
    question: draft.question,
    answer: `${draft.lines.join('\n')}\n#### ${answerValue}`,
    answerValue,
    solutionLines: draft.lines,
    program: draft.program,
  };
}
