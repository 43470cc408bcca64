/**
 * Loading the optional package node-llama-cpp (pinned 3.21.1), and the few parts of its API we use,
 * typed here so that lightreasoner compiles and runs where the package is not installed.
 * llama.cpp comes only from the package's prebuilt binaries (@node-llama-cpp/<platform>): we never
 * let it download or compile llama.cpp (`build: "never"`, `skipDownload: true`).
 */
import { availableParallelism } from 'node:os';
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

/** Threads llama.cpp may use by default: the cores this process may run on. */
export function defaultLlamaThreads(): number {
  return availableParallelism();
}

/**
 * One llama.cpp runtime per setting for the whole process (loading its binary takes a second; the
 * Expert and the Amateur share it). `maxThreads` defaults to the cores available: node-llama-cpp's
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
