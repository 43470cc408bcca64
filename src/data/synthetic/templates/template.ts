/**
 * The shape every story template has, and the number-drawing helpers they share. A template builds
 * one problem with exactly `ctx.ops` steps from the allowed operations, or returns null when it has
 * no story of that length and kind; an unlucky draw throws `Reject` (from the builder).
 */
import { ProgramBuilder, Reject, type Draft, type NumberLimits } from '../builder.js';
import type { OpKind } from '../program.js';
import type { Rng } from '../rng.js';

export interface TemplateContext {
  rng: Rng;
  difficulty: NumberLimits;
  /** Exactly this many steps. */
  ops: number;
}

export interface Template {
  id: string;
  /** One line for help texts: what kind of story it tells. */
  summary: string;
  build(ctx: TemplateContext): Draft | null;
}

/** Uniform integer in [lo, hi]; an empty range is an unlucky draw, not an error. */
export function between(rng: Rng, lo: number, hi: number): number {
  if (hi < lo) throw new Reject(`empty range [${lo}, ${hi}]`);
  return rng.int(lo, hi);
}

/** A multiplier, divisor or count of groups: 2..maxMultiplier (and no more than a question may state). */
export function small(b: ProgramBuilder, rng: Rng): number {
  return between(rng, 2, Math.min(b.difficulty.maxMultiplier, b.maxGiven));
}

/** A quantity a question states: lo..hi within 2..maxGiven (lo falls to 2 when one-digit numbers leave no room). */
export function amount(b: ProgramBuilder, rng: Rng, lo = 2, hi = b.maxGiven): number {
  return between(rng, lo * 2 > b.maxGiven ? 2 : lo, Math.min(hi, b.maxGiven));
}

/** A divisor of `n` in 2..maxMultiplier, chosen uniformly; Reject if there is none. */
export function divisorOf(b: ProgramBuilder, rng: Rng, n: number): number {
  const hi = Math.min(b.difficulty.maxMultiplier, b.maxGiven);
  const ds: number[] = [];
  for (let d = 2; d <= hi; d++) if (n % d === 0) ds.push(d);
  if (ds.length === 0) throw new Reject(`${n} has no small divisor`);
  return rng.pick(ds);
}

export function allows(ctx: TemplateContext, ...ops: OpKind[]): boolean {
  return ops.every((op) => ctx.difficulty.ops.includes(op));
}

/** One plan among those with exactly `ctx.ops` steps that use only allowed operations; null if none. */
export function choosePlan<P>(ctx: TemplateContext, plans: readonly { plan: P; kinds: readonly OpKind[] }[]): P | null {
  const fit = plans.filter((p) => p.kinds.length === ctx.ops && allows(ctx, ...p.kinds));
  return fit.length === 0 ? null : ctx.rng.pick(fit).plan;
}
