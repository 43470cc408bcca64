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
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadModel } from '../model/load.js';
import { generate, type TokenChooser } from '../model/generate.js';
import { createLoraAdapter } from '../model/lora.js';
import type { LoraRunSettings } from '../train/train-lora.js';
import { saveAdapter } from '../model/adapter-dir.js';
import { Trainer, type StepData } from '../train/trainer.js';
import { HF_ADAMW_DEFAULTS } from '../train/adamw.js';
import { runTraining } from '../train/loop.js';
import { completionSequence } from '../train/completion.js';
import type { GoldQuestion } from '../eval/grade.js';
import { buildMessages, resolvePrompt } from '../eval/prompts.js';
import { extractAnswer } from '../eval/extract.js';
import { isEquivalent } from '../eval/equivalence.js';
import { JsonlAppender, readJsonl } from '../util/jsonl.js';
import { readJsonFile, writeJsonAtomic } from '../util/fsx.js';
import { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';

export interface SftSettings extends LoraRunSettings {
  samplesPerQuestion: number;
  temperature: number;
  maxNewTokens: number;
  /** Sequences decoded together; also the chunk size that makes resumed sampling identical. */
  genBatchSize: number;
  prompt: string;
  /** Drop repeated identical correct completions of one question. */
  dedupe: boolean;
}

export interface SftJob extends SftSettings {
  model: string;
  questions: GoldQuestion[];
  inputPath: string;
  out: string;
  resume: boolean;
  onProgress?: ProgressCallback;
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
  /** Tuned tokens: supervised completion tokens trained (counted per step, so repeated epochs count again). */
  tunedTokens: number;
  forwardTokens: number;
  steps: number;
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
  const t0 = performance.now();
  if (!(job.temperature > 0)) throw new UserError(`--temperature must be > 0 for rejection sampling, got ${job.temperature}`);
  if (!Number.isInteger(job.samplesPerQuestion) || job.samplesPerQuestion < 1) throw new UserError(`--samples-per-question must be a positive integer, got ${job.samplesPerQuestion}`);
  if (job.questions.length === 0) throw new UserError(`${job.inputPath}: no questions`);
  mkdirSync(job.out, { recursive: true });
  const lm = await loadModel(job.model);
  const preset = resolvePrompt(job.prompt);

  // Stage A: rejection sampling, resumable per chunk of questions.
  const manifestPath = join(job.out, 'sft_manifest.json');
  const manifest = {
    model: lm.fingerprint, input: resolve(job.inputPath), samplesPerQuestion: job.samplesPerQuestion, temperature: job.temperature,
    maxNewTokens: job.maxNewTokens, genBatchSize: job.genBatchSize, prompt: job.prompt, seed: job.seed, questions: job.questions.length,
  };
  if (existsSync(manifestPath)) {
    const have = readJsonFile<typeof manifest>(manifestPath, 'SFT manifest');
    if (JSON.stringify(have) !== JSON.stringify(manifest)) {
      throw new UserError(`${job.out} holds an SFT run with other sampling settings (${manifestPath}); use the original arguments or a new --out`);
    }
  } else if (existsSync(join(job.out, 'sft_samples.jsonl')) && !job.resume) {
    throw new UserError(`${job.out} already holds SFT samples; pass --resume or choose a new --out`);
  }
  writeJsonAtomic(manifestPath, manifest);
  const samplesPath = join(job.out, 'sft_samples.jsonl');
  const done = new Map<number, SftSampleLine>();
  if (existsSync(samplesPath)) for (const r of readJsonl<SftSampleLine>(samplesPath, 'SFT samples').records) done.set(r.value.index, r.value);
  const appender = new JsonlAppender(samplesPath);
  const tS = performance.now();
  const K = job.samplesPerQuestion, B = job.genBatchSize;
  try {
    for (let c0 = 0; c0 < job.questions.length; c0 += B) {
      const chunk = job.questions.slice(c0, c0 + B).map((q, k) => ({ q, index: c0 + k }));
      if (chunk.every(({ index }) => done.has(index))) continue;
      const prompts = chunk.map(({ q }) => (q.prompt !== undefined ? lm.tokenizer.encode(q.prompt) : lm.tokenizer.encodeChat(buildMessages(preset, q.question!), { addGenerationPrompt: true })));
      const rng = new Rng((job.seed * 1_000_003 + c0) >>> 0);
      const gens = generate([lm.model], prompts.flatMap((p) => Array.from({ length: K }, () => p)), {
        maxNewTokens: job.maxNewTokens, stopIds: lm.stopIds, batchSize: B * K, choose: temperatureChooser(job.temperature, rng),
      });
      const lines: SftSampleLine[] = [];
      chunk.forEach(({ q, index }, k) => {
        if (done.has(index)) return;
        const sampled = gens.slice(k * K, (k + 1) * K);
        const answers = sampled.map((g) => (g.finish === 'stop' ? extractAnswer(lm.tokenizer.decode(g.tokens, { skipSpecialTokens: true })).answer : null));
        const { kept, correct } = keepCorrect(sampled.map((g) => g.tokens), answers, q.gold, job.dedupe);
        const line = { index, id: q.id, prompt_token_ids: prompts[k]!, kept, answers, sampled: K, correct };
        lines.push(line);
        done.set(index, line);
      });
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

  // Stage B: LoRA on the kept trajectories, cross-entropy on completion tokens.
  const model = lm.model;
  model.adapter = createLoraAdapter(model, job.lora, job.seed);
  const trainer = new Trainer(model, {
    what: 'lora', lr: job.lr, schedule: job.schedule, warmupSteps: job.warmupSteps, maxSteps: job.maxSteps, maxGradNorm: job.maxGradNorm,
    adam: { ...HF_ADAMW_DEFAULTS, weightDecay: job.weightDecay }, seed: job.seed,
  });
  const n = trajectories.length;
  let cache: { epoch: number; order: number[] } | null = null;
  const data = (step: number): StepData => {
    const out: StepData = [];
    for (let m = 0; m < job.gradAccum; m++) {
      const mb = [];
      for (let j = 0; j < job.batchSize; j++) {
        const k = (step * job.gradAccum + m) * job.batchSize + j;
        const epoch = Math.floor(k / n);
        if (!cache || cache.epoch !== epoch) cache = { epoch, order: new Rng((job.seed * 7919 + epoch * 104729) >>> 0).shuffle(Array.from({ length: n }, (_, i) => i)) };
        mb.push(trajectories[cache.order[k % n]!]!);
      }
      out.push(mb);
    }
    return out;
  };
  const adapter = model.adapter;
  const loop = runTraining(trainer, data, {
    outDir: job.out, maxSteps: job.maxSteps, saveSteps: job.saveSteps, resume: job.resume, stage: 'sft train',
    fingerprint: { ...manifest, trajectories: n, lora: job.lora, lr: job.lr, batchSize: job.batchSize, gradAccum: job.gradAccum, maxSteps: job.maxSteps, warmup: job.warmupSteps, schedule: job.schedule, weightDecay: job.weightDecay, maxGradNorm: job.maxGradNorm, dedupe: job.dedupe },
    writeArtifact: (dir) => saveAdapter(dir, adapter, { baseModel: resolve(job.model), extra: { method: 'rejection-sampling SFT', samples_per_question: K, temperature: job.temperature, kept_trajectories: n } }),
    ...(job.onProgress ? { onProgress: job.onProgress } : {}),
  });
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const report: SftReport = {
    out: job.out,
    sampledProblems: all.length,
    sampledCompletions: all.reduce((a, l) => a + l.sampled, 0),
    correctCompletions: all.reduce((a, l) => a + l.correct, 0),
    keptTrajectories: n,
    problemsWithData: all.filter((l) => l.kept.length > 0).length,
    tunedTokens: loop.targets,
    forwardTokens: loop.tokens,
    steps: loop.steps.length,
    firstLoss: mean(loop.steps.slice(0, 10).map((s) => s.loss)),
    lastLoss: mean(loop.steps.slice(-10).map((s) => s.loss)),
    samplingSeconds,
    trainingSeconds: loop.seconds,
    seconds: (performance.now() - t0) / 1000,
  };
  writeJsonAtomic(join(job.out, 'sft_report.json'), report);
  return report;
}
