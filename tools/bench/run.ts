/**
 * The bench driver: rows in order, each side prepared, then repetitions interleaved (see
 * measure.ts), then one table per baseline (PyTorch, llama.cpp) and the JSON record.
 *
 * Only ratios against a baseline measured in the same run mean anything: the machine is shared,
 * so absolute times drift between runs. Each row reports medians of several repetitions, and the
 * baseline gets what our engine gets: the same OpenBLAS kernel family (OPENBLAS_CORETYPE) and the
 * same thread count.
 */
import { Command, InvalidArgumentError } from 'commander';
import { cpus, loadavg } from 'node:os';
import { engineInfo, setBlasThreads, setKernelThreads } from '../../src/engine/blas.js';
import { parameterCount } from '../../src/model/config.js';
import { writeJsonAtomic } from '../../src/util/fsx.js';
import { UserError, errorMessage } from '../../src/util/errors.js';
import type { Baseline } from './baseline.js';
import { compare, summarize } from './compare.js';
import { measureInterleaved, type Side } from './measure.js';
import { startLlamaCppBaseline } from './llama-baseline.js';
import { benchModel, prepareOurs, rowNote } from './ours.js';
import { describeLlamaCpp, describeOurs, describeTorch, formatResults, formatValue, type RowResult } from './report.js';
import { BENCH_AMATEUR_CONFIG, BENCH_MODEL_CONFIG, ROWS, type BaselineKind, type BenchRow } from './spec.js';
import { startTorchBaseline } from './torch-baseline.js';
import { DEFAULT_PAPER_SIZES, PAPER_ROW_IDS } from './paper.js';
import { runPaper } from './paper-run.js';
import { parseWeightsDtype, type WeightsDtype } from '../../src/model/bf16-weights.js';

interface Options {
  rows?: string;
  reps: number;
  warmup: number;
  settleMs: number;
  threads?: number;
  json?: string;
  python: string;
  baseline: boolean;
  torchCoretype?: string;
  torchIntraopThreads: number;
  llamaThreads?: number;
  paper: boolean;
  paperRows?: string;
  paperReps: number;
  paperSlowReps?: number;
  paperWarmup: number;
  paperNewTokens: number;
  paperWeightsDtype: WeightsDtype;
  paperGenTokens: number;
  paperGenPrompt: number;
}

