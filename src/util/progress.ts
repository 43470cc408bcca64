/**
 * The single progress reporter. Library code reports through a `ProgressCallback` (one shape, as
 * transformers.js does); the CLI turns those events into a bar on a terminal, or into a line every
 * few seconds when output is a file or a CI log.
 */
import cliProgress from 'cli-progress';

export interface ProgressEvent {
  /** What is being done, e.g. "sample", "train", "eval". */
  stage: string;
  done: number;
  total: number;
  /** What `done` counts, e.g. "questions", "steps". */
  unit: string;
  /** Extra figures shown beside the bar, e.g. { loss: '0.41', kept: 1203 }. */
  info?: Record<string, string | number>;
}

export type ProgressCallback = (event: ProgressEvent) => void;

export interface ProgressBar {
  update(done: number, info?: Record<string, string | number>): void;
  stop(): void;
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function fmtInfo(info?: Record<string, string | number>): string {
  if (!info) return '';
  return Object.entries(info).map(([k, v]) => `${k} ${v}`).join(' | ');
}

/**
 * A bar for `total` units of work on stderr. `startAt` is work already done before this process
 * (a resumed run): it counts toward the bar but not toward the rate. (No stream parameter: the
 * shipped type files must not need Node's types, see the package test.)
 */
export function createProgressBar(stage: string, total: number, unit: string, startAt = 0): ProgressBar {
  const stream = process.stderr;
  const t0 = performance.now();
  const quiet = process.env.LIGHTREASONER_QUIET === '1';
  const rate = (done: number): number => (done - startAt) / Math.max(1e-9, (performance.now() - t0) / 1000);
  if (quiet) return { update() {}, stop() {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({
      stream,
      format: `${stage} [{bar}] {value}/{total} ${unit} | {rate}/s | ETA {eta_h} | {extra}`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
    bar.start(total, startAt, { rate: '0', extra: '', eta_h: '?' });
    return {
      update(done, info) {
        const r = rate(done);
        bar.update(done, { rate: r.toFixed(r < 10 ? 2 : 0), extra: fmtInfo(info), eta_h: fmtDuration((total - done) / r) });
      },
      stop() { bar.stop(); },
    };
  }
  // Not a terminal: one line at most every 10 s, and a final line.
  let last = 0;
  let lastDone = startAt;
  let lastInfo: Record<string, string | number> | undefined;
  const line = (done: number, info?: Record<string, string | number>): void => {
    const r = rate(done);
    const extra = fmtInfo(info);
    stream.write(`${stage}: ${done}/${total} ${unit} | ${r.toFixed(r < 10 ? 2 : 0)}/s | ETA ${fmtDuration((total - done) / r)}${extra ? ` | ${extra}` : ''}\n`);
  };
  return {
    update(done, info) {
      lastDone = done;
      lastInfo = info;
      const now = performance.now();
      if (now - last > 10_000) {
        last = now;
        line(done, info);
      }
    },
    stop() { line(lastDone, lastInfo); },
  };
}

/** A ProgressCallback that drives bars, one per stage, for CLI commands. */
export function cliProgressCallback(): ProgressCallback & { stopAll(): void } {
  const bars = new Map<string, ProgressBar>();
  // A stage that reported completion stays closed until it reports work left again: reporters that
  // round their figures (MiB loaded) can say "done" more than once.
  const completed = new Set<string>();
  const cb = ((e: ProgressEvent) => {
    if (e.done >= e.total && completed.has(e.stage)) return;
    completed.delete(e.stage);
    let bar = bars.get(e.stage);
    if (!bar) {
      bar = createProgressBar(e.stage, e.total, e.unit, e.done);
      bars.set(e.stage, bar);
    }
    bar.update(e.done, e.info);
    if (e.done >= e.total) {
      bar.stop();
      bars.delete(e.stage);
      completed.add(e.stage);
    }
  }) as ProgressCallback & { stopAll(): void };
  cb.stopAll = () => {
    for (const b of bars.values()) b.stop();
    bars.clear();
  };
  return cb;
}
