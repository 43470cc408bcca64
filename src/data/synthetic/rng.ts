/**
 * The seeded random stream behind the synthetic data: mulberry32 (Tommy Ettinger's 32-bit generator),
 * small, fast and identical on every platform. `Math.random` is never used, so a seed fixes the data.
 *
 *   const rng = createRng(7); rng.int(2, 9)  // the same number on every run
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int(lo, hi) {
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new RangeError(`rng.int: empty range [${lo}, ${hi}]`);
      return lo + Math.floor(next() * (hi - lo + 1));
    },
    pick(items) {
      if (items.length === 0) throw new RangeError('rng.pick: no items');
      return items[Math.floor(next() * items.length)]!;
    },
    chance(p) {
      return next() < p;
    },
  };
}

/**
 * A key drawn with probability proportional to its weight, from one rng.next(); the last key when
 * the weights sum to less than the draw (rounding), so weights that sum to 1 need not be exact.
 */
export function pickWeighted<K extends string>(rng: Rng, keys: readonly K[], weights: Readonly<Record<K, number>>): K {
  let r = rng.next();
  for (const k of keys) {
    r -= weights[k];
    if (r < 0) return k;
  }
  return keys[keys.length - 1]!;
}