function positiveInt(name: string, allowZero = false): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) throw new InvalidArgumentError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got "${v}"`);
    return n;
  };
}

export function selectRows(spec: string | undefined): BenchRow[] {
  if (spec === undefined) return [...ROWS];
  const ids = spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const unknown = ids.filter((id) => !ROWS.some((r) => r.id === id));
  if (unknown.length > 0 || ids.length === 0) {
    throw new UserError(`--rows ${JSON.stringify(spec)}: unknown row ${unknown.map((u) => JSON.stringify(u)).join(', ') || '(none given)'}; expected a comma-separated list of ${ROWS.map((r) => r.id).join(', ')}`);
  }
  return ROWS.filter((r) => ids.includes(r.id));
}

/** Start the baselines the rows name; a missing one is reported, and its rows show our side alone. */
async function startBaselines(rows: readonly BenchRow[], opts: Options, threads: number, torchCoreType: string | null): Promise<{ started: Map<BaselineKind, Baseline>; notes: string[] }> {
  const started = new Map<BaselineKind, Baseline>();
  const notes: string[] = [];
  if (!opts.baseline) return { started, notes };
  const wanted = new Set(rows.map((r) => r.baseline));
  if (wanted.has('torch')) {
    const b = await startTorchBaseline({ python: opts.python, threads, intraOpThreads: opts.torchIntraopThreads, coreType: torchCoreType });
    if ('missing' in b) notes.push(`PyTorch baseline not available (${b.missing}); its rows show our engine alone. To compare, ${b.hint}.`);
    else started.set('torch', b);
  }
  if (wanted.has('llama.cpp')) {
    const parallel = Math.max(...rows.filter((r) => r.baseline === 'llama.cpp').map((r) => (r.spec.kind === 'backend-score' ? r.spec.sequences : 'batch' in r.spec ? r.spec.batch : 1)));
    const llamaThreads = opts.llamaThreads ?? threads;
    const load = loadavg()[0]!;
    if (llamaThreads > 1 && llamaThreads >= cpus().length && load >= cpus().length) {
      process.stderr.write(`bench: llama.cpp gets ${llamaThreads} threads on ${cpus().length} cores with a load average of ${load.toFixed(1)}: ggml's threads spin at every operation's barrier, `
        + `and while other processes hold the cores they crawl (here up to 100x slower than 1 thread). --llama-threads 1 avoids it.\n`);
    }
    const b = await startLlamaCppBaseline({ threads: llamaThreads, parallel });
    if ('missing' in b) notes.push(`llama.cpp baseline not available (${b.missing}); its rows show our engine alone. To compare, ${b.hint}.`);
    else started.set('llama.cpp', b);
  }
  return { started, notes };
}

const BASELINE_TITLES: Record<BaselineKind, string> = { torch: 'PyTorch', 'llama.cpp': 'llama.cpp' };

/** Threads for our kernels that split their own work in the rows against `kind` (see run). */
function kernelThreadsFor(kind: BaselineKind, opts: Options, threads: number): number {
  return kind === 'torch' ? opts.torchIntraopThreads : opts.llamaThreads ?? threads;
}

async function run(opts: Options): Promise<void> {
  const rows = selectRows(opts.rows);
  if (opts.threads !== undefined) setBlasThreads(opts.threads);
  const ours = engineInfo(); // prints the engine's own warning when it is not on OpenBLAS
  const threads = opts.threads ?? ours.threads;
  const torchCoreType = opts.torchCoretype === undefined ? ours.coreType : opts.torchCoretype === 'auto' ? null : opts.torchCoretype;

  if (opts.paper) {
    // Our decoding attention gets the threads PyTorch's non-BLAS ops get (its intra-op threads).
    if (opts.baseline) setKernelThreads(opts.torchIntraopThreads);
    await runPaper({
      sizes: {
        reps: opts.paperReps, slowReps: opts.paperSlowReps ?? opts.paperReps, warmup: opts.paperWarmup,
        sampleNewTokens: opts.paperNewTokens, generateNewTokens: opts.paperGenTokens, generatePrompt: opts.paperGenPrompt,
      },
      rows: opts.paperRows, threads: opts.threads ?? null, json: opts.json, weightsDtype: opts.paperWeightsDtype,
      torch: opts.baseline ? { python: opts.python, threads, intraOpThreads: opts.torchIntraopThreads, coreType: torchCoreType } : null,
    });
    return;
  }
  const { started: baselines, notes: baselineNotes } = await startBaselines(rows, opts, threads, torchCoreType);
  const load0 = loadavg();
  const model = benchModel(BENCH_MODEL_CONFIG);
  const results: RowResult[] = [];
  try {
    for (const row of rows) {
      // Same advantages: our kernels that split their work (decoding attention) get the threads the
      // baseline's non-BLAS operations get — PyTorch's intra-op threads, llama.cpp's threads.
      setKernelThreads(kernelThreadsFor(row.baseline, opts, threads));
      const oursRun = prepareOurs(row.spec, model);
      const sides: Side[] = [{ name: 'ours', run: async () => oursRun() }];
      const b = baselines.get(row.baseline) ?? null;
      if (b) {
        await b.prepare(row, BENCH_MODEL_CONFIG);
        sides.push({ name: b.name, run: () => b.run(row.id) });
      }
      const samples = await measureInterleaved(sides, { warmup: opts.warmup, reps: opts.reps, settleMs: opts.settleMs });
      const oursSummary = summarize(row.metric, samples[0]!);
      const baseSummary = b ? summarize(row.metric, samples[1]!) : null;
      results.push({
        row,
        ours: { samples: samples[0]!, summary: oursSummary },
        baseline: baseSummary ? { samples: samples[1]!, summary: baseSummary } : null,
        comparison: baseSummary ? compare(row.target, oursSummary, baseSummary) : null,
        note: rowNote(row.spec),
      });
      process.stderr.write(`${row.id}: ours ${formatValue(row.metric, oursSummary.median)}${b && baseSummary ? `, ${b.name} ${formatValue(row.metric, baseSummary.median)}` : ''}\n`);
    }
  } finally {
    for (const b of baselines.values()) await b.close();
  }
  const load1 = loadavg();

  // One table per baseline, in the order the rows first name them.
  const groups = [...new Set(results.map((r) => r.row.baseline))].map((kind) => ({ kind, results: results.filter((r) => r.row.baseline === kind), baseline: baselines.get(kind) ?? null }));
  const anyBaseline = baselines.size > 0;
  const lines = [
    `bench model: Qwen2, vocab ${BENCH_MODEL_CONFIG.vocab_size}, hidden ${BENCH_MODEL_CONFIG.hidden_size}, ${BENCH_MODEL_CONFIG.num_hidden_layers} layers, `
      + `${BENCH_MODEL_CONFIG.num_attention_heads}/${BENCH_MODEL_CONFIG.num_key_value_heads} heads, intermediate ${BENCH_MODEL_CONFIG.intermediate_size}, untied, `
      + `${(parameterCount(model.config) / 1e6).toFixed(2)}M parameters, float32`
      + (rows.some((r) => r.spec.kind === 'sample') ? `; the sample row's Amateur: hidden ${BENCH_AMATEUR_CONFIG.hidden_size}, ${BENCH_AMATEUR_CONFIG.num_hidden_layers} layers, `
        + `${BENCH_AMATEUR_CONFIG.num_attention_heads}/${BENCH_AMATEUR_CONFIG.num_key_value_heads} heads, intermediate ${BENCH_AMATEUR_CONFIG.intermediate_size}, same vocabulary` : ''),
    `${opts.reps} timed repetitions per side after ${opts.warmup} warm-up, ${anyBaseline ? 'interleaved, ' : ''}${opts.settleMs} ms idle before each; medians.`
      + (anyBaseline ? ' Ratios are ours/baseline: of times (lower is better) or of rates, tok/s or q/s (higher is better); "paired ratios" are ours/baseline of back-to-back repetitions (their median is the steadier estimate on a busy machine).' : ''),
    ...groups.flatMap((g) => ['', formatResults(g.results, g.baseline?.name ?? null)]),
    '',
    describeOurs(ours, groups.map((g) => ({ baseline: BASELINE_TITLES[g.kind], threads: kernelThreadsFor(g.kind, opts, threads) }))),
    ...(baselines.has('torch') ? [describeTorch(baselines.get('torch')!.info)] : []),
    ...(baselines.has('llama.cpp') ? [describeLlamaCpp(baselines.get('llama.cpp')!.info, threads)] : []),
    `cpu: ${cpus()[0]?.model ?? '?'} x${cpus().length}; load average ${load0[0]!.toFixed(2)} before, ${load1[0]!.toFixed(2)} after (other processes share these cores: compare ratios, not times)`,
    ...(baselineNotes.length > 0 ? ['', ...baselineNotes] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  if (opts.json) {
    writeJsonAtomic(opts.json, {
      date: new Date().toISOString(),
      cpu: { model: cpus()[0]?.model ?? null, cores: cpus().length, loadavgBefore: load0, loadavgAfter: load1 },
      settings: { reps: opts.reps, warmup: opts.warmup, settleMs: opts.settleMs, threads, torchCoreType, torchIntraopThreads: opts.torchIntraopThreads, llamaThreads: opts.llamaThreads ?? threads },
      spec: { model: BENCH_MODEL_CONFIG, rows: Object.fromEntries(rows.map((r) => [r.id, r.spec])) },
      ours: { engine: ours, node: process.version },
      baselines: Object.fromEntries([...new Set(rows.map((r) => r.baseline))].map((k) => {
        const b = baselines.get(k);
        return [k, b ? { name: b.name, info: b.info } : { name: null, note: baselineNotes.find((n) => n.startsWith(BASELINE_TITLES[k])) ?? 'not run (--no-baseline)' }];
      })),
      rows: results.map((r) => ({
        id: r.row.id, title: r.row.title, metric: r.row.metric, target: r.row.target, baseline: r.row.baseline,
        ours: r.ours, baselineResult: r.baseline, note: r.note,
        ratio: r.comparison?.ratio ?? null, pairedRatios: r.comparison?.pairedRatios ?? null,
        pairedMedian: r.comparison?.pairedMedian ?? null, met: r.comparison?.met ?? null,
      })),
    });
    process.stderr.write(`wrote ${opts.json}\n`);
  }
}

