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
  process.stdout.write = ((s: string | Uint8Array) => { out.push(String(s)); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => { err.push(String(s)); return true; }) as typeof process.stderr.write;
  try {
    const status = await main(['node', 'lightreasoner', ...args]);
    return { status, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}
