/**
 * Stage 2's training set: every kept step of a samples file as (token sequence, target position,
 * soft label), checked against the model before any compute.
 *
 * Two input formats:
 *  - ours: a record names its trajectory, whose exact ids (prompt_token_ids + generated_token_ids)
 *    are in the trajectories file beside the samples; the record's input is
 *    prompt + generated[0..step) and its target is the distribution at the last of those tokens.
 *  - the reference's text-only records (no "trajectory", or no trajectories file): the input has to
 *    be rebuilt by tokenising text — chat template(system prompt, question = prompt_id) followed by
 *    the prefix. The Expert generated ids, not text, and decoding then encoding need not give the
 *    same ids back, so this path is reported with a warning and with how many records visibly
 *    disagree (their prefix re-tokenises to a token count other than their step index).
 *    The prompt and the prefix are encoded separately and concatenated, as the Expert saw them
 *    during generation (prompt ids, then its own tokens); the reference tokenises their
 *    concatenated text, which can merge characters across the boundary (e.g. "\n" + "\n").
 *
 * Records of one trajectory share a sequence (packing in src/train/batches.ts): ours by
 * construction, text-only records of one prompt_id when their token ids are prefixes of one another.
 * A record longer than the context window is refused, or with `maxLength` cut from the left so
 * that the target position stays the last token (it then gets a sequence of its own).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { KeptStep } from './batches.js';
import { readSamples, readTrajectories, requireValidSamples, trajectoriesPath, type SampleProblem, type TrajectoryLine } from '../method/samples.js';
import type { HfTokenizer } from '../tokenizer/index.js';
import { UserError } from '../util/errors.js';

export interface TrainingSetOptions {
  /** The model's output vocabulary (config vocab_size): token ids and label ids must lie below it. */
  vocabSize: number;
  /** The model's context window (max_position_embeddings). */
  contextWindow: number;
  /** Cut longer inputs from the left to this many tokens instead of refusing them. */
  maxLength?: number;
  /** Tokenizer of the model, for text-only records. */
  tokenizer: HfTokenizer;
  /** System prompt of the chat template, for text-only records. */
  systemPrompt: string;
}

export interface TrainingSetStats {
  records: number;
  /** Records whose input ids come from the trajectories file. */
  exactRecords: number;
  /** Records whose input was re-tokenised from text. */
  retokenisedRecords: number;
  /** Re-tokenised records whose prefix gave a token count other than their step: ids differ from the Expert's. */
  retokenisedMismatches: number;
  /** Records cut from the left to maxLength. */
  truncatedRecords: number;
  /** Distinct token sequences records are trained on (packing groups). */
  sequences: number;
  /** Σ over sequences of the longest input any of its records needs: forward tokens of one packed epoch. */
  packedTokens: number;
  /** Σ over records of their input length: forward tokens of one unpacked epoch. */
  unpackedTokens: number;
  longestInput: number;
}

export interface TrainingSet {
  /** Token ids of each sequence, by group. */
  sequences: Map<number, Int32Array>;
  /** One per record, in file order. */
  steps: KeptStep[];
  /** Samples-file line of each step. */
  lines: number[];
  stats: TrainingSetStats;
  warnings: string[];
  /** sha256 of exactly what is trained on (sequences and targets), for resume checks. */
  fingerprint: string;
  /** The trajectories file that was read, or null. */
  trajectoriesFile: string | null;
}

