/**
 * The single progress reporter. Library code reports through a `ProgressCallback` (one shape, as
 * transformers.js does); the CLI turns those events into a bar on a terminal, or into a line every
 * few seconds when output is a file or a CI log. Each shows the measured rate and the ETA it implies;
 * long stages also print, once their first chunk of work is measured, the projected total time, and
 * long commands end with their wall time and the peak memory (max RSS) of the process.
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

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function fmtInfo(info?: Record<string, string | number>): string {
  if (!info) return '';
  return Object.entries(info).map(([k, v]) => `${k} ${v}`).join(' | ');
}

/** Where bars are drawn: process.stderr, or anything with its write() and isTTY (tests). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface ProgressBarOptions {
  /**
   * Print the projected total time once, when the first work is measured: at the first update after
   * PROJECT_AFTER_S seconds, or after a tenth of the work, whichever comes first.
   */
  project?: boolean;
  /** Clock in milliseconds (tests); default performance.now. */
  now?: () => number;
}

export const PROJECT_AFTER_S = 10;

/** "sample: 8 questions took 2m40s; projected 5h33m for 1000 questions (5h30m to go, done about 16:05)". */
export function projectionLine(stage: string, unit: string, measured: number, seconds: number, todo: number, clockTime: Date = new Date()): string {
  const perUnit = seconds / measured;
  const left = perUnit * (todo - measured);
  const end = new Date(clockTime.getTime() + left * 1000);
  const hhmm = `${String(end.getHours()).padStart(2, '0')}:${String(end.getMinutes()).padStart(2, '0')}`;
  return `${stage}: ${measured} ${unit} took ${fmtDuration(seconds)}; projected ${fmtDuration(perUnit * todo)} for ${todo} ${unit} (${fmtDuration(left)} to go, done about ${hhmm})`;
}

/**
 * A bar for `total` units of work on stderr. `startAt` is work already done before this process
 * (a resumed run): it counts toward the bar but not toward the rate. The stream is typed
 * structurally: the shipped type files must not need Node's types (see the package test).
 */
export function createProgressBar(stage: string, total: number, unit: string, startAt = 0, stream: ProgressStream = process.stderr, opts: ProgressBarOptions = {}): ProgressBar {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const quiet = process.env.LIGHTREASONER_QUIET === '1';
  const rate = (done: number): number => (done - startAt) / Math.max(1e-9, (now() - t0) / 1000);
  if (quiet) return { update() {}, stop() {} };
  let projected = !opts.project;
  // Once, when the first chunk has been measured; the projection line is its own line of output.
  const project = (done: number): string | null => {
    if (projected || done <= startAt || done >= total) return null;
    const seconds = (now() - t0) / 1000;
    if (seconds < PROJECT_AFTER_S && done - startAt < 0.1 * (total - startAt)) return null;
    projected = true;
    return projectionLine(stage, unit, done - startAt, seconds, total - startAt);
  };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({
      stream: stream as NodeJS.WritableStream,
      format: `${stage} [{bar}] {value}/{total} ${unit} | {rate}/s | ETA {eta_h} | {extra}`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
    bar.start(total, startAt, { rate: '0', extra: '', eta_h: '?' });
    return {
      update(done, info) {
        const p = project(done);
        if (p) stream.write(`\r\x1b[K${p}\n`);
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
      const p = project(done);
      if (p) stream.write(`${p}\n`);
      const t = now();
      if (t - last > 10_000) {
        last = t;
        line(done, info);
      }
    },
    stop() { line(lastDone, lastInfo); },
  };
}

/** Peak resident memory of this process so far (Linux reports maxRSS in KiB), e.g. "8.31 GiB". */
export function peakMemory(): string {
  const bytes = process.resourceUsage().maxRSS * 1024;
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

export interface CliProgressOptions {
  /** Stages whose projected total time is printed once their first work is measured (e.g. sample, train). */
  project?: readonly string[];
  /** The command's name: stopAll() then prints its wall time and the process's peak memory. */
  summary?: string;
  stream?: ProgressStream;
}

/** A ProgressCallback that drives bars, one per stage, for CLI commands. */
export function cliProgressCallback(opts: CliProgressOptions = {}): ProgressCallback & { stopAll(): void } {
  const t0 = performance.now();
  const stream = opts.stream ?? process.stderr;
  const bars = new Map<string, ProgressBar>();
  // A stage that reported completion stays closed until it reports work left again: reporters that
  // round their figures (MiB loaded) can say "done" more than once.
  const completed = new Set<string>();
  const cb = ((e: ProgressEvent) => {
    if (e.done >= e.total && completed.has(e.stage)) return;
    completed.delete(e.stage);
    let bar = bars.get(e.stage);
    if (!bar) {
      bar = createProgressBar(e.stage, e.total, e.unit, e.done, stream, { project: opts.project?.includes(e.stage) ?? false });
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
    if (opts.summary && process.env.LIGHTREASONER_QUIET !== '1') {
      stream.write(`${opts.summary}: ${fmtDuration((performance.now() - t0) / 1000)} wall, peak memory ${peakMemory()} (max RSS)\n`);
    }
  };
  return cb;
}
