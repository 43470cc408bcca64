/**
 * Rejection-sampling SFT, the fine-tuning baseline of the paper: sample K solutions per training
 * question from the model itself (temperature T), keep those whose extracted answer matches the
 * gold (this baseline uses labels; LightReasoner does not), and LoRA-tune on the full kept
 * trajectories with token-level cross-entropy on the completion tokens. Same LoRA configuration,
 * optimiser, checkpoints and resume as `train`.
 *
 * Files in --out: sft_samples.jsonl (one line per question: prompt ids and its correct completions,
 * appended per chunk so a killed run continues), the adapter (PEFT layout), training_log.jsonl,
 * checkpoints/ and sft_report.json.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadModel, modelFingerprint } from '../model/load.js';
import { resolveModelDir } from '../model/resolve.js';
import { generate, type TokenChooser } from '../model/generate.js';
import { checkLoraRunSettings, runLoraTraining, type LoraRunSettings } from '../train/train-lora.js';
import { epochBatches } from '../train/epoch-batches.js';
import { checkTrainingOutDir, fingerprintLabel } from '../train/loop.js';
import { completionSequence } from '../train/completion.js';
import { promptTooLong, type GoldQuestion } from '../data/questions.js';
import { buildMessages, resolvePrompt } from '../data/prompts.js';
import { extractAnswer } from '../data/extract.js';
import { isEquivalent } from '../data/equivalence.js';
import { readJsonl } from '../util/jsonl.js';
import { writeJsonAtomic } from '../util/fsx.js';
import { defaultWarn, fingerprintDifferences, openAppendLog, readManifest, withRunLock, writeManifest, type RunLock } from '../util/run-dir.js';
import { Rng } from '../util/rng.js';
import { UserError, describeValue } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';
import { lossWindows } from '../train/loss-windows.js';

export interface SftSettings extends LoraRunSettings {
  samplesPerQuestion: number;
  temperature: number;
  maxNewTokens: number;
  /** Questions per sampling chunk: each chunk has its own random stream, so this fixes the samples. */
  genBatchSize: number;
  /**
   * Chunks decoded together in one batch (each with its own stream, so the samples are the same at
   * any value): more is faster until memory runs out, since every sequence holds a KV cache.
   */
  decodeChunks: number;
  prompt: string;
  /** Drop repeated identical correct completions of one question. */
  dedupe: boolean;
}

/** The defaults of the settings SFT adds to the LoRA run's (DEFAULT_TRAIN_SETTINGS): K = 4 samples at T = 0.7. */
export const DEFAULT_SFT_SETTINGS: Readonly<Omit<SftSettings, keyof LoraRunSettings>> = {
  samplesPerQuestion: 4, temperature: 0.7, maxNewTokens: 512, genBatchSize: 8, decodeChunks: 1, prompt: 'qwen25-math-cot', dedupe: true,
};

export interface SftJob extends SftSettings {
  model: string;
  questions: GoldQuestion[];
  inputPath: string;
  out: string;
  /** Accepted for compatibility: a matching run in `out` is always continued. */
  resume?: boolean;
  onProgress?: ProgressCallback;
  /** Notices (repaired files), default stderr. */
  onWarning?: (message: string) => void;
  /** The lock on `out` when the caller took it already. */
  lock?: RunLock;
}


interface SftSampleLine {
  index: number;
  id: string;
  prompt_token_ids: number[];
  /** Correct completions (token ids, stop token included). */
  kept: number[][];
  /** The answer extracted from each sampled completion (null: none, or the completion did not finish). */
  answers: Array<string | null>;
  sampled: number;
  correct: number;
}

export interface SftReport {
  out: string;
  sampledProblems: number;
  sampledCompletions: number;
  correctCompletions: number;
  keptTrajectories: number;
  /** Problems with at least one kept trajectory. */
  problemsWithData: number;
  /** Tuned tokens: supervised completion tokens trained over the whole run, resumes included (counted per step, so repeated epochs count again). */
  tunedTokens: number;
  /** Tokens through forward and backward over the whole run. */
  forwardTokens: number;
  /** Steps run by this process (0 when the run had already finished). */
  steps: number;
  /** Mean loss of the first and the last lossWindow steps of the whole run (src/train/loss-windows.ts). */
  lossWindow: number;
  firstLoss: number;
  lastLoss: number;
  samplingSeconds: number;
  trainingSeconds: number;
  seconds: number;
}

