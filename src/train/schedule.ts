/**
 * Learning-rate schedules as transformers' get_*_schedule_with_warmup: the rate used for the
 * optimiser step with 0-based index `step` out of `total`.
 */
export type ScheduleKind = 'linear' | 'cosine' | 'constant';

export function learningRate(kind: ScheduleKind, base: number, step: number, total: number, warmup = 0): number {
  if (step < warmup) return (base * step) / Math.max(1, warmup);
  const progress = (step - warmup) / Math.max(1, total - warmup);
  switch (kind) {
    case 'linear': return base * Math.max(0, 1 - progress);
    case 'cosine': return base * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    case 'constant': return base;
  }
}
