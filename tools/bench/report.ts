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
}

export function formatValue(metric: Metric, v: number): string {
  if (metric === 'tokensPerSecond') return `${v.toFixed(v >= 100 ? 0 : 1)} tok/s`;
  const ms = v * 1000;
  return `${ms.toFixed(ms >= 100 ? 1 : ms >= 10 ? 2 : 3)} ms`;
}

const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function formatResults(results: readonly RowResult[], baselineName: string | null): string {
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
        c ? `${c.ratio.toFixed(2)}x${r.row.metric === 'tokensPerSecond' ? ' tok/s' : ' time'}` : '-',
        describeTarget(r.row.target),
        c?.met === null || !c ? '-' : c.met ? 'yes' : 'NO',
        paired,
        base ? `${pct(r.ours.summary.spread)}/${pct(base.summary.spread)}` : pct(r.ours.summary.spread),
      ];
    }),
  );
}

export function describeOurs(e: EngineInfo): string {
  const core = e.kind === 'openblas'
    ? `${e.blas} core ${e.coreName ?? '?'} (OPENBLAS_CORETYPE=${e.coreType ?? 'unset'}${e.coreTypeSource === 'detected' ? ', set by detectCoreType' : e.coreTypeSource === 'user' ? ', from the environment' : ''})`
    : `${e.kind} kernel (no OpenBLAS)`;
  const elementwise = e.kind === 'js' ? 'JavaScript' : 'vectorised native kernels for exp-based ops, JavaScript for the rest';
  return `ours:    node ${process.version}, sgemm ${core}, ${e.threads} BLAS thread(s); other ops single-threaded (${elementwise})`;
}

export function describeTorch(info: Record<string, unknown>): string {
  const libs = Array.isArray(info.libraries) ? (info.libraries as string[]).join(' + ') : '?';
  return `PyTorch: torch ${String(info.torch)} (python ${String(info.python)}), BLAS_INFO=${String(info.blas_info)}, sgemm via ${libs} core ${String(info.openblas_core)} `
    + `(OPENBLAS_CORETYPE=${String(info.OPENBLAS_CORETYPE ?? 'unset')}), ${String(info.openblas_threads)} BLAS thread(s), ${String(info.torch_threads)} intra-op thread(s)`;
}
