/**
 * `lightreasoner doctor`: what engine this process runs on and why, so a slow run can be explained.
 */
import type { Command } from 'commander';
import { JSON_HELP } from './flags.js';
import { cpus } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { engineInfo } from '../engine/blas.js';
import { VERSION } from './version.js';

export interface DoctorReport {
  lightreasoner: string;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  engine: ReturnType<typeof engineInfo>;
  packages: Record<string, string | null>;
}

export function doctorReport(): DoctorReport {
  // Packages' exports maps hide package.json from require(), so read it from node_modules.
  const root = new URL('../../../', import.meta.url).pathname;
  const version = (name: string): string | null => {
    const p = join(root, 'node_modules', name, 'package.json');
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version : null;
  };
  return {
    lightreasoner: VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    engine: engineInfo(),
    packages: Object.fromEntries(['@huggingface/tokenizers', '@huggingface/jinja', 'node-llama-cpp'].map((n) => [n, version(n)])),
  };
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('Print the compute engine in use (OpenBLAS library, kernel family, threads), versions, and how to get the fast path if it is off.')
    .option('--json', JSON_HELP)
    .action((opts: { json?: boolean }) => {
      const r = doctorReport();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const e = r.engine;
      const lines = [
        `lightreasoner ${r.lightreasoner}   node ${r.node}   ${r.platform}`,
        `cpu            ${r.cpu} (${r.cores} cores)`,
        `engine         ${e.kind}${e.kind === 'openblas' ? '' : e.kind === 'portable' ? ' (native C++ kernel, no BLAS library)' : ' (JavaScript kernels)'}`,
        `blas library   ${e.blas ?? '-'}`,
        `openblas core  ${e.coreName ?? '-'}${e.coreType ? `   (OPENBLAS_CORETYPE=${e.coreType}, ${e.coreTypeSource === 'user' ? 'set by you' : 'detected from /proc/cpuinfo'})` : ''}`,
        `openblas build ${e.config ?? '-'}`,
        `threads        ${e.threads}`,
        `addon          ${e.addonPath ?? 'not built'}`,
        ...Object.entries(r.packages).map(([k, v]) => `${k.padEnd(14)} ${v ?? 'not installed'}`),
      ];
      if (e.warning) lines.push('', e.warning);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
