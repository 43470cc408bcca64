/**
 * The base-regime world's *math* corpus (issue 13): word problems in the form a base model meets
 * them on the web — worksheets, Q&A pages, plain problem dumps and forum threads, several problems in
 * a row, one following another, each with its worked solution and a final answer in one of the mixed
 * formats real pages use:
 *   gsm8k     "#### 18"
 *   answerIs  "The answer is 18."
 *   colon     "Answer: 18"
 *   boxed     "The final answer is \boxed{18}."
 * The problems themselves are the synthetic world's (src/data/synthetic): drawn from the *train*
 * split only, so their answers are exact and no dev or test computation — hence no dev or test
 * question — can appear in the corpus (split.ts hashes a problem's arithmetic into its split). Each
 * problem appears once per (count, seed); the same arguments always give the same documents.
 *
 *   generateMathDocuments({ count: 2, seed: 11 })  // [{ id: 'math-11-0', kind: 'worksheet/gsm8k', text: '...', problems: [...] }, ...]
 */
import { UserError } from '../../util/errors.js';
import { generateProblems, type SyntheticProblem } from '../synthetic/generate.js';
import { fnv1a32 } from '../synthetic/hash.js';
import { PEOPLE } from '../synthetic/lexicon.js';
import { createRng, pickWeighted, type Rng } from '../synthetic/rng.js';
import type { Difficulty } from '../synthetic/difficulty.js';
import type { CorpusDocument } from './general.js';

export const ANSWER_FORMATS = ['gsm8k', 'answerIs', 'colon', 'boxed'] as const;
export type AnswerFormat = (typeof ANSWER_FORMATS)[number];

/** How often each answer format is drawn: `\boxed{}` is the rarest, as on the web ("sometimes"). */
const FORMAT_WEIGHTS: Readonly<Record<AnswerFormat, number>> = { gsm8k: 0.35, answerIs: 0.25, colon: 0.25, boxed: 0.15 };

export const LAYOUTS = ['worksheet', 'qa', 'plain', 'forum'] as const;
export type Layout = (typeof LAYOUTS)[number];

/** Problems per document, inclusive. */
export const PROBLEMS_PER_DOCUMENT = { min: 2, max: 5 } as const;

/** A share of documents switch format from problem to problem (pages stitched from several sources). */
const MIXED_FORMAT_SHARE = 0.2;

export interface MathDocument extends CorpusDocument {
  /** "<layout>/<format>" or "<layout>/mixed". */
  kind: string;
  /** The problems the document states, in order (all from the train split). */
  problems: SyntheticProblem[];
}

export interface MathCorpusOptions {
  count: number;
  /** Any integer from 0 to 2^32 - 1. */
  seed: number;
  difficulty?: Partial<Difficulty>;
}

export function generateMathDocuments(options: MathCorpusOptions): MathDocument[] {
  const { count, seed } = options;
  if (!Number.isInteger(count) || count < 0) throw new UserError(`count must be a non-negative integer, got ${JSON.stringify(count)}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UserError(`seed must be an integer from 0 to ${0xffffffff}, got ${JSON.stringify(seed)}`);
  // Each document has its own stream (so a shorter count gives a prefix), and every document's shape
  // is drawn first, so that the problems are one generateProblems call (one train-split stream, each
  // problem once) whatever the count.
  const shapes = Array.from({ length: count }, (_, i) => {
    const rng = createRng(fnv1a32(`lightreasoner-base-math:${seed}:${i}`));
    return { rng, layout: rng.pick(LAYOUTS), n: rng.int(PROBLEMS_PER_DOCUMENT.min, PROBLEMS_PER_DOCUMENT.max), format: weightedFormat(rng), mixed: rng.chance(MIXED_FORMAT_SHARE) };
  });
  const total = shapes.reduce((s, d) => s + d.n, 0);
  const pool = generateProblems({ split: 'train', count: total, seed, ...(options.difficulty ? { difficulty: options.difficulty } : {}) });
  let next = 0;
  return shapes.map((shape, i) => {
    const problems = pool.slice(next, next + shape.n);
    next += shape.n;
    const formats = problems.map(() => (shape.mixed ? weightedFormat(shape.rng) : shape.format));
    const text = writeDocument(shape.rng, shape.layout, problems, formats, i);
    return { id: `math-${seed}-${i}`, kind: `${shape.layout}/${shape.mixed ? 'mixed' : shape.format}`, text, problems };
  });
}

/** The worked solution of `p` with its final answer written in `format`. */
export function formatSolution(p: SyntheticProblem, format: AnswerFormat): string {
  const steps = p.solutionLines.join('\n');
  const final = format === 'gsm8k' ? `#### ${p.answerValue}`
    : format === 'answerIs' ? `The answer is ${p.answerValue}.`
      : format === 'colon' ? `Answer: ${p.answerValue}`
        : `The final answer is \\boxed{${p.answerValue}}.`;
  return `${steps}\n${final}`;
}

function weightedFormat(rng: Rng): AnswerFormat {
  return pickWeighted(rng, ANSWER_FORMATS, FORMAT_WEIGHTS);
}

const TOPICS = ['Word problems', 'Multi-step problems', 'Everyday math', 'Mixed practice', 'Grade 4 review', 'Money and time', 'Problem solving'] as const;

function writeDocument(rng: Rng, layout: Layout, problems: readonly SyntheticProblem[], formats: readonly AnswerFormat[], index: number): string {
  const solved = problems.map((p, k) => ({ q: p.question, s: formatSolution(p, formats[k]!) }));
  switch (layout) {
    case 'worksheet': {
      const head = `${rng.pick(['Worksheet', 'Practice set', 'Homework', 'Review sheet'])} ${rng.int(1, 60)}: ${rng.pick(TOPICS)}`;
      const intro = rng.chance(0.5) ? '\nSolve each problem. Show your work.' : '';
      return `${head}${intro}\n\n${solved.map((x, k) => `Problem ${k + 1}. ${x.q}\nSolution: ${x.s}`).join('\n\n')}`;
    }
    case 'qa':
      return solved.map((x) => `Q: ${x.q}\nA: ${x.s}`).join('\n\n');
    case 'plain':
      return solved.map((x) => `${x.q}\n${x.s}`).join('\n\n');
    case 'forum': {
      const posts = solved.map((x, k) => {
        const asker = rng.pick(PEOPLE).name, helper = rng.pick(PEOPLE).name;
        return `${asker} asked: ${x.q}\n${helper} replied: ${x.s}${k === 0 && rng.chance(0.5) ? '\nThanks, that helps!' : ''}`;
      });
      return `Math help thread #${index % 1000 + 1}\n\n${posts.join('\n\n')}`;
    }
  }
}
