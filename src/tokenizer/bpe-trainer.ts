/**
 * Byte-level BPE training (Sennrich et al. 2016 over GPT-2's byte alphabet), writing Qwen2's file
 * format. Text is NFC-normalised and pre-tokenised exactly as the written tokenizer.json will do it
 * at encode time (the pre-tokenizer objects are built from that same JSON), pre-tokens are counted,
 * and the most frequent adjacent symbol pair is merged until the vocabulary is full.
 *
 * Pair counts are kept incrementally: a merge only revisits the words that contain the pair, and a
 * max-heap with lazy invalidation finds the next best pair. Ties go to the pair with the smaller
 * (left id, right id), as Hugging Face's BpeTrainer does, so training is deterministic.
 *
 *   const { tokenizerJson, tokenizerConfigJson } = trainByteLevelBpe(texts, { vocabSize: 1024 });
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { UserError } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';
import { BYTE_LEVEL_ALPHABET } from './byte-level.js';
import {
  CHATML_SPECIAL_TOKENS,
  qwen2TokenizerConfigJson,
  qwen2TokenizerJson,
  type Qwen2TokenizerConfigJson,
  type Qwen2TokenizerJson,
} from './qwen2-format.js';

export interface BpeTrainingOptions {
  /**
   * The model-facing vocabulary size to reach: 256 byte symbols + merged tokens + special tokens.
   * Training stops earlier when no pair reaches `minFrequency`.
   */
  vocabSize: number;
  /** Added after the BPE vocabulary, in this order. Must contain ChatML's three; default exactly those. */
  specialTokens?: readonly string[];
  /** A pair seen fewer times than this (summed over the corpus) is never merged. Default 2. */
  minFrequency?: number;
  /** `model_max_length` written to tokenizer_config.json. Default 32768. */
  modelMaxLength?: number;
  onProgress?: ProgressCallback;
}

/** The defaults of the optional training settings (`train-tokenizer --min-frequency`, `--model-max-length`). */
export const DEFAULT_BPE_TRAINING = { minFrequency: 2, modelMaxLength: 32768 } as const;

export interface BpeTrainingStats {
  texts: number;
  /** Distinct pre-tokens (words) the merges were learned from. */
  distinctWords: number;
  merges: number;
  /** Final model-facing vocabulary size (byte symbols + merged tokens + special tokens). */
  vocabSize: number;
  /** Why training ended before `vocabSize`, or null when it was reached. */
  stoppedEarly: string | null;
}

export interface TrainedTokenizer {
  tokenizerJson: Qwen2TokenizerJson;
  tokenizerConfigJson: Qwen2TokenizerConfigJson;
  stats: BpeTrainingStats;
}

/** Pair keys pack (left, right) into one number; ids must stay below 2^21. */
const ID_LIMIT = 1 << 21;
const pairKey = (a: number, b: number): number => a * ID_LIMIT + b;
const pairLeft = (key: number): number => Math.floor(key / ID_LIMIT);
const pairRight = (key: number): number => key % ID_LIMIT;

/** Max-heap of (count, pair): larger count first, then smaller pair key (= smaller (left, right)). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  get size(): number { return this.keys.length; }
  private before(i: number, j: number): boolean {
    const ci = this.counts[i]!, cj = this.counts[j]!;
    return ci !== cj ? ci > cj : this.keys[i]! < this.keys[j]!;
  }
  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.keys.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): { count: number; key: number } {
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const lastCount = this.counts.pop()!, lastKey = this.keys.pop()!;
    if (this.keys.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < this.keys.length && this.before(l, m)) m = l;
        if (r < this.keys.length && this.before(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

function checkOptions(options: BpeTrainingOptions): Required<Omit<BpeTrainingOptions, 'onProgress'>> {
  const specialTokens = options.specialTokens ?? CHATML_SPECIAL_TOKENS;
  const missing = CHATML_SPECIAL_TOKENS.filter((t) => !specialTokens.includes(t));
  if (missing.length > 0) throw new UserError(`specialTokens must include ChatML's ${missing.join(', ')} (the chat template and eos/pad tokens use them)`);
  if (new Set(specialTokens).size !== specialTokens.length) throw new UserError(`specialTokens has duplicates: ${JSON.stringify(specialTokens)}`);
  const floor = BYTE_LEVEL_ALPHABET.length + specialTokens.length;
  const { vocabSize } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < floor || vocabSize >= ID_LIMIT) {
    throw new UserError(`vocabSize is ${vocabSize}; expected an integer from ${floor} (256 byte symbols + ${specialTokens.length} special tokens) to ${ID_LIMIT - 1}`);
  }
  const minFrequency = options.minFrequency ?? DEFAULT_BPE_TRAINING.minFrequency;
  if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new UserError(`minFrequency is ${minFrequency}; expected an integer >= 1`);
  const modelMaxLength = options.modelMaxLength ?? DEFAULT_BPE_TRAINING.modelMaxLength;
  if (!Number.isInteger(modelMaxLength) || modelMaxLength < 1) throw new UserError(`modelMaxLength is ${modelMaxLength}; expected a positive integer`);
  return { vocabSize, specialTokens, minFrequency, modelMaxLength };
}

/** NFC + Qwen2's split + byte-level spelling, by the library's own stages built from the JSON we write. */
function countWords(corpus: Iterable<string>): { words: Map<string, number>; texts: number } {
  const lib = new Tokenizer(qwen2TokenizerJson([], [], []), {});
  const normalizer = lib.normalizer as { normalize(text: string): string };
  const preTokenizer = lib.pre_tokenizer as { pre_tokenize(text: string): string[] };
  const words = new Map<string, number>();
  let texts = 0;
  for (const text of corpus) {
    texts++;
    for (const w of preTokenizer.pre_tokenize(normalizer.normalize(text))) words.set(w, (words.get(w) ?? 0) + 1);
  }
  return { words, texts };
}

