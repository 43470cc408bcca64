/**
 * Samples files for tests: what `lightreasoner sample` writes (samples.jsonl with its trajectories
 * file), built from a tiny model directory's tokenizer with random soft labels, so training can
 * run end to end in milliseconds. Not used at run time.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HfTokenizer } from '../tokenizer/index.js';
import { trajectoriesPath, type SampleRecord, type TrajectoryRecord } from '../method/samples.js';
import { SAMPLING_SYSTEM_PROMPT } from '../data/chat-format.js';
import { Rng } from '../util/rng.js';

export interface TinySamplesOptions {
  questions?: number;
  /** Kept steps per question (at most the generated length − 1). */
  stepsPerQuestion?: number;
  seed?: number;
  vocabSize: number;
}

export interface TinySamples {
  samples: string;
  trajectoriesFile: string;
  records: SampleRecord[];
  trajectories: TrajectoryRecord[];
}

const NAMES = ['Natalia', 'Weng', 'Betty', 'Julie', 'James', 'Mark'];
const ITEMS = ['apples', 'clips', 'books', 'cookies'];

/** A question and its worked answer, varied by `k`; the answers differ in length. */
function problem(k: number): { question: string; answer: string } {
  const name = NAMES[k % NAMES.length]!, item = ITEMS[(k >> 1) % ITEMS.length]!;
  const a = 12 + 12 * (k % 5), b = 2 + (k % 3);
  const more = k % 2 === 0 ? ` In total ${name} has ${a} + ${a * b} = <<${a}+${a * b}=${a + a * b}>>${a + a * b} ${item}.` : '';
  return {
    question: `${name} has ${a} ${item}. She buys ${b} times as many ${item} in May. How many ${item} does ${name} have now?`,
    answer: `${name} buys ${a} * ${b} = <<${a}*${b}=${a * b}>>${a * b} ${item}.${more}\n#### ${a + a * b}`,
  };
}

/** Soft labels on 1-3 ids (occasionally a special token at the top of the vocabulary), summing to 1. */
function softLabel(rng: Rng, vocab: number): { ids: number[]; weights: number[] } {
  const n = 1 + rng.int(3);
  const ids = new Set<number>();
  while (ids.size < n) ids.add(rng.next() < 0.2 ? vocab - 1 - rng.int(3) : rng.int(vocab));
  const raw = [...ids].map(() => 0.1 + rng.next());
  const total = raw.reduce((a, b) => a + b, 0);
  const weights = raw.map((w) => w / total);
  const order = weights.map((_, i) => i).sort((i, j) => weights[j]! - weights[i]!);
  return { ids: order.map((i) => [...ids][i]!), weights: order.map((i) => weights[i]!) };
}

/** Write `samples.jsonl` and `samples.trajectories.jsonl` into `dir` as the sampling stage would. */
export function writeTinySamples(dir: string, tokenizer: HfTokenizer, o: TinySamplesOptions): TinySamples {
  const rng = new Rng(o.seed ?? 1);
  const records: SampleRecord[] = [];
  const trajectories: TrajectoryRecord[] = [];
  for (let q = 0; q < (o.questions ?? 4); q++) {
    const { question, answer } = problem(q);
    const prompt = tokenizer.encodeChat([{ role: 'system', content: SAMPLING_SYSTEM_PROMPT }, { role: 'user', content: question }], { addGenerationPrompt: true });
    const generated = tokenizer.encode(answer, { addSpecialTokens: false });
    const candidates = Array.from({ length: generated.length - 1 }, (_, i) => i + 1);
    const steps = rng.shuffle(candidates).slice(0, o.stepsPerQuestion ?? 5).sort((a, b) => a - b);
    for (const step of steps) {
      const { ids, weights } = softLabel(rng, o.vocabSize);
      records.push({
        prompt_id: question, step, prefix: tokenizer.decode(generated.slice(0, step)), tokens: ids.map((i) => tokenizer.decode([i])),
        token_ids: ids, weights, kl_divergence: 0.4 + rng.next(), id: `q${q}`, trajectory: q,
      });
    }
    trajectories.push({ index: q, id: `q${q}`, question, prompt_token_ids: prompt, generated_token_ids: generated, finish: 'stop', steps: generated.length, kept: steps.length });
  }
  const samples = join(dir, 'samples.jsonl');
  writeJsonl(samples, records);
  writeJsonl(trajectoriesPath(samples), trajectories);
  return { samples, trajectoriesFile: trajectoriesPath(samples), records, trajectories };
}

export function writeJsonl(path: string, values: unknown[]): void {
  writeFileSync(path, values.map((v) => `${JSON.stringify(v)}\n`).join(''));
}

/** The reference's text-only records: the first seven fields only. */
export function textOnly(records: SampleRecord[]): SampleRecord[] {
  return records.map(({ prompt_id, step, prefix, tokens, token_ids, weights, kl_divergence }) => ({ prompt_id, step, prefix, tokens, token_ids, weights, kl_divergence }));
}
