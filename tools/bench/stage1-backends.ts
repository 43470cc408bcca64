/**
 * Stage 1 at the paper's shapes on whatever machine this runs on, through each back end a user
 * can pick: `lightreasoner sample` itself (the CLI, as a user runs it, one process per run) on
 * random-weight models with the exact configs of the paper's pair (tools/bench/paper.ts) and
 * Qwen's real tokenizer and chat template, saved as ordinary model directories (BF16, as the
 * Hub's checkpoints are stored). Each run's wall time, the job's own seconds and throughput
 * (--stats-json), the seconds per question and the paper's 1,000 questions projected from them
 * are printed as one table and written as JSON.
 *
 * Made for a machine with a GPU: `--llama-gpu` runs the llama.cpp back end with CUDA (or Vulkan or
 * Metal, whatever node-llama-cpp finds), after an untimed warm-up run that exports the GGUFs and
 * pays the GPU's one-time costs (CUDA compiling PTX for a card the prebuilt binary has no machine
 * code for), so the timed run is what every later run costs. `--engine` runs our CPU engine on
 * the same machine, `--llama-cpu` llama.cpp on its CPU.
 *
 *   node dist/tools/bench/stage1-backends.js --work /tmp/s1 --input questions.jsonl \
 *     --llama-gpu 128 --engine 16 --llama-cpu 16
 *
 * Random weights decode to no end-of-sequence, so every question generates the full token budget:
 * the work per question is the paper's (128 new tokens), and no run stops early by luck.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { getLlamaRuntime } from '../../src/backends/node-llama-cpp.js';
import { saveModelDir } from '../../src/model/model-dir.js';
import { readJsonFile } from '../../src/util/fsx.js';
import { GSM8K_LIKE_QUESTIONS, PAPER_RUN, QWEN25_0_5B_CONFIG, QWEN25_MATH_1_5B_CONFIG, QWEN_TOKENIZER_FILES, paperModel, qwenTokenizerDir } from './paper.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '..', '..', '..', 'bin', 'lightreasoner.js');

interface RunSpec {
  name: string;
  questions: number;
  args: string[];
  warmup?: number;
}

interface RunResult {
  name: string;
  questions: number;
  args: string[];
  wallSeconds: number;
  peakRssMiB: number | null;
  ok: boolean;
  error?: string;
  stats?: {
    keptSteps: number;
    generatedSteps: number;
    throughput: { seconds: number; questionsPerSecond: number; expertGenerationTokensPerSecond: number; expertScoringTokensPerSecond: number; amateurScoringTokensPerSecond: number };
  };
  warmupWallSeconds?: number;
}

/** Peak RSS of a running process from /proc (VmHWM), polled until it exits; null off Linux. */
function peakRss(pid: number): () => number | null {
  let peak: number | null = null;
  const read = (): void => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak ?? 0, Number(m[1]) / 1024);
    } catch { /* exited */ }
  };
  const timer = setInterval(read, 250);
  return () => { clearInterval(timer); return peak; };
}

function runCli(args: string[], log: string, timeoutSeconds: number): Promise<{ code: number; seconds: number; peakMiB: number | null; stderr: string }> {
  return new Promise((done) => {
    const t0 = performance.now();
    let out = '';
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // A run past its time is stopped like a user's Ctrl-C, so the next back end still gets measured.
    const timer = timeoutSeconds > 0 ? setTimeout(() => { out += `\n(stopped after ${timeoutSeconds} s by --run-timeout)\n`; child.kill('SIGINT'); }, timeoutSeconds * 1000) : null;
    const stopPeak = peakRss(child.pid!);
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      writeFileSync(log, out);
      done({ code: code ?? 1, seconds: (performance.now() - t0) / 1000, peakMiB: stopPeak(), stderr: out });
    });
  });
}

function writeQuestions(path: string, input: string | undefined, n: number): void {
  let questions: string[];
  if (input) {
    questions = readFileSync(input, 'utf8').split('\n').filter((l) => l.trim()).map((l) => (JSON.parse(l) as { question: string }).question);
  } else {
    questions = [...GSM8K_LIKE_QUESTIONS];
  }
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(JSON.stringify({ id: `q${i}`, question: questions[i % questions.length] }));
  writeFileSync(path, `${lines.join('\n')}\n`);
}

function makeModel(dir: string, config: Record<string, unknown>, seed: number): void {
  if (existsSync(join(dir, 'model.safetensors'))) return;
  const model = paperModel(config, seed);
  const tok = qwenTokenizerDir();
  // BF16 on disk, as the Hub's Qwen checkpoints are; each back end converts as it does for them.
  saveModelDir(dir, model.config, model.params, { dtype: 'bfloat16', copyFrom: tok });
  for (const f of QWEN_TOKENIZER_FILES) if (!existsSync(join(dir, f))) throw new Error(`${f} was not copied into ${dir}`);
}

