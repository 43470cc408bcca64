/**
 * Running the CLI inside a test process, with what it prints captured. Not used at run time.
 */
import { main } from '../cli/index.js';

export interface CliRun {
  /** Exit status main() returned. */
  status: number;
  stdout: string;
  stderr: string;
}

/** `lightreasoner ...args`, in this process, stdout and stderr captured. */
export async function runCli(args: string[]): Promise<CliRun> {
  const out: string[] = [], err: string[] = [];
  const { write: w1 } = process.stdout, { write: w2 } = process.stderr;
  // Bytes pass through: under `node --test` the runner reports to its parent in binary on stdout, and a
  // command that waits on I/O (a download) lets those reports happen while it runs.
  const capture = (into: string[], stream: NodeJS.WriteStream, write: typeof process.stdout.write) =>
    ((s: string | Uint8Array, ...rest: unknown[]) => {
      if (typeof s !== 'string') return (write as (...a: unknown[]) => boolean).call(stream, s, ...rest);
      into.push(s);
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture(out, process.stdout, w1);
  process.stderr.write = capture(err, process.stderr, w2);
  try {
    const status = await main(['node', 'lightreasoner', ...args]);
    return { status, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}
