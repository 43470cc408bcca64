/**
 * Throughput of a back end on the pipeline's two jobs, for `npm run bench`: the Expert's greedy
 * generation (tokens/s) and scoring trajectories teacher-forced, as the Amateur does (tokens/s of
 * prompt + continuation). benchLlamaCpp runs the same workload on our engine and on llama.cpp and
 * says whether their generations agree.
 *
 *   const rows = await benchLlamaCpp({ modelDir: 'models/expert', questions, maxNewTokens: 128 });
 */
import type { LanguageModelBackend } from './backend.js';
import { openModel, type OpenModelOptions } from './open.js';
import type { Generation } from '../model/generate.js';

export interface BackendBenchRow {
  backend: string;
  /** Where it ran: "cpu" or the GPU kind for llama.cpp, "engine" for ours. */
  description: string;
  prompts: number;
  generatedTokens: number;
  generationSeconds: number;
  generationTokensPerSecond: number;
  /** Prompt + continuation tokens scored teacher-forced. */
  scoredTokens: number;
  scoringSeconds: number;
  scoringTokensPerSecond: number;
}

export interface BenchResult {
  row: BackendBenchRow;
  generations: Generation[];
}

/** Greedy generations of `prompts` on `backend`, timed. */
export async function timeGeneration(backend: LanguageModelBackend, prompts: ReadonlyArray<readonly number[]>, opts: { maxNewTokens: number; stopIds: readonly number[]; batchSize?: number }): Promise<{ generations: Generation[]; generatedTokens: number; seconds: number }> {
  const t0 = performance.now();
  const generations = await backend.generateGreedy(prompts, { maxNewTokens: opts.maxNewTokens, stopIds: opts.stopIds, ...(opts.batchSize ? { batchSize: opts.batchSize } : {}) });
  const seconds = (performance.now() - t0) / 1000;
  return { generations, generatedTokens: generations.reduce((a, g) => a + g.tokens.length, 0), seconds };
}

/** Every (prompt, continuation) pair scored teacher-forced on `backend`, all calls concurrent (as `sample` scores), timed. */
export async function timeScoring(backend: LanguageModelBackend, prompts: ReadonlyArray<readonly number[]>, continuations: ReadonlyArray<ArrayLike<number>>): Promise<{ scoredTokens: number; seconds: number }> {
  const t0 = performance.now();
  await Promise.all(prompts.map((p, i) => backend.stepLogits(p, continuations[i]!)));
  const seconds = (performance.now() - t0) / 1000;
  return { scoredTokens: prompts.reduce((a, p, i) => a + p.length + continuations[i]!.length, 0), seconds };
}

/** Generate greedily from `prompts`, then score every (prompt, generation) pair; time both. */
export async function benchBackend(backend: LanguageModelBackend, prompts: ReadonlyArray<readonly number[]>, opts: { maxNewTokens: number; stopIds: readonly number[]; batchSize?: number }): Promise<BenchResult> {
  const g = await timeGeneration(backend, prompts, opts);
  const s = await timeScoring(backend, prompts, g.generations.map((x) => x.tokens));
  return {
    generations: g.generations,
    row: {
      backend: backend.kind, description: backend.description, prompts: prompts.length,
      generatedTokens: g.generatedTokens, generationSeconds: g.seconds, generationTokensPerSecond: g.generatedTokens / Math.max(g.seconds, 1e-9),
      scoredTokens: s.scoredTokens, scoringSeconds: s.seconds, scoringTokensPerSecond: s.scoredTokens / Math.max(s.seconds, 1e-9),
    },
  };
}

export interface LlamaCppBenchOptions extends Omit<OpenModelOptions, 'backend'> {
  /** User messages, chat-formatted with the model's template (with a generation prompt). */
  questions: readonly string[];
  maxNewTokens: number;
  /** Sequences decoded together by both back ends (default 8). */
  batchSize?: number;
}

export interface LlamaCppBenchResult {
  engine: BackendBenchRow;
  llamaCpp: BackendBenchRow;
  /** Prompts whose greedy generations are identical token for token on both back ends. */
  identicalGenerations: number;
}

/** The same workload on our engine and on llama.cpp (the model exported to GGUF, or `gguf`). */
export async function benchLlamaCpp(opts: LlamaCppBenchOptions): Promise<LlamaCppBenchResult> {
  const batchSize = opts.batchSize ?? 8;
  const { questions, maxNewTokens, gguf, ...common } = opts;
  const engine = await openModel({ ...common, backend: 'engine' });
  const prompts = questions.map((q) => engine.tokenizer.encodeChat([{ role: 'user', content: q }], { addGenerationPrompt: true }));
  const e = await benchBackend(engine.backend, prompts, { maxNewTokens, stopIds: engine.stopIds, batchSize });
  const llama = await openModel({ parallel: batchSize, ...common, ...(gguf ? { gguf } : {}), backend: 'llama.cpp' });
  try {
    const l = await benchBackend(llama.backend, prompts, { maxNewTokens, stopIds: llama.stopIds, batchSize });
    const identicalGenerations = e.generations.filter((g, i) => g.tokens.join(',') === l.generations[i]!.tokens.join(',')).length;
    return { engine: e.row, llamaCpp: l.row, identicalGenerations };
  } finally {
    await llama.backend.dispose();
  }
}