/** Sample from softmax(logits / T) with a seeded stream. */
export function temperatureChooser(temperature: number, rng: Rng): TokenChooser {
  return (logits, offsets, V) => {
    const z = logits[0]!, off = offsets[0]!;
    let max = -Infinity;
    for (let i = 0; i < V; i++) max = Math.max(max, z[off + i]!);
    let sum = 0;
    const p = new Float64Array(V);
    for (let i = 0; i < V; i++) sum += (p[i] = Math.exp((z[off + i]! - max) / temperature));
    let u = rng.next() * sum;
    for (let i = 0; i < V; i++) {
      u -= p[i]!;
      if (u <= 0) return i;
    }
    return V - 1;
  };
}

/**
 * The rejection step: completions whose answer (null for an unfinished one) matches the gold, in
 * sampling order, without repeats when `dedupe`.
 */
export function keepCorrect(completions: number[][], answers: Array<string | null>, gold: string, dedupe: boolean): { kept: number[][]; correct: number } {
  const seen = new Set<string>();
  const kept: number[][] = [];
  let correct = 0;
  completions.forEach((tokens, j) => {
    if (answers[j] === null || !isEquivalent(answers[j]!, gold)) return;
    correct++;
    const key = tokens.join(',');
    if (dedupe && seen.has(key)) return;
    seen.add(key);
    kept.push(tokens);
  });
  return { kept, correct };
}

export async function runRejectionSft(job: SftJob): Promise<SftReport> {
  if (!(job.temperature > 0)) throw new UserError(`--temperature must be > 0 for rejection sampling, got ${job.temperature}`);
  for (const [flag, v] of [['--samples-per-question', job.samplesPerQuestion], ['--gen-batch-size', job.genBatchSize], ['--decode-chunks', job.decodeChunks]] as const) {
    // Zero would never advance the sampling loop.
    if (!Number.isInteger(v) || v < 1) throw new UserError(`${flag} must be a positive integer, got ${v}`);
  }
  if (job.questions.length === 0) throw new UserError(`${job.inputPath}: no questions`);
  // The training settings too, before minutes of sampling: the LoRA run checks nothing earlier.
  checkLoraRunSettings(job);
  // One writer per SFT directory, taken before the model loads.
  return withRunLock(job.out, 'dir', job.lock, () => sftLocked(job));
}

