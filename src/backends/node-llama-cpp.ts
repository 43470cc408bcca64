/**
 * Loading the optional package node-llama-cpp (pinned 3.21.1), and the few parts of its API we use,
 * typed here so that lightreasoner compiles and runs where the package is not installed.
 * llama.cpp comes only from the package's prebuilt binaries (@node-llama-cpp/<platform>): we never
 * let it download or compile llama.cpp (`build: "never"`, `skipDownload: true`).
 */
import { availableParallelism, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { UserError, errorMessage } from '../util/errors.js';

export const NODE_LLAMA_CPP_VERSION = '3.21.1';
export const INSTALL_HINT = `npm install node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`;

export type Token = number;

export interface NlcSequence {
  controlledEvaluate(input: Array<Token | [Token, { generateNext?: { probabilities?: boolean } }]>): Promise<Array<undefined | { next: { probabilities?: Map<Token, number> } }>>;
  evaluate(tokens: Token[], options?: { temperature?: number; yieldEogToken?: boolean }): AsyncGenerator<Token, void, void | Token | Token[]>;
  clearHistory(): Promise<void>;
  dispose(): void;
}

export interface NlcContext {
  readonly contextSize: number;
  getSequence(): NlcSequence;
  dispose(): Promise<void>;
}

export interface NlcContextOptions {
  contextSize: number;
  sequences: number;
  batchSize?: number;
  threads?: number;
  flashAttention?: boolean;
  experimentalKvCacheKeyType?: 'F32' | 'F16';
  experimentalKvCacheValueType?: 'F32' | 'F16';
}

export interface NlcModel {
  readonly trainContextSize: number;
  createContext(options: NlcContextOptions): Promise<NlcContext>;
  dispose(): Promise<void>;
}

export interface NlcLlama {
  /** false on CPU, else "cuda" / "vulkan" / "metal". */
  readonly gpu: string | false;
  /** The llama.cpp build inside the binary (reported by benchmarks). */
  readonly llamaCppRelease?: { readonly repo: string; readonly release: string };
  /** ggml's CPU feature line (AVX2, FMA, ...). */
  readonly systemInfo?: string;
  loadModel(options: { modelPath: string; gpuLayers?: 'auto' | number }): Promise<NlcModel>;
  dispose(): Promise<void>;
}

export type NlcLogLevel = 'disabled' | 'fatal' | 'error' | 'warn' | 'info' | 'log' | 'debug';

export interface NlcModule {
  getLlama(options: {
    gpu: 'auto' | false;
    build: 'never';
    skipDownload: boolean;
    usePrebuiltBinaries: boolean;
    progressLogs: boolean;
    logLevel: NlcLogLevel;
    logger?: (level: NlcLogLevel, message: string) => void;
    maxThreads?: number;
  }): Promise<NlcLlama>;
}

function isModuleNotFound(e: unknown, specifier: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && errorMessage(e).includes(specifier);
}

/**
 * Import node-llama-cpp, or throw a UserError saying how to install it. `specifier` exists for
 * tests (to see the message without uninstalling the package).
 */
export async function importNodeLlamaCpp(specifier = 'node-llama-cpp'): Promise<NlcModule> {
  try {
    // A computed specifier keeps TypeScript from requiring the optional package at compile time.
    const mod = (await import(specifier)) as Partial<NlcModule>;
    if (typeof mod.getLlama !== 'function') throw new Error(`${specifier} has no getLlama export`);
    return mod as NlcModule;
  } catch (e) {
    if (isModuleNotFound(e, specifier)) {
      throw new UserError(`the llama.cpp back end needs the optional package node-llama-cpp, which is not installed; install it with \`${INSTALL_HINT}\` (or use --backend engine)`);
    }
    throw new UserError(`could not load node-llama-cpp: ${errorMessage(e)}; reinstall it with \`${INSTALL_HINT}\` (or use --backend engine)`, { cause: e });
  }
}

/** Whether node-llama-cpp can be imported (it may still lack a binary for this machine). */
export async function nodeLlamaCppAvailable(): Promise<boolean> {
  try {
    await importNodeLlamaCpp();
    return true;
  } catch {
    return false;
  }
}

const llamas = new Map<string, Promise<NlcLlama>>();

/**
 * Physical cores (not hyper-threads) this process may run on: distinct (physical id, core id) pairs
 * of /proc/cpuinfo, capped by the CPUs the process may use. Where cpuinfo says nothing about cores
 * (other systems, some VMs), the CPUs the process may use.
 */
export function physicalCores(cpuinfo?: string, usable = availableParallelism()): number {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return usable;
    }
  }
  const cores = new Set<string>();
  for (const block of text.split(/\n\s*\n/)) {
    const physical = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1], core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
    if (physical !== undefined && core !== undefined) cores.add(`${physical}:${core}`);
  }
  return cores.size > 0 ? Math.min(cores.size, usable) : usable;
}

