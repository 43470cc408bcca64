/**
 * From repeated samples to the numbers the bench reports: medians per side, the ratio of medians
 * ours/baseline, the per-repetition (paired) ratios that show how noisy the machine was, and
 * whether a row's target is met.
 */
import type { Metric, Sample, Target } from './spec.js';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The value a sample contributes: seconds, seconds per 1,000 units (records), or units (tokens, questions) per second. */
export function sampleValue(metric: Metric, s: Sample): number {
  switch (metric) {
    case 'seconds': return s.seconds;
    case 'secondsPer1000Records': return (s.seconds / s.units) * 1000;
    case 'tokensPerSecond':
    case 'questionsPerSecond': return s.units / s.seconds;
  }
}

export interface SideSummary {
  values: number[];
  median: number;
  /** (max − min) / median of the values: how much the repetitions disagreed. */
  spread: number;
}

export function summarize(metric: Metric, samples: readonly Sample[]): SideSummary {
  const values = samples.map((s) => sampleValue(metric, s));
  const med = median(values);
  return { values, median: med, spread: (Math.max(...values) - Math.min(...values)) / med };
}

export interface Comparison {
  /** median(ours) / median(baseline), in the row's metric (times: lower is better; rates: higher). */
  ratio: number;
  /** ours_i / baseline_i for repetitions run back to back. */
  pairedRatios: number[];
  /** Their median: load that comes and goes hits both members of a pair, so this drifts less. */
  pairedMedian: number | null;
  /** null for informational rows. */
  met: boolean | null;
}

export function compare(target: Target | null, ours: SideSummary, baseline: SideSummary): Comparison {
  const ratio = ours.median / baseline.median;
  const n = Math.min(ours.values.length, baseline.values.length);
  const pairedRatios = Array.from({ length: n }, (_, i) => ours.values[i]! / baseline.values[i]!);
  return {
    ratio, pairedRatios, pairedMedian: n > 0 ? median(pairedRatios) : null,
    met: target === null ? null : meetsTarget(target, ratio),
  };
}

export function meetsTarget(target: Target, ratio: number): boolean {
  return target.kind === 'maxRatio' ? ratio <= target.value : ratio >= target.value;
}

export function describeTarget(target: Target | null): string {
  if (!target) return '-';
  return `${target.kind === 'maxRatio' ? '<=' : '>='} ${target.value}`;
}
