/**
 * The two statistics an eval report needs: how sure is one accuracy (Wilson score interval), and is
 * the difference between two models on the same problems real (McNemar's exact test).
 */

/**
 * Wilson score interval for a binomial proportion (Wilson 1927): the p for which
 * |p̂ − p| ≤ z·sqrt(p(1−p)/n), i.e.
 *   (p̂ + z²/2n ± z·sqrt(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n).
 * Unlike p̂ ± z·sqrt(p̂(1−p̂)/n) it stays inside [0, 1] and is not empty at 0 or n correct.
 * n = 0 gives [0, 1] (nothing is known).
 *
 * Example: wilsonInterval(81, 263) → [0.2553, 0.3662] (Newcombe 1998, Table I).
 */
export function wilsonInterval(correct: number, n: number, z = 1.96): [number, number] {
  if (!Number.isInteger(correct) || !Number.isInteger(n) || correct < 0 || correct > n) {
    throw new RangeError(`wilsonInterval needs integers 0 <= correct <= n, got ${correct} of ${n}`);
  }
  if (n === 0) return [0, 1];
  const p = correct / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0 or n correct one end is exactly 0 or 1; say so rather than leave rounding dust.
  return [correct === 0 ? 0 : Math.max(0, centre - half), correct === n ? 1 : Math.min(1, centre + half)];
}

/**
 * McNemar's exact test, two-sided. Of the problems where exactly one model is right, `b` are
 * right only for A and `c` only for B. Under "no difference" each discordant problem is a fair coin,
 * so b ~ Binomial(b + c, 1/2) and
 *   p = min(1, 2 · P(X ≤ min(b, c))),   X ~ Binomial(b + c, 1/2).
 * Summed in log space so it holds for thousands of discordant pairs. No discordant pairs → p = 1.
 *
 * Example: mcnemarExact(2, 10) → 0.0386 (= 2 · (1 + 12 + 66) / 4096).
 */
export function mcnemarExact(b: number, c: number): number {
  if (!Number.isInteger(b) || !Number.isInteger(c) || b < 0 || c < 0) {
    throw new RangeError(`mcnemarExact needs non-negative integer counts, got b=${b}, c=${c}`);
  }
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // log C(n, i) − n·log 2 for i = 0..k, built by the ratio C(n, i) = C(n, i−1)·(n−i+1)/i.
  const logTerms: number[] = [];
  let logC = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    logTerms.push(logC - n * Math.LN2);
  }
  const max = logTerms.reduce((m, t) => Math.max(m, t), -Infinity);
  const tail = Math.exp(max) * logTerms.reduce((s, t) => s + Math.exp(t - max), 0);
  return Math.min(1, 2 * tail);
}
