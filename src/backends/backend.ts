/**
 * What the pipeline asks of a language model runtime: greedy continuations of prompts, and the
 * next-token distribution at every step of a teacher-forced sequence. Our engine and llama.cpp
 * both provide it; token ids always come from our tokenizer, so every back end sees the same ids
 * and distributions are comparable id by id.
 */
import type { Generation } from '../model/generate.js';
import { UserError } from '../util/errors.js';

export type BackendKind = 'engine' | 'llama.cpp' | 'openai';
export const BACKEND_KINDS: readonly BackendKind[] = ['engine', 'llama.cpp', 'openai'];

export interface GreedyOptions {
  maxNewTokens: number;
  /** Ids that end a sequence (included in its tokens). */
  stopIds: Iterable<number>;
  /** Sequences decoded together (the engine's batch; llama.cpp's parallel sequences, capped by the context's). */
  batchSize?: number;
  /** Called as each sequence finishes, in finishing order. */
  onFinish?: (index: number, g: Generation) => void;
}

/** A greedy continuation with the logits each of its tokens was chosen from. */
export interface GenerationWithLogits extends Generation {
  /** [tokens.length, vocab]: row t is the row tokens[t] was chosen from, as stepLogits' row t. */
  logits: Float32Array;
}

export interface LanguageModelBackend {
  readonly kind: BackendKind;
  /** Identifies the weights and runtime settings, for run manifests and messages. */
  readonly description: string;
  /** Width of every distribution row: config.json's vocab_size. */
  readonly vocabSize: number;
  /** Longest prompt + continuation a sequence may reach (generation ends with finish "context" there). */
  readonly contextSize: number;
  /**
   * Set when stepLogits rows are approximations built from the top k log-probabilities of each
   * position (an inference server capped at k; docs/top-k-kl.md); absent or null when exact.
   */
  readonly logprobsTopK?: number | null;
  /** Calls worth overlapping (an HTTP back end: endpoints × requests in flight each); absent means 1. */
  readonly concurrency?: number;

  /** Greedy (argmax, first index on ties) continuation of each prompt; results in prompt order. */
  generateGreedy(prompts: ReadonlyArray<ArrayLike<number>>, opts: GreedyOptions): Promise<Generation[]>;

  /**
   * generateGreedy that also hands over the full logits row of every generated step, which
   * decoding computed anyway: stage 1 then contrasts them with the Amateur's and skips the
   * Expert's own teacher-forced pass (src/method/sample.ts). Rows equal stepLogits' up to
   * summation order (cached decoding vs one causal pass). Our engine has it; llama.cpp (whose
   * greedy loop never hands over whole rows) and servers (top-k log-probabilities at most) leave
   * it out, and their trajectories are scored with stepLogits. Each result holds tokens × vocab
   * f32 until the caller drops it.
   */
  generateGreedyWithLogits?(prompts: ReadonlyArray<ArrayLike<number>>, opts: GreedyOptions): Promise<GenerationWithLogits[]>;

  /**
   * Next-token scores [T, vocab] at the T steps of `generated` teacher-forced after `promptIds`:
   * row t predicts generated[t]. Scores are logits up to an additive constant per row (log-softmax
   * of a row gives the log-probabilities; a back end may return log-probabilities directly).
   * Calls may run concurrently; a back end with parallel sequences then overlaps them.
   */
  stepLogits(promptIds: ArrayLike<number>, generated: ArrayLike<number>): Promise<Float32Array>;

  /** Free native resources. The back end is unusable afterwards. */
  dispose(): Promise<void>;
}

/** Reject a prompt set the way the engine's generate() does, so both back ends fail alike. */
export function checkPrompts(prompts: ReadonlyArray<ArrayLike<number>>, contextSize: number, vocabSize: number): void {
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new UserError(`prompt ${i} is empty`);
    if (p.length >= contextSize) throw new UserError(`prompt ${i} has ${p.length} tokens; the context window is ${contextSize}`);
    checkIds(p, vocabSize, `prompt ${i}`);
  });
}

export function checkIds(ids: ArrayLike<number>, vocabSize: number, what: string): void {
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new UserError(`${what}: token ${k} is ${id}, outside the vocabulary [0, ${vocabSize})`);
  }
}
