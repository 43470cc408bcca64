/**
 * The bench's printed report: one table row per bench row, then how each side computes.
 */
import type { EngineInfo } from '../../src/engine/blas.js';
import { describeTarget, type Comparison, type SideSummary } from './compare.js';
import type { BenchRow, Metric, Sample } from './spec.js';

export interface SideResult {
  samples: Sample[];
  summary: SideSummary;
}

export interface RowResult {
  row: BenchRow;
  ours: SideResult;
  /** null when the row ran without its baseline. */
  baseline: SideResult | null;
  comparison: Comparison | null;
  /** Printed under the table (e.g. the train row's FLOP ratio), or null. */
  note: string | null;
}

export function formatValue(metric: Metric, v: number): string {
  switch (metric) {
    case 'tokensPerSecond': return `${v.toFixed(v >= 100 ? 0 : 1)} tok/s`;
    case 'questionsPerSecond': return `${v.toFixed(v >= 10 ? 1 : 2)} q/s`;
    case 'secondsPer1000Records': return `${v.toFixed(v >= 10 ? 1 : 2)} s/1k rec`;
    case 'seconds': {
      const ms = v * 1000;
      return `${ms.toFixed(ms >= 100 ? 1 : ms >= 10 ? 2 : 3)} ms`;
    }
  }
}

/** How a ratio of the metric is labelled: of times, or of the rate's unit. */
function ratioLabel(metric: Metric): string {
  return metric === 'tokensPerSecond' ? ' tok/s' : metric === 'questionsPerSecond' ? ' q/s' : ' time';
}

const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The results table, then a line per row that carries a note. */
export function formatResults(results: readonly RowResult[], baselineName: string | null): string {
  const notes = results.filter((r) => r.note !== null).map((r) => `${r.row.id}: ${r.note}`);
  return [resultsTable(results, baselineName), ...notes].join('\n');
}

function resultsTable(results: readonly RowResult[], baselineName: string | null): string {
  if (baselineName === null) {
    return table(['row', 'ours (median)', 'spread'], results.map((r) => [
      r.row.title, formatValue(r.row.metric, r.ours.summary.median), pct(r.ours.summary.spread),
    ]));
  }
  const b = baselineName;
  return table(
    ['row', 'ours (median)', `${b} (median)`, `ours/${b}`, 'target', 'met', 'paired ratios: median (range)', `spread ours/${b}`],
    results.map((r) => {
      const c = r.comparison, base = r.baseline;
      const paired = c && c.pairedMedian !== null
        ? `${c.pairedMedian.toFixed(2)} (${Math.min(...c.pairedRatios).toFixed(2)}..${Math.max(...c.pairedRatios).toFixed(2)})`
        : '-';
      return [
        r.row.title,
        formatValue(r.row.metric, r.ours.summary.median),
        base ? formatValue(r.row.metric, base.summary.median) : '-',
        c ? `${c.ratio.toFixed(2)}x${ratioLabel(r.row.metric)}` : '-',
        describeTarget(r.row.target),
        c?.met === null || !c ? '-' : c.met ? 'yes' : 'NO',
        paired,
        base ? `${pct(r.ours.summary.spread)}/${pct(base.summary.spread)}` : pct(r.ours.summary.spread),
      ];
    }),
  );
}

/**
 * The "ours:" line. `attention` gives, per baseline table, the threads our decoding attention had
 * there (the bench matches the baseline's own); without it, what the engine is set to.
 */
export function describeOurs(e: EngineInfo, attention?: Array<{ baseline: string; threads: number }>): string {
  const core = e.kind === 'openblas'
    ? `${e.blas} core ${e.coreName ?? '?'} (OPENBLAS_CORETYPE=${e.coreType ?? 'unset'}${e.coreTypeSource === 'detected' ? ', set by detectCoreType' : e.coreTypeSource === 'user' ? ', from the environment' : ''})`
    : `${e.kind} kernel (no OpenBLAS)`;
  if (e.kind === 'js') return `ours:    node ${process.version}, sgemm ${core}, ${e.threads} BLAS thread(s); other ops single-threaded (JavaScript)`;
  const own = e.kernelThreads ?? (e.kind === 'openblas' ? e.threads : 1);
  const threads = attention && attention.length > 0
    ? `${attention.map((a, i) => `${a.threads}${i === 0 ? ' thread(s)' : ''} in the ${a.baseline} rows`).join(', ')} (the baseline's own count for its non-BLAS ops)`
    : `${own} thread(s)`;
  return `ours:    node ${process.version}, sgemm ${core}, ${e.threads} BLAS thread(s); decoding attention on ${threads}, `
    + 'other ops single-threaded (vectorised native kernels for exp-based ops and attention, JavaScript for the rest)';
}

export function describeTorch(info: Record<string, unknown>): string {
  const libs = Array.isArray(info.libraries) ? (info.libraries as string[]).join(' + ') : '?';
  return `PyTorch: torch ${String(info.torch)} (python ${String(info.python)}), BLAS_INFO=${String(info.blas_info)}, sgemm via ${libs} core ${String(info.openblas_core)} `
    + `(OPENBLAS_CORETYPE=${String(info.OPENBLAS_CORETYPE ?? 'unset')}), ${String(info.openblas_threads)} BLAS thread(s), ${String(info.torch_threads)} intra-op thread(s)`;
}

/** `blasThreads`: ours, to say when llama.cpp was given another count (--llama-threads). */
export function describeLlamaCpp(info: Record<string, unknown>, blasThreads: number): string {
  const threads = Number(info.threads);
  const threadNote = threads === blasThreads ? 'as our BLAS' : `--llama-threads; our BLAS runs ${blasThreads}`;
  return `llama.cpp: node-llama-cpp ${String(info['node-llama-cpp'])} (${String(info.llamaCpp ?? 'llama.cpp release unknown')}), CPU, ${threads} thread(s) (${threadNote}; `
    + `node-llama-cpp's own default, max(4, cores), oversubscribes small machines), ${String(info.parallel)} parallel sequences, GGUF ${String(info.gguf)} exported from the bench model's weights, KV cache ${String(info.kvCache)}`
    + (info.systemInfo ? `; ggml: ${String(info.systemInfo).trim()}` : '');
}