async function main(): Promise<void> {
  const program = new Command('stage1-backends')
    .description('Stage 1 (lightreasoner sample) at the paper\'s shapes through each back end, on this machine')
    .requiredOption('--work <dir>', 'models, GGUF cache, runs and the results JSON go here (models are reused when present)')
    .option('--input <file>', 'questions JSONL ({"question"} per line, cycled as needed); default: the 8 GSM8K-like questions of the paper rows')
    .addOption(new Option('--llama-gpu <n>', 'questions through llama.cpp with a GPU (0 = skip)').default('0'))
    .addOption(new Option('--llama-cpu <n>', 'questions through llama.cpp on the CPU (0 = skip)').default('0'))
    .addOption(new Option('--engine <n>', 'questions through our CPU engine (0 = skip)').default('0'))
    .addOption(new Option('--warmup <n>', 'questions of the untimed llama.cpp warm-up run (GGUF export, GPU kernel compilation)').default('2'))
    .addOption(new Option('--batch-size <n>', 'questions decoded together (sample --batch-size); llama.cpp also gets it as --llama-parallel').default('32'))
    .addOption(new Option('--engine-batch-size <n>', 'sample --batch-size for the engine runs').default('8'))
    .addOption(new Option('--gguf-dtype <t>', 'GGUF weight type for llama.cpp').choices(['f32', 'f16']).default('f16'))
    .addOption(new Option('--kv-cache <t>', 'llama.cpp KV cache type').choices(['f32', 'f16']).default('f16'))
    .addOption(new Option('--new-tokens <n>', 'sample --max-new-tokens').default(String(PAPER_RUN.newTokens)))
    .addOption(new Option('--run-timeout <s>', 'stop a run (warm-up included) after this many seconds; 0 = never').default('0'))
    .option('--tiny', 'tiny models with the same vocabulary and tokenizer instead of the paper\'s shapes (a smoke test of this script)');
  program.parse();
  const o = program.opts<{ work: string; input?: string; llamaGpu: string; llamaCpu: string; engine: string; warmup: string; batchSize: string; engineBatchSize: string; ggufDtype: string; kvCache: string; newTokens: string; runTimeout: string; tiny?: boolean }>();
  const work = resolve(o.work);
  mkdirSync(work, { recursive: true });
  const t0 = performance.now();
  const expert = join(work, 'expert-qwen2.5-math-1.5b-shape'), amateur = join(work, 'amateur-qwen2.5-0.5b-shape');
  const tiny = { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 128 };
  makeModel(expert, o.tiny ? { ...QWEN25_MATH_1_5B_CONFIG, ...tiny } : QWEN25_MATH_1_5B_CONFIG, 1);
  makeModel(amateur, o.tiny ? { ...QWEN25_0_5B_CONFIG, ...tiny } : QWEN25_0_5B_CONFIG, 2);
  process.stderr.write(`models ready in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const most = Math.max(Number(o.llamaGpu), Number(o.llamaCpu), Number(o.engine), Number(o.warmup));
  const questions = join(work, 'questions.jsonl');
  writeQuestions(questions, o.input, most);

  const common = ['--expert', expert, '--amateur', amateur, '--input', questions, '--max-new-tokens', o.newTokens];
  const llama = (gpu: 'auto' | 'off'): string[] => ['--backend', 'llama.cpp', '--gpu', gpu, '--gguf-cache', join(work, 'gguf'), '--gguf-dtype', o.ggufDtype, '--kv-cache', o.kvCache, '--batch-size', o.batchSize, '--llama-parallel', o.batchSize];
  const runs: RunSpec[] = [];
  if (Number(o.llamaGpu) > 0) runs.push({ name: 'llama.cpp, GPU', questions: Number(o.llamaGpu), args: llama('auto'), warmup: Number(o.warmup) });
  if (Number(o.engine) > 0) runs.push({ name: 'engine (ours), CPU', questions: Number(o.engine), args: ['--backend', 'engine', '--batch-size', o.engineBatchSize] });
  if (Number(o.llamaCpu) > 0) runs.push({ name: 'llama.cpp, CPU', questions: Number(o.llamaCpu), args: [...llama('off'), '--llama-threads', String(cpus().length)] });

  // Which accelerator node-llama-cpp picks here, said before any timing (false: none found).
  let llamaGpu: string | false | null = null;
  if (Number(o.llamaGpu) > 0) {
    try {
      llamaGpu = (await getLlamaRuntime('auto')).gpu;
      process.stderr.write(`node-llama-cpp with gpu "auto" uses: ${llamaGpu === false ? 'no GPU (CPU only)' : llamaGpu}\n`);
    } catch (e) {
      // The other back ends are still worth measuring; the llama.cpp run then fails with the same message.
      process.stderr.write(`node-llama-cpp could not start: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  const results: RunResult[] = [];
  // The table and JSON after every run, so a run cut short by a time limit keeps what it measured.
  const report = (): void => {
    const rows = results.map((r) => {
      const s = r.stats?.throughput;
      const perQ = s ? s.seconds / r.questions : null;
      return {
        run: r.name,
        questions: r.questions,
        jobSeconds: s?.seconds ?? null,
        secondsPerQuestion: perQ,
        projectedHours: perQ === null ? null : (perQ * PAPER_RUN.questions) / 3600,
        expertGenerationTokensPerSecond: s?.expertGenerationTokensPerSecond ?? null,
        expertScoringTokensPerSecond: s?.expertScoringTokensPerSecond ?? null,
        amateurScoringTokensPerSecond: s?.amateurScoringTokensPerSecond ?? null,
        wallSeconds: r.wallSeconds,
        warmupWallSeconds: r.warmupWallSeconds ?? null,
        peakRssMiB: r.peakRssMiB,
        ok: r.ok,
      };
    });
    const f = (x: number | null, d = 1): string => (x === null ? '—' : x.toFixed(d));
    const lines = [
      `Stage 1 at ${o.tiny ? 'TINY shapes (a smoke test; not the paper\'s)' : 'the paper\'s shapes'} (Expert Qwen2.5-Math-1.5B, Amateur Qwen2.5-0.5B, random weights, ${o.newTokens} new tokens), ${cpus().length} CPU threads (${cpus()[0]?.model ?? '?'})`,
      '| run | questions | job s | s/question | 1,000 questions | Expert gen tok/s | Expert score tok/s | Amateur score tok/s | process wall s | warm-up wall s | peak RSS MiB |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.run}${r.ok ? '' : ' (failed)'} | ${r.questions} | ${f(r.jobSeconds)} | ${f(r.secondsPerQuestion, 3)} | ${r.projectedHours === null ? '—' : `${r.projectedHours.toFixed(2)} h`} | ${f(r.expertGenerationTokensPerSecond, 0)} | ${f(r.expertScoringTokensPerSecond, 0)} | ${f(r.amateurScoringTokensPerSecond, 0)} | ${f(r.wallSeconds)} | ${f(r.warmupWallSeconds)} | ${f(r.peakRssMiB, 0)} |`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (llamaGpu !== null) process.stdout.write(`llama.cpp GPU run: node-llama-cpp used ${llamaGpu === false ? 'no GPU (it found none; the run was on the CPU)' : llamaGpu}\n`);
    for (const r of results) if (!r.ok) process.stdout.write(`${r.name} failed:\n${r.error}\n`);
    writeFileSync(join(work, 'stage1-backends.json'), `${JSON.stringify({ cpus: cpus().length, cpuModel: cpus()[0]?.model, settings: o, llamaGpu, rows, runs: results }, null, 2)}\n`);
  };
  for (const [k, r] of runs.entries()) {
    const tag = `run${k}`;
    let warmupWallSeconds: number | undefined;
    if (r.warmup && r.warmup > 0) {
      process.stderr.write(`${r.name}: warm-up (${r.warmup} questions: GGUF export, kernel compilation)...\n`);
      const w = await runCli(['sample', ...common, ...r.args, '--max-questions', String(r.warmup), '--out', join(work, `${tag}-warmup.jsonl`)], join(work, `${tag}-warmup.log`), Number(o.runTimeout));
      warmupWallSeconds = w.seconds;
      process.stderr.write(`${r.name}: warm-up took ${w.seconds.toFixed(1)} s (exit ${w.code})\n`);
    }
    process.stderr.write(`${r.name}: ${r.questions} questions, load ${loadavg()[0]!.toFixed(1)}...\n`);
    const statsPath = join(work, `${tag}-stats.json`);
    const args = ['sample', ...common, ...r.args, '--max-questions', String(r.questions), '--out', join(work, `${tag}.jsonl`), '--stats-json', statsPath];
    const res = await runCli(args, join(work, `${tag}.log`), Number(o.runTimeout));
    const result: RunResult = { name: r.name, questions: r.questions, args, wallSeconds: res.seconds, peakRssMiB: res.peakMiB, ok: res.code === 0, ...(warmupWallSeconds !== undefined ? { warmupWallSeconds } : {}) };
    if (res.code === 0 && existsSync(statsPath)) result.stats = readJsonFile(statsPath, 'sample statistics');
    else result.error = res.stderr.slice(-2000);
    results.push(result);
    process.stderr.write(`${r.name}: ${res.code === 0 ? 'done' : 'FAILED'} in ${res.seconds.toFixed(1)} s\n`);
    report();
  }

}

main().catch((e: unknown) => {
  process.stderr.write(`stage1-backends: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