export function trainByteLevelBpe(corpus: Iterable<string>, options: BpeTrainingOptions): TrainedTokenizer {
  const { vocabSize, specialTokens, minFrequency, modelMaxLength } = checkOptions(options);
  const { words: wordCounts, texts } = countWords(corpus);

  const vocab: string[] = [...BYTE_LEVEL_ALPHABET];
  const idOf = new Map<string, number>(vocab.map((t, i) => [t, i]));
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [w, n] of wordCounts) {
    words.push(Array.from(w, (ch) => idOf.get(ch)!));
    freq.push(n);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: 1 | -1): void => {
    const w = words[wi]!, n = freq[wi]! * sign;
    for (let i = 0; i + 1 < w.length; i++) {
      const k = pairKey(w[i]!, w[i + 1]!);
      pairCount.set(k, (pairCount.get(k) ?? 0) + n);
      if (sign > 0) {
        let s = pairWords.get(k);
        if (!s) pairWords.set(k, (s = new Set()));
        s.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);
  const heap = new PairHeap();
  for (const [k, n] of pairCount) heap.push(n, k);

  const targetBpeSize = vocabSize - specialTokens.length;
  const merges: [string, string][] = [];
  let stoppedEarly: string | null = null;
  const progressTotal = targetBpeSize - vocab.length;
  while (vocab.length < targetBpeSize) {
    if (heap.size === 0) { stoppedEarly = 'every word is a single token'; break; }
    const { count, key } = heap.pop();
    const actual = pairCount.get(key) ?? 0;
    if (actual !== count) {
      if (actual > 0) heap.push(actual, key);
      continue;
    }
    if (count < minFrequency) { stoppedEarly = `no pair occurs ${minFrequency} or more times`; break; }

    const a = pairLeft(key), b = pairRight(key);
    const merged = vocab[a]! + vocab[b]!;
    let c = idOf.get(merged);
    if (c === undefined) {
      c = vocab.length;
      vocab.push(merged);
      idOf.set(merged, c);
    }
    merges.push([vocab[a]!, vocab[b]!]);

    const touched = new Set<number>();
    for (const wi of pairWords.get(key) ?? []) {
      const w = words[wi]!;
      const next: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) { next.push(c); i++; } else next.push(w[i]!);
      }
      if (next.length === w.length) continue;
      addPairs(wi, -1);
      for (let i = 0; i + 1 < w.length; i++) pairWords.get(pairKey(w[i]!, w[i + 1]!))?.delete(wi);
      words[wi] = next;
      addPairs(wi, 1);
      for (let i = 0; i + 1 < next.length; i++) if (next[i] === c || next[i + 1] === c) touched.add(pairKey(next[i]!, next[i + 1]!));
    }
    pairCount.delete(key);
    pairWords.delete(key);
    // Only pairs with the new token grew and need a fresh heap entry; counts that shrank are caught
    // when their stale entry is popped.
    for (const k of touched) {
      const n = pairCount.get(k) ?? 0;
      if (n > 0) heap.push(n, k);
    }
    if (options.onProgress && (merges.length % 100 === 0 || vocab.length === targetBpeSize)) {
      options.onProgress({ stage: 'train-tokenizer', done: vocab.length - BYTE_LEVEL_ALPHABET.length, total: progressTotal, unit: 'tokens' });
    }
  }

  const tokenizerJson = qwen2TokenizerJson(vocab, merges, specialTokens);
  return {
    tokenizerJson,
    tokenizerConfigJson: qwen2TokenizerConfigJson(tokenizerJson, modelMaxLength),
    stats: { texts, distinctWords: words.length, merges: merges.length, vocabSize: vocab.length + specialTokens.length, stoppedEarly },
  };
}