export interface LlamaThreadChoice {
  threads: number;
  /** Set when the load average says the machine is busy: what was chosen and why. */
  warning: string | null;
}

/**
 * The default llama.cpp thread count: the physical cores minus the load (the 1-minute load
 * average, rounded), at least 1. ggml's worker threads spin while they wait for each other, so one
 * more thread than there are free cores stalls every step (measured: 8.3 tokens/s, once 2.0, with
 * the cores' count on a loaded 2-core machine, against 350 with 1 thread); hyper-threads add
 * nothing to its matrix products either. A warning says when load took cores away.
 */
export function chooseLlamaThreads(cores: number, load1: number): LlamaThreadChoice {
  const busy = Number.isFinite(load1) && load1 > 0 ? Math.round(load1) : 0;
  const threads = Math.max(1, cores - busy);
  if (threads === cores) return { threads, warning: null };
  return {
    threads,
    warning: `llama.cpp: the machine is busy (load average ${load1.toFixed(2)} over the last minute on ${cores} physical core${cores === 1 ? '' : 's'}); using ${threads} thread${threads === 1 ? '' : 's'}${busy >= cores ? ', and it will run slower than on an idle machine' : ''}. Choose with --llama-threads`,
  };
}

let defaultThreads: number | null = null;

/**
 * Threads llama.cpp uses by default (chooseLlamaThreads on this machine), decided once per process
 * so that the Expert and the Amateur share one runtime, with its warning (if any) printed once.
 */
export function defaultLlamaThreads(): number {
  if (defaultThreads === null) {
    const choice = chooseLlamaThreads(physicalCores(), loadavg()[0]!);
    if (choice.warning && process.env.LIGHTREASONER_QUIET !== '1') process.stderr.write(`warning: ${choice.warning}\n`);
    defaultThreads = choice.threads;
  }
  return defaultThreads;
}

/**
 * One llama.cpp runtime per setting for the whole process (loading its binary takes a second; the
 * Expert and the Amateur share it). `maxThreads` defaults to defaultLlamaThreads(): node-llama-cpp's
 * own default is at least 4, and ggml's spinning worker threads on fewer cores than that made
 * decoding a thousand times slower on a 2-core machine.
 */
export function getLlamaRuntime(gpu: 'auto' | 'off', opts: { maxThreads?: number; logLevel?: NlcLogLevel } = {}): Promise<NlcLlama> {
  const maxThreads = opts.maxThreads ?? defaultLlamaThreads();
  const logLevel = opts.logLevel ?? 'error';
  const key = `${gpu}:${maxThreads}:${logLevel}`;
  let llama = llamas.get(key);
  if (!llama) {
    llama = (async () => {
      const nlc = await importNodeLlamaCpp();
      try {
        return await nlc.getLlama({
          gpu: gpu === 'off' ? false : 'auto',
          build: 'never',
          skipDownload: true,
          usePrebuiltBinaries: true,
          progressLogs: false,
          maxThreads,
          logLevel,
          logger: (level, message) => { process.stderr.write(`llama.cpp ${level}: ${message.trimEnd()}\n`); },
        });
      } catch (e) {
        throw new UserError(`node-llama-cpp found no working llama.cpp binary for ${process.platform}-${process.arch}${gpu === 'auto' ? '' : ' (CPU only)'}: ${errorMessage(e)}. Its prebuilt binaries come with the npm package; reinstall it with \`${INSTALL_HINT}\``, { cause: e });
      }
    })();
    llamas.set(key, llama);
    llama.catch(() => llamas.delete(key));
  }
  return llama;
}