export function buildProgram(): Command {
  return new Command('bench')
    .description('Time our engine against PyTorch (Debian python3-torch) and llama.cpp (node-llama-cpp) on this CPU, same model and shapes, and print the ratios.')
    .option('--rows <ids>', `comma-separated rows to run (default all): ${ROWS.map((r) => r.id).join(', ')}`)
    .option('--reps <n>', 'timed repetitions per side and row; the median is reported', positiveInt('--reps'), 7)
    .option('--warmup <n>', 'untimed repetitions per side before timing', positiveInt('--warmup', true), 2)
    .option('--settle-ms <ms>', 'idle time before each timed repetition, so the other side\'s spinning BLAS threads go quiet', positiveInt('--settle-ms', true), 200)
    .option('--threads <n>', 'BLAS threads for every side (our engine, PyTorch\'s OpenBLAS, llama.cpp\'s threads); default: what our engine uses', positiveInt('--threads'))
    .option('--json <file>', 'also write every sample, the spec and both engines\' settings to this JSON file')
    .option('--python <path>', 'Python with torch for the baseline', '/usr/bin/python3')
    .option('--no-baseline', 'time our engine only, without PyTorch or llama.cpp (e.g. under node --cpu-prof)')
    .option('--torch-intraop-threads <n>', 'torch.set_num_threads for the PyTorch process (its non-BLAS ops); 1 is its fastest setting here, see torch-baseline.ts', positiveInt('--torch-intraop-threads'), 1)
    .option('--llama-threads <n>', 'threads for llama.cpp; default: the BLAS thread count (node-llama-cpp\'s own default, max(4, cores), oversubscribes small machines)', positiveInt('--llama-threads'))
    .option('--torch-coretype <name>', 'OPENBLAS_CORETYPE for the PyTorch process; default: the value our engine uses; "auto" leaves it unset')
    .option('--paper', 'run the paper-shape rows instead (Qwen2.5-Math-1.5B Expert, Qwen2.5-0.5B Amateur, random weights, real Qwen tokenizer; long: see tools/bench/README.md)', false)
    .option('--paper-rows <ids>', `with --paper: comma-separated rows (default all): ${PAPER_ROW_IDS.join(', ')}`)
    .option('--paper-reps <n>', 'with --paper: timed repetitions per side', positiveInt('--paper-reps'), DEFAULT_PAPER_SIZES.reps)
    .option('--paper-slow-reps <n>', 'with --paper: timed repetitions of the slowest work: the authors\' per-step stage 1 and per-record LoRA, generation at batch 32 (default: --paper-reps; 0 leaves the two authors\' baselines out)', positiveInt('--paper-slow-reps', true))
    .option('--paper-warmup <n>', 'with --paper: untimed repetitions per side first', positiveInt('--paper-warmup', true), DEFAULT_PAPER_SIZES.warmup)
    .option('--paper-new-tokens <n>', 'with --paper: stage-1 new tokens per question (the paper: 128)', positiveInt('--paper-new-tokens'), DEFAULT_PAPER_SIZES.sampleNewTokens)
    .option('--paper-gen-tokens <n>', 'with --paper: new tokens per sequence of the generation rows', positiveInt('--paper-gen-tokens'), DEFAULT_PAPER_SIZES.generateNewTokens)
    .option('--paper-weights-dtype <dtype>', 'with --paper: our side\'s weights in the score, generation and stage-1 rows: f32, or bf16 as `sample --weights-dtype bf16` holds them (LoRA training stays f32)', (v: string) => parseWeightsDtype(v, '--paper-weights-dtype'), 'f32' as WeightsDtype)
    .option('--paper-gen-prompt <n>', 'with --paper: prompt ids per sequence of the generation rows', positiveInt('--paper-gen-prompt'), DEFAULT_PAPER_SIZES.generatePrompt);
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    program.parse(argv);
    await run(program.opts<Options>());
    return 0;
  } catch (e) {
    if (e instanceof UserError) {
      process.stderr.write(`bench: ${e.message}\n`);
      return 2;
    }
    if (e && typeof e === 'object' && 'exitCode' in e && typeof (e as { exitCode: unknown }).exitCode === 'number') return (e as { exitCode: number }).exitCode;
    process.stderr.write(`bench: ${errorMessage(e)}\n`);
    return 1;
  }
}
