/**
 * The supervision set Stage 1 writes and Stage 2 reads.
 *
 * `samples.jsonl` — one record per kept step. The first seven fields are the reference
 * implementation's, so its tools read our files:
 *   prompt_id      the question text (the reference keys on it)
 *   step           index t of the generated token this step predicts (0 = first generated token)
 *   prefix         the Expert's generated text before step t (decoded generated[0..t), no prompt)
 *   tokens         the plausible tokens as text, in the order of token_ids
 *   token_ids      the plausible set V (ids), by decreasing weight
 *   weights        the contrastive soft label v_C on token_ids (sums to 1)
 *   kl_divergence  KL(pE ‖ pA) at this step, over the full vocabulary
 * and two of ours, which make training exact (no re-tokenisation):
 *   id             the question's id
 *   trajectory     index of the question's record in the trajectories file
 *
 * `samples.trajectories.jsonl` (beside it) — one record per processed question, written after
 * its samples: the exact prompt ids (chat template applied) and the Expert's generated ids, so the
 * training input of a record is prompt_token_ids + generated_token_ids[0..step) and its target is
 * the distribution at the last of those positions.
 */
import { existsSync } from 'node:fs';
import { readJsonl, tornInputMessage } from '../util/jsonl.js';
import { UserError, describeValue } from '../util/errors.js';

export interface SampleRecord {
  prompt_id: string;
  step: number;
  prefix: string;
  tokens: string[];
  token_ids: number[];
  weights: number[];
  kl_divergence: number;
  id?: string;
  trajectory?: number;
  /** Present when KL and weights were computed from the top k log-probabilities of a server (docs/top-k-kl.md). */
  kl_top_k?: number;
}

export interface TrajectoryRecord {
  index: number;
  id: string;
  question: string;
  prompt_token_ids: number[];
  generated_token_ids: number[];
  finish: 'stop' | 'length' | 'context' | 'skipped';
  /** Steps contrasted (generated tokens, minus skipped leading steps). */
  steps: number;
  kept: number;
  /** Why the question was not sampled (e.g. its prompt does not fit the context window). */
  skipped?: string;
}

/** `samples.jsonl` → `samples.trajectories.jsonl` (and likewise for other names). */
export function trajectoriesPath(samplesPath: string): string {
  return samplesPath.endsWith('.jsonl') ? `${samplesPath.slice(0, -'.jsonl'.length)}.trajectories.jsonl` : `${samplesPath}.trajectories.jsonl`;
}

export function manifestPath(samplesPath: string): string {
  return samplesPath.endsWith('.jsonl') ? `${samplesPath.slice(0, -'.jsonl'.length)}.manifest.json` : `${samplesPath}.manifest.json`;
}

export interface SampleProblem {
  line: number;
  message: string;
}

function isIntArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isInteger(x));
}

/**
 * Check one sample record against the model it will train: ids inside the vocabulary, weights a
 * distribution. Returns a problem description, or null.
 */
export function checkSample(r: unknown, vocabSize: number): string | null {
  if (typeof r !== 'object' || r === null) return 'not a JSON object';
  const s = r as Partial<SampleRecord>;
  if (!Number.isInteger(s.step) || s.step! < 0) return `"step" is ${describeValue(s.step)}, expected an integer >= 0`;
  if (!isIntArray(s.token_ids) || s.token_ids.length === 0) return '"token_ids" must be a non-empty list of integers';
  if (!Array.isArray(s.weights) || s.weights.length !== s.token_ids.length || !s.weights.every((w) => typeof w === 'number' && w >= 0 && Number.isFinite(w))) {
    return `"weights" must be ${s.token_ids.length} non-negative numbers (one per token id)`;
  }
  const bad = s.token_ids.find((t) => t < 0 || t >= vocabSize);
  if (bad !== undefined) return `token id ${bad} is outside the model's vocabulary [0, ${vocabSize})`;
  // A repeated id would split one token's weight in two, and Σ w log w (the label's entropy in the KL) with it.
  const twice = s.token_ids.find((t, i) => s.token_ids!.indexOf(t) !== i);
  if (twice !== undefined) return `"token_ids" lists token id ${twice} more than once`;
  const sum = s.weights.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-3) return `weights sum to ${sum.toFixed(6)}, not 1 (within 1e-3)`;
  if (typeof s.prompt_id !== 'string') return '"prompt_id" must be a string (the question text)';
  if (typeof s.prefix !== 'string') return '"prefix" must be a string (the generated text before the step)';
  if (s.trajectory !== undefined && !Number.isInteger(s.trajectory)) return '"trajectory" must be an integer';
  return null;
}

export interface SamplesRead {
  samples: Array<SampleRecord & { line: number }>;
  problems: SampleProblem[];
}

export function readSamples(path: string, vocabSize: number): SamplesRead {
  const read = readJsonl<unknown>(path, 'samples file');
  const problems: SampleProblem[] = read.problems.map((p) => ({ line: p.line, message: `not valid JSON (${p.message})` }));
  const torn = tornInputMessage(read);
  if (torn) problems.push({ line: read.tornLine!, message: torn });
  const samples: SamplesRead['samples'] = [];
  for (const { line, value } of read.records) {
    const why = checkSample(value, vocabSize);
    if (why) problems.push({ line, message: why });
    else samples.push({ ...(value as SampleRecord), line });
  }
  return { samples, problems };
}

/** Throw one UserError listing up to 10 bad lines. */
export function requireValidSamples(path: string, read: SamplesRead): void {
  if (read.problems.length === 0) return;
  const shown = read.problems.slice(0, 10).map((p) => `  ${path}:${p.line}: ${p.message}`).join('\n');
  const more = read.problems.length > 10 ? `\n  ... and ${read.problems.length - 10} more` : '';
  throw new UserError(`${read.problems.length} bad record(s) in ${path}:\n${shown}${more}`);
}

export type TrajectoryLine = TrajectoryRecord & { line: number };

/**
 * Read a trajectories file (an empty map when it does not exist). With `vocabSize`, every token id
 * must lie in [0, vocabSize): a bad id is reported here, with its line, rather than deep inside a
 * forward pass.
 */
export function readTrajectories(path: string, vocabSize?: number): Map<number, TrajectoryLine> {
  const out = new Map<number, TrajectoryLine>();
  if (!existsSync(path)) return out;
  const read = readJsonl<TrajectoryRecord>(path, 'trajectories file');
  if (read.problems.length > 0) {
    throw new UserError(`${path}:${read.problems[0]!.line}: not valid JSON (${read.problems[0]!.message})`);
  }
  const torn = tornInputMessage(read);
  if (torn) throw new UserError(`${path}:${read.tornLine}: ${torn}`);
  for (const { line, value } of read.records) {
    if (typeof value !== 'object' || value === null || !Number.isInteger(value.index) || !isIntArray(value.prompt_token_ids) || !isIntArray(value.generated_token_ids)) {
      throw new UserError(`${path}:${line}: a trajectory needs an integer "index" and integer lists "prompt_token_ids" and "generated_token_ids"`);
    }
    if (vocabSize !== undefined) {
      for (const field of ['prompt_token_ids', 'generated_token_ids'] as const) {
        const bad = value[field].find((t) => t < 0 || t >= vocabSize);
        if (bad !== undefined) throw new UserError(`${path}:${line}: "${field}" holds token id ${bad}, outside the model's vocabulary [0, ${vocabSize})`);
      }
    }
    const seen = out.get(value.index);
    if (seen) throw new UserError(`${path}:${line}: trajectory index ${value.index} was already given on line ${seen.line}`);
    out.set(value.index, { ...value, line });
  }
  return out;
}