async function sftLocked(job: SftJob): Promise<SftReport> {
  const t0 = performance.now();
  const warn = job.onWarning ?? defaultWarn;
  // Stage A: rejection sampling, resumable per chunk of questions. The model reference (directory
  // or Hub id) becomes a directory once, before the manifest fingerprints it.
  const modelDir = await resolveModelDir(job.model, job.onProgress ? { onProgress: job.onProgress } : {});
  const manifestPath = join(job.out, 'sft_manifest.json');
  const manifest = {
    model: modelFingerprint(modelDir), input: resolve(job.inputPath), samplesPerQuestion: job.samplesPerQuestion, temperature: job.temperature,
    maxNewTokens: job.maxNewTokens, genBatchSize: job.genBatchSize, prompt: job.prompt, seed: job.seed, questions: job.questions.length,
  };
  const have = readManifest<Record<string, unknown>>(manifestPath, 'SFT manifest');
  if (have) {
    const diffs = fingerprintDifferences(have, manifest, fingerprintLabel);
    if (diffs.length > 0) throw new UserError(`${job.out} holds an SFT run with other sampling settings (${diffs.join('; ')}; see ${manifestPath}); run again with the original arguments, or use a new --out`);
  } else {
    checkTrainingOutDir(job.out);
  }
  const lm = await loadModel(modelDir);
  const preset = resolvePrompt(job.prompt);
  // A question far beyond the context window is refused before anything is sampled, and before it
  // is tokenized whole (promptTooLong measures a prefix): generation would stop on it halfway.
  for (const q of job.questions) {
    const tooLong = promptTooLong(q.prompt ?? q.question!, lm.tokenizer, lm.config.maxPositionEmbeddings);
    if (tooLong !== null) throw new UserError(`${job.inputPath}:${q.line}: question ${describeValue(q.id)} does not fit ${job.model}'s context: ${tooLong}; remove it from the input`);
  }
  writeManifest(manifestPath, manifest);
  const samplesPath = join(job.out, 'sft_samples.jsonl');
  const done = new Map<number, SftSampleLine>();
  if (existsSync(samplesPath)) for (const r of readJsonl<SftSampleLine>(samplesPath, 'SFT samples').records) done.set(r.value.index, r.value);
  const appender = openAppendLog(samplesPath, warn);
  const tS = performance.now();
  const K = job.samplesPerQuestion, B = job.genBatchSize;
  try {
    // Chunks of B questions (K samples each) not finished yet, decoded `decodeChunks` at a time.
    const pending: number[] = [];
    for (let c0 = 0; c0 < job.questions.length; c0 += B) {
      const indices = Array.from({ length: Math.min(B, job.questions.length - c0) }, (_, k) => c0 + k);
      if (!indices.every((index) => done.has(index))) pending.push(c0);
    }
    for (let g = 0; g < pending.length; g += job.decodeChunks) {
      const chunks = pending.slice(g, g + job.decodeChunks).map((c0) => {
        const questions = job.questions.slice(c0, c0 + B).map((q, k) => ({ q, index: c0 + k }));
        const prompts = questions.map(({ q }) => (q.prompt !== undefined ? lm.tokenizer.encode(q.prompt) : lm.tokenizer.encodeChat(buildMessages(preset, q.question!), { addGenerationPrompt: true })));
        return { questions, prompts, choose: temperatureChooser(job.temperature, new Rng((job.seed * 1_000_003 + c0) >>> 0)) };
      });
      // Every sequence has a slot, and each chunk's chooser sees its own sequences in their order.
      const owner: number[] = chunks.flatMap((c, i) => Array.from({ length: c.prompts.length * K }, () => i));
      const sequences = chunks.flatMap((c) => c.prompts.flatMap((p) => Array.from({ length: K }, () => p)));
      const gens = generate([lm.model], sequences, {
        maxNewTokens: job.maxNewTokens, stopIds: lm.stopIds, batchSize: sequences.length,
        choose: (logits, offsets, V, index) => chunks[owner[index]!]!.choose(logits, offsets, V, index),
      });
      const lines: SftSampleLine[] = [];
      let first = 0;
      for (const { questions, prompts } of chunks) {
        questions.forEach(({ q, index }, k) => {
          if (done.has(index)) return;
          const sampled = gens.slice(first + k * K, first + (k + 1) * K);
          const answers = sampled.map((s) => (s.finish === 'stop' ? extractAnswer(lm.tokenizer.decode(s.tokens, { skipSpecialTokens: true })).answer : null));
          const { kept, correct } = keepCorrect(sampled.map((s) => s.tokens), answers, q.gold, job.dedupe);
          const line = { index, id: q.id, prompt_token_ids: prompts[k]!, kept, answers, sampled: K, correct };
          lines.push(line);
          done.set(index, line);
        });
        first += prompts.length * K;
      }
      appender.appendMany(lines);
      job.onProgress?.({ stage: 'sft sample', done: done.size, total: job.questions.length, unit: 'questions' });
    }
  } finally {
    appender.close();
  }
  const samplingSeconds = (performance.now() - tS) / 1000;
  const all = [...done.values()].sort((a, b) => a.index - b.index);
  const trajectories = all.flatMap((l) => l.kept.map((c) => completionSequence({ prompt: l.prompt_token_ids, completion: c })));
  if (trajectories.length === 0) throw new UserError(`rejection sampling kept no correct solution out of ${all.length * K}; raise --samples-per-question or --temperature, or the model cannot solve these questions`);

  // Stage B: LoRA on the kept trajectories, cross-entropy on completion tokens: the LoRA training
  // job of `train`, on SFT's own data order (epochs of shuffled trajectories).
  const n = trajectories.length;
  const data = epochBatches({
    count: n, batchSize: job.batchSize, gradAccum: job.gradAccum, epochSeed: (epoch) => (job.seed * 7919 + epoch * 104729) >>> 0, sequence: (i) => trajectories[i]!,
  });
  const loop = runLoraTraining({
    model: lm.model, settings: job, data, out: job.out, stage: 'sft train',
    fingerprint: { ...manifest, trajectories: n, lora: job.lora, lr: job.lr, batchSize: job.batchSize, gradAccum: job.gradAccum, warmup: job.warmupSteps, schedule: job.schedule, weightDecay: job.weightDecay, maxGradNorm: job.maxGradNorm, dedupe: job.dedupe },
    baseModel: resolve(modelDir), adapterExtra: { method: 'rejection-sampling SFT', samples_per_question: K, temperature: job.temperature, kept_trajectories: n },
    onWarning: warn,
    ...(job.onProgress ? { onProgress: job.onProgress } : {}),
  });
  const report: SftReport = {
    out: job.out,
    sampledProblems: all.length,
    sampledCompletions: all.reduce((a, l) => a + l.sampled, 0),
    correctCompletions: all.reduce((a, l) => a + l.correct, 0),
    keptTrajectories: n,
    problemsWithData: all.filter((l) => l.kept.length > 0).length,
    tunedTokens: loop.run.targets,
    forwardTokens: loop.run.tokens,
    steps: loop.steps.length,
    ...lossWindows(loop.run.losses),
    samplingSeconds,
    trainingSeconds: loop.seconds,
    seconds: (performance.now() - t0) / 1000,
  };
  writeJsonAtomic(join(job.out, 'sft_report.json'), report);
  return report;
}
