/**
 * Batched decoding with KV caches and continuous batching: up to `batchSize` sequences are in
 * flight; when one stops (a stop id or its token budget), the next prompt takes its slot in the
 * same forward pass (prompts being prefilled and sequences being decoded are packed together).
 *
 * Several models can decode in lock step on the same tokens (each with its own cache); a chooser
 * picks the next token from all their logits. Greedy decoding is one model with argmax;
 * contrastive decoding is Expert + Amateur with the contrastive score.
 */
import type { Transformer } from './transformer.js';
import { packSequences } from './transformer.js';
import { KVCache } from './kv-cache.js';
import { UserError } from '../util/errors.js';

export interface Generation {
  /** Generated ids (a stop id, when one ended the sequence, is included). */
  tokens: number[];
  /** Why generation ended. */
  finish: 'stop' | 'length' | 'context';
  /**
   * With GenerateOptions.keepLogits: the first model's logits [tokens.length, vocab], row t being
   * the row tokens[t] was chosen from (the convention of stepLogits: row t predicts tokens[t]).
   */
  logits?: Float32Array;
}

/**
 * Picks the next token of one sequence from each model's logits row [vocab] at `offsets[m]`.
 * `index` is the sequence's prompt index. At every step the chooser is called for the sequences in
 * flight in slot order, which is prompt order when every prompt has a slot of its own (batchSize ≥
 * prompts): then a chooser with a random stream per group of prompts draws the same numbers for the
 * group whatever is decoded beside it (rejection-sampling SFT decodes several chunks at once so).
 */
export type TokenChooser = (logits: Float32Array[], offsets: number[], vocab: number, index: number) => number;

export interface GenerateOptions {
  maxNewTokens: number;
  stopIds: Iterable<number>;
  /** Sequences decoded together (default 16). */
  batchSize?: number;
  /** Default: argmax of the first model's logits (greedy, first index on ties as torch.argmax). */
  choose?: TokenChooser;
  /** Called as each sequence finishes, in finishing order. */
  onFinish?: (index: number, g: Generation) => void;
  /**
   * Keep the first model's logits row of every generated step and hand them over as
   * Generation.logits, so a caller that needs them (stage 1's contrast) need not recompute them
   * with a teacher-forced pass. Memory: every sequence in flight holds its rows until it
   * finishes, and the results hold them until the caller drops them, so up to
   * prompts × steps × vocab f32 (151,936 ids × 128 steps × 4 B = 78 MB per sequence at the
   * paper's shapes).
   */
  keepLogits?: boolean;
}

export function argmax(a: Float32Array, off: number, n: number): number {
  let best = 0, bv = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = a[off + i]!;
    if (v > bv) { bv = v; best = i; }
  }
  return best;
}

const greedy: TokenChooser = (logits, offsets, vocab) => argmax(logits[0]!, offsets[0]!, vocab);

export function generate(models: Transformer[], prompts: ReadonlyArray<ArrayLike<number>>, opts: GenerateOptions): Generation[] {
  if (models.length === 0) throw new Error('generate: no model');
  const vocab = models[0]!.config.vocabSize;
  for (const m of models) {
    if (m.config.vocabSize !== vocab) throw new UserError(`models disagree on the vocabulary size (${vocab} vs ${m.config.vocabSize})`);
  }
  const maxPos = Math.min(...models.map((m) => m.config.maxPositionEmbeddings));
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new UserError(`prompt ${i} is empty`);
    if (p.length >= maxPos) throw new UserError(`prompt ${i} has ${p.length} tokens; the context window is ${maxPos}`);
  });
  const stop = new Set(opts.stopIds);
  const choose = opts.choose ?? greedy;
  const slots = Math.max(1, Math.min(opts.batchSize ?? 16, prompts.length));
  const caches = models.map((m) => new KVCache(m.config, slots));
  const results: Generation[] = new Array(prompts.length);
  // rows: with keepLogits, one [maxNewTokens, vocab] buffer per sequence, filled row by row (one
  // allocation a sequence, not a row per token and a second copy at the end).
  interface Active { index: number; feed: number[]; out: number[]; rows: Float32Array | null }
  const active: Array<Active | null> = new Array(slots).fill(null);
  let next = 0, running = 0;
  while (next < prompts.length || running > 0) {
    for (let s = 0; s < slots && next < prompts.length; s++) {
      if (active[s]) continue;
      const p = prompts[next]!;
      for (const c of caches) c.reset(s);
      active[s] = { index: next++, feed: Array.from(p), out: [], rows: opts.keepLogits ? new Float32Array(opts.maxNewTokens * vocab) : null };
      running++;
    }
    const inFlight: number[] = [];
    for (let s = 0; s < slots; s++) if (active[s]) inFlight.push(s);
    const batch = packSequences(inFlight.map((s) => active[s]!.feed));
    const logits = models.map((m, k) => m.forward(batch, { cache: caches[k]!, slots: inFlight, logitRows: 'last' }).logits);
    inFlight.forEach((s, row) => {
      const a = active[s]!;
      const tok = choose(logits, logits.map(() => row * vocab), vocab, a.index);
      a.out.push(tok);
      if (a.rows) a.rows.set(logits[0]!.subarray(row * vocab, (row + 1) * vocab), (a.out.length - 1) * vocab);
      const total = prompts[a.index]!.length + a.out.length;
      const finish: Generation['finish'] | null = stop.has(tok) ? 'stop'
        : a.out.length >= opts.maxNewTokens ? 'length'
        : total >= maxPos ? 'context' : null;
      if (finish) {
        // A sequence that stopped early keeps only its own rows (one copy, then the buffer is freed).
        const kept = a.rows && (a.out.length * vocab === a.rows.length ? a.rows : a.rows.slice(0, a.out.length * vocab));
        results[a.index] = { tokens: a.out, finish, ...(kept ? { logits: kept } : {}) };
        a.rows = null;
        opts.onFinish?.(a.index, results[a.index]!);
        active[s] = null;
        running--;
      } else {
        a.feed = [tok];
      }
    });
  }
  return results;
}

/** Greedy decoding with one model. */
export function generateGreedy(model: Transformer, prompts: ReadonlyArray<ArrayLike<number>>, opts: Omit<GenerateOptions, 'choose'>): Generation[] {
  return generate([model], prompts, opts);
}
