/**
 * The knobs that set how hard synthetic problems are. The defaults aim a few-million-parameter model
 * trained for minutes at partial accuracy: 2-4 operations, two-digit numbers in the question (so sums
 * carry and differences borrow), products of one digit by two, exact divisions, and no result
 * above 999 (short answers keep a whole chat-formatted problem near 100-150 tokens).
 */
import { UserError } from '../../util/errors.js';
import type { NumberLimits } from './builder.js';
import { OP_KINDS } from './program.js';
import { TEMPLATE_IDS } from './templates/index.js';

/** The limits on numbers and operations (NumberLimits, in builder.ts), plus how many steps and which stories. */
export interface Difficulty extends NumberLimits {
  /** Fewest operations (solution steps) per problem. */
  minOps: number;
  /** Most operations per problem; each problem draws its count uniformly from [minOps, maxOps]. */
  maxOps: number;
  /** The story templates problems are drawn from (ids from TEMPLATE_IDS). */
  templates: string[];
}

export const DEFAULT_DIFFICULTY: Readonly<Difficulty> = Object.freeze({
  minOps: 2,
  maxOps: 4,
  maxDigits: 2,
  maxMultiplier: 9,
  maxResult: 999,
  ops: [...OP_KINDS],
  templates: [...TEMPLATE_IDS],
});

/**
 * Fill unset knobs with the defaults and check every one; errors name the field (as `name` spells it,
 * e.g. the CLI flag) and the expected range.
 */
export function resolveDifficulty(partial: Partial<Difficulty> = {}, name: (field: keyof Difficulty) => string = (f) => `difficulty.${f}`): Difficulty {
  const d: Difficulty = {
    ...DEFAULT_DIFFICULTY,
    ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)),
    ops: [...(partial.ops ?? DEFAULT_DIFFICULTY.ops)],
    templates: [...(partial.templates ?? DEFAULT_DIFFICULTY.templates)],
  };
  const intIn = (field: keyof Difficulty, lo: number, hi: number, loName = String(lo)): void => {
    const v: unknown = d[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new UserError(`${name(field)} must be an integer from ${loName} to ${hi}, got ${JSON.stringify(v)}`);
    }
  };
  intIn('minOps', 1, 8);
  intIn('maxOps', d.minOps, 8, `${name('minOps')} (${d.minOps})`);
  intIn('maxDigits', 1, 4);
  intIn('maxMultiplier', 2, 99);
  intIn('maxResult', 10, 1_000_000);
  if (d.ops.length === 0) throw new UserError(`${name('ops')} is empty; expected some of ${OP_KINDS.join(', ')}`);
  for (const op of d.ops) {
    if (!OP_KINDS.includes(op)) throw new UserError(`${name('ops')} has unknown operation '${op}'; expected some of ${OP_KINDS.join(', ')}`);
  }
  if (d.templates.length === 0) throw new UserError(`${name('templates')} is empty; expected some of ${TEMPLATE_IDS.join(', ')}`);
  for (const t of d.templates) {
    if (!TEMPLATE_IDS.includes(t)) throw new UserError(`${name('templates')} has unknown template '${t}'; expected some of ${TEMPLATE_IDS.join(', ')}`);
  }
  d.ops = [...new Set(d.ops)];
  d.templates = [...new Set(d.templates)];
  return d;
}
