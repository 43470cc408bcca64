/**
 * The PyTorch baseline: tools/bench/torch_bench.py kept alive in `--serve` mode (one JSON request
 * per line on stdin, one reply per line on stdout), so its repetitions can alternate with ours.
 *
 * Same advantages as our engine: OPENBLAS_CORETYPE and OPENBLAS_NUM_THREADS are set in its
 * environment before it imports torch (OpenBLAS reads them when it loads), so its sgemm runs the
 * same kernels on the same number of threads as ours. torch's own intra-op (OpenMP) pool defaults
 * to 1 thread, like our non-BLAS ops and like torch's own default on a 2-core machine: with 2,
 * Debian's torch runs OpenMP threads and OpenBLAS's pthreads side by side, each spinning while
 * the other works, and on 2 cores the training step measured 3-4x slower (0.21 s → 0.65-0.9 s),
 * greedy generation 2-4x slower; OMP_WAIT_POLICY=passive recovers only part of it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Baseline, BaselineMissing } from './baseline.js';
import type { BenchRow, Sample } from './spec.js';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const TORCH_BENCH_SCRIPT = join(packageRoot, 'tools/bench/torch_bench.py');
export const INSTALL_HINT = 'install the PyTorch baseline with: apt-get install python3-torch (Debian/Ubuntu; it is used as /usr/bin/python3)';

export interface TorchBaselineOptions {
  python: string;
  /** OpenBLAS threads (OPENBLAS_NUM_THREADS). */
  threads: number;
  /** torch.set_num_threads: the OpenMP pool for non-BLAS ops. */
  intraOpThreads: number;
  /** OPENBLAS_CORETYPE for the PyTorch process; null leaves it unset (OpenBLAS detects the CPU itself). */
  coreType: string | null;
}

type Reply = { ok: true; [k: string]: unknown } | { ok: false; error: string; missing_torch?: boolean };

class TorchBaseline implements Baseline {
  readonly name = 'PyTorch';
  info: Record<string, unknown> = {};
  private stderr = '';
  private readonly lines: AsyncIterator<string>;
  private exited: string | null = null;

  constructor(private readonly child: ChildProcessWithoutNullStreams, private readonly rl: Interface) {
    this.lines = rl[Symbol.asyncIterator]();
    child.stderr.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    child.on('exit', (code, signal) => { this.exited = `exited with ${signal ?? `status ${code}`}`; });
  }

  async nextReply(): Promise<Reply> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`${TORCH_BENCH_SCRIPT} ${this.exited ?? 'closed its output'}${this.stderr ? `:\n${this.stderr}` : ''}`);
    try {
      return JSON.parse(r.value) as Reply;
    } catch {
      throw new Error(`${TORCH_BENCH_SCRIPT} printed a line that is not JSON: ${r.value.slice(0, 200)}`);
    }
  }

  async request(req: Record<string, unknown>, what: string): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const reply = await this.nextReply();
    if (!reply.ok) throw new Error(`PyTorch baseline, ${what}: ${reply.error}`);
    return reply;
  }

  async prepare(row: BenchRow, hfConfig: Record<string, unknown>): Promise<void> {
    await this.request({ op: 'prepare', row: row.id, spec: row.spec, model: hfConfig }, `preparing row ${row.id}`);
  }

  async run(rowId: string): Promise<Sample> {
    const r = await this.request({ op: 'run', row: rowId }, `running row ${rowId}`);
    return {
      seconds: r.seconds as number, units: r.units as number,
      ...(typeof r.max_rss_kb === 'number' ? { peakRssKb: r.max_rss_kb } : {}),
      ...(r.phases && typeof r.phases === 'object' ? { phases: r.phases as Record<string, number> } : {}),
    };
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((res) => this.child.once('exit', () => res()));
    this.child.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
    await done;
    this.rl.close();
  }
}

/** Start the PyTorch worker, or say why it cannot run (no python3, no torch). */
export async function startTorchBaseline(opts: TorchBaselineOptions): Promise<Baseline | BaselineMissing> {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(opts.threads), OMP_NUM_THREADS: String(opts.intraOpThreads) };
  if (opts.coreType) env.OPENBLAS_CORETYPE = opts.coreType;
  else delete env.OPENBLAS_CORETYPE;
  const child = spawn(opts.python, [TORCH_BENCH_SCRIPT, '--serve', '--threads', String(opts.intraOpThreads)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const spawnError = new Promise<Error>((res) => child.once('error', res));
  const rl = createInterface({ input: child.stdout });
  const b = new TorchBaseline(child, rl);
  const first = await Promise.race([b.nextReply().catch((e: unknown) => e as Error), spawnError]);
  if (first instanceof Error) {
    child.kill();
    const noPython = (first as NodeJS.ErrnoException).code === 'ENOENT';
    return { missing: noPython ? `${opts.python} not found` : first.message, hint: INSTALL_HINT };
  }
  if (!first.ok) {
    child.kill();
    return { missing: `${opts.python}: ${first.error}`, hint: first.missing_torch ? INSTALL_HINT : 'see the error above' };
  }
  b.info = (await b.request({ op: 'info' }, 'engine info')).info as Record<string, unknown>;
  return b;
}
