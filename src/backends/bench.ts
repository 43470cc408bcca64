/**
 * Throughput of a back end on the pipeline's two jobs, for `npm run bench`: the Expert's greedy
 * generation (tokens/s) and scoring trajectories teacher-forced, as the Amateur does (tokens/s of
 * prompt + continuation).
 */
import type { LanguageModelBackend } from './backend.js';
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
