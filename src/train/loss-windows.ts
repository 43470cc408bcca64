/**
 * The loss at the start and at the end of a run, as a summary reports it: the mean of the first and
 * the last `window` steps, window = min(10, half the steps), so the two never overlap (a 5-step run
 * compares its first 2 with its last 2, not "the first 10 with the last 10" of the same 5 steps).
 */
export interface LossWindows {
  /** Steps averaged at each end: 0 when no step ran, 1 for a single step (first and last are then that step). */
  lossWindow: number;
  firstLoss: number;
  lastLoss: number;
}

export const LOSS_WINDOW_MAX = 10;

export function lossWindows(losses: readonly number[]): LossWindows {
  const n = losses.length;
  const window = n === 0 ? 0 : Math.max(1, Math.min(LOSS_WINDOW_MAX, Math.floor(n / 2)));
  const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return { lossWindow: window, firstLoss: mean(losses.slice(0, window)), lastLoss: mean(losses.slice(n - window)) };
}

/** "0.1234 (first 2 steps) -> 0.0567 (last 2 steps)", or what little there is to say. */
export function formatLossWindows(w: LossWindows, digits = 4): string {
  if (w.lossWindow === 0) return 'no step ran';
  if (w.lossWindow === 1 && !(w.firstLoss !== w.lastLoss)) return `${w.firstLoss.toFixed(digits)} (one step)`;
  const steps = (n: number): string => `${n} step${n === 1 ? '' : 's'}`;
  return `${w.firstLoss.toFixed(digits)} (first ${steps(w.lossWindow)}) -> ${w.lastLoss.toFixed(digits)} (last ${steps(w.lossWindow)})`;
}