/** Read and check `samplesPath` (and its trajectories file) for a model; throws UserError naming file and line. */
export function loadTrainingSet(samplesPath: string, o: TrainingSetOptions): TrainingSet {
  if (o.maxLength !== undefined && (!Number.isInteger(o.maxLength) || o.maxLength < 1)) throw new UserError(`--max-length must be a positive integer, got ${o.maxLength}`);
  if (o.maxLength !== undefined && o.maxLength > o.contextWindow) {
    throw new UserError(`--max-length ${o.maxLength} exceeds the model's context window (max_position_embeddings ${o.contextWindow})`);
  }
  const read = readSamples(samplesPath, o.vocabSize);
  requireValidSamples(samplesPath, read);
  if (read.samples.length === 0) throw new UserError(`${samplesPath}: no samples to train on`);
  const trajPath = trajectoriesPath(samplesPath);
  const haveTrajectories = existsSync(trajPath);
  const trajectories = haveTrajectories ? readTrajectories(trajPath, o.vocabSize) : new Map<number, TrajectoryLine>();

  const problems: SampleProblem[] = [];
  const warnings: string[] = [];
  /** Full input ids of each record (before truncation), by its index in read.samples. */
  const inputs: Array<{ group: string; ids: Int32Array; length: number }> = [];
  const textOnly: number[] = [];
  const trajSeqs = new Map<number, Int32Array>();

  read.samples.forEach((s, i) => {
    if (s.trajectory === undefined || !haveTrajectories) {
      textOnly.push(i);
      inputs.push({ group: '', ids: new Int32Array(0), length: 0 });
      return;
    }
    const t = trajectories.get(s.trajectory);
    const bad = (message: string): void => {
      problems.push({ line: s.line, message });
      inputs.push({ group: '', ids: new Int32Array(0), length: 0 });
    };
    if (!t) return bad(`refers to trajectory ${s.trajectory}, which ${trajPath} does not hold`);
    if (s.prompt_id !== t.question) return bad(`"prompt_id" differs from the question of trajectory ${s.trajectory} (${trajPath}:${t.line}); are the two files from the same run?`);
    if (s.id !== undefined && s.id !== t.id) return bad(`"id" is ${JSON.stringify(s.id)} but trajectory ${s.trajectory} (${trajPath}:${t.line}) is question ${JSON.stringify(t.id)}`);
    if (s.step > t.generated_token_ids.length) return bad(`"step" is ${s.step} but trajectory ${s.trajectory} (${trajPath}:${t.line}) has only ${t.generated_token_ids.length} generated tokens`);
    const length = t.prompt_token_ids.length + s.step;
    if (length === 0) return bad('the input is empty (no prompt tokens and step 0): there is no position to train');
    let seq = trajSeqs.get(s.trajectory);
    if (!seq) trajSeqs.set(s.trajectory, (seq = Int32Array.from([...t.prompt_token_ids, ...t.generated_token_ids])));
    inputs.push({ group: `t${s.trajectory}`, ids: seq, length });
  });

  let mismatches = 0;
  if (textOnly.length > 0) {
    const why = haveTrajectories ? `${textOnly.length} record(s) have no "trajectory" field` : `there is no trajectories file (${trajPath})`;
    warnings.push(`${samplesPath}: ${why}, so their inputs are re-tokenised from text (chat template with system prompt ${JSON.stringify(o.systemPrompt)} and the question from "prompt_id", then "prefix"). `
      + 'This is unavoidable for text-only samples and may give ids other than those the Expert generated; samples written by lightreasoner sample with their trajectories file train on the exact ids.');
    const promptIds = new Map<string, number[]>();
    // Records of one question whose token ids extend one another share a sequence; each new
    // sequence is seeded by the longest remaining record, so shorter ones can join it.
    const byQuestion = new Map<string, Array<{ i: number; ids: number[] }>>();
    for (const i of textOnly) {
      const s = read.samples[i]!;
      let p = promptIds.get(s.prompt_id);
      if (!p) {
        p = o.tokenizer.encodeChat([...(o.systemPrompt ? [{ role: 'system', content: o.systemPrompt }] : []), { role: 'user', content: s.prompt_id }], { addGenerationPrompt: true });
        promptIds.set(s.prompt_id, p);
      }
      const prefix = s.prefix === '' ? [] : o.tokenizer.encode(s.prefix, { addSpecialTokens: false });
      if (prefix.length !== s.step) mismatches++;
      const ids = [...p, ...prefix];
      const badId = ids.find((t) => t >= o.vocabSize);
      if (badId !== undefined) {
        problems.push({ line: s.line, message: `re-tokenising gives token id ${badId}, outside the model's vocabulary [0, ${o.vocabSize}); is the tokenizer the model's?` });
        continue;
      }
      if (ids.length === 0) {
        problems.push({ line: s.line, message: 'the re-tokenised input is empty: there is no position to train' });
        continue;
      }
      let list = byQuestion.get(s.prompt_id);
      if (!list) byQuestion.set(s.prompt_id, (list = []));
      list.push({ i, ids });
    }
    let q = 0;
    for (const list of byQuestion.values()) {
      list.sort((a, b) => b.ids.length - a.ids.length || a.i - b.i);
      const seqs: Int32Array[] = [];
      for (const r of list) {
        let k = seqs.findIndex((seq) => r.ids.every((t, j) => seq[j] === t));
        if (k < 0) {
          k = seqs.length;
          seqs.push(Int32Array.from(r.ids));
        }
        inputs[r.i] = { group: `q${q}.${k}`, ids: seqs[k]!, length: r.ids.length };
      }
      q++;
    }
    if (mismatches > 0) {
      warnings.push(`${mismatches} of ${textOnly.length} re-tokenised record(s) have a prefix whose token count differs from their "step": for those at least, the training input is not the Expert's token sequence`);
    }
  }

  const limit = o.maxLength ?? o.contextWindow;
  if (o.maxLength === undefined) {
    read.samples.forEach((s, i) => {
      const len = inputs[i]!.length;
      if (len > limit) problems.push({ line: s.line, message: `the input is ${len} tokens, beyond the model's context window (max_position_embeddings ${limit}); pass --max-length N to cut inputs from the left (the target position is always kept)` });
    });
  }
  requireValidSamples(samplesPath, { samples: [], problems: problems.sort((a, b) => a.line - b.line) });

  // Number groups by first appearance, so the set is a function of the files alone.
  const groupIds = new Map<string, number>();
  const sequences = new Map<number, Int32Array>();
  const steps: KeptStep[] = [];
  let truncated = 0, unpackedTokens = 0, longest = 0;
  read.samples.forEach((s, i) => {
    const inp = inputs[i]!;
    let key = inp.group, length = inp.length, ids = inp.ids;
    if (length > limit) {
      // Keep the last `limit` tokens: the target position stays the last one.
      ids = ids.subarray(length - limit, length);
      key = `cut${i}`;
      length = limit;
      truncated++;
    }
    let g = groupIds.get(key);
    if (g === undefined) {
      groupIds.set(key, (g = groupIds.size));
      sequences.set(g, ids);
    }
    steps.push({ group: g, length, ids: s.token_ids, weights: s.weights });
    unpackedTokens += length;
    longest = Math.max(longest, length);
  });
  if (truncated > 0) warnings.push(`${truncated} record(s) are longer than --max-length ${limit} tokens and were cut from the left (their target position kept)`);

  const needed = new Map<number, number>();
  for (const st of steps) needed.set(st.group, Math.max(needed.get(st.group) ?? 0, st.length));
  // Trim sequences to what their records use: nothing beyond the last target is ever run.
  for (const [g, n] of needed) sequences.set(g, sequences.get(g)!.subarray(0, n));
  const packedTokens = [...needed.values()].reduce((a, b) => a + b, 0);

  return {
    sequences,
    steps,
    lines: read.samples.map((s) => s.line),
    stats: {
      records: steps.length, exactRecords: steps.length - textOnly.length, retokenisedRecords: textOnly.length, retokenisedMismatches: mismatches,
      truncatedRecords: truncated, sequences: sequences.size, packedTokens, unpackedTokens, longestInput: longest,
    },
    warnings,
    fingerprint: fingerprintOf(sequences, steps),
    trajectoriesFile: haveTrajectories ? trajPath : null,
  };
}

function fingerprintOf(sequences: Map<number, Int32Array>, steps: KeptStep[]): string {
  const h = createHash('sha256');
  for (const [g, seq] of [...sequences].sort((a, b) => a[0] - b[0])) {
    h.update(`${g}:${seq.length}:`);
    h.update(new Uint8Array(seq.buffer, seq.byteOffset, seq.byteLength));
  }
  for (const s of steps) h.update(JSON.stringify([s.group, s.length, s.ids, s.weights]));
  return `sha256:${h.digest('hex').slice(0, 32)}`;
}
