/**
 * Our side of each row: the work of a RowSpec on the TypeScript engine, prepared once, returned as
 * a function that runs one repetition and times it.
 */
import { performance } from 'node:perf_hooks';
import { EngineBackend } from '../../src/backends/engine.js';
import { timeGeneration, timeScoring } from '../../src/backends/bench.js';
import { scoreTrajectory } from '../../src/method/trajectory.js';
import { sgemm } from '../../src/engine/blas.js';
import { logSoftmaxRow, softTargetLoss } from '../../src/engine/ops/loss.js';
import { stepBatches, type KeptStep } from '../../src/train/batches.js';
import { parseConfig } from '../../src/model/config.js';
import { generateGreedy, type Generation } from '../../src/model/generate.js';
import { initParams } from '../../src/model/init.js';
import { createLoraAdapter } from '../../src/model/lora.js';
import { LINEAR_NAMES } from '../../src/model/params.js';
import { Transformer, allocGrads, packSequences, type ModelGrads } from '../../src/model/transformer.js';
import { HF_ADAMW_DEFAULTS } from '../../src/train/adamw.js';
import { Trainer, type StepData, type TrainSequence } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { benchLoraConfig, benchPrompts, lightReasonerPlan, type RowSpec, type Sample } from './spec.js';

export type Runner = () => Sample | Promise<Sample>;

/** Seed of the bench model's weights: every side that rebuilds the model from its config uses it (llama-baseline.ts). */
export const BENCH_MODEL_SEED = 1;

/** A model with transformers' initialisation (the values do not change the work). */
export function benchModel(hfConfig: Record<string, unknown>, seed = BENCH_MODEL_SEED): Transformer {
  const config = parseConfig(hfConfig, 'bench model config');
  return new Transformer(config, initParams(config, seed));
}

function randomTokens(vocab: number, n: number, rng: Rng): number[] {
  return Array.from({ length: n }, () => rng.int(vocab));
}

function zeroGrads(g: ModelGrads): void {
  g.embed?.fill(0);
  g.finalNorm?.fill(0);
  g.lmHead?.fill(0);
  for (const L of g.layers) {
    L.inputNorm?.fill(0);
    L.postAttentionNorm?.fill(0);
    for (const n of LINEAR_NAMES) {
      L[n].weight?.fill(0);
      L[n].bias?.fill(0);
    }
  }
}

function timed(work: () => number): Sample {
  const t0 = performance.now();
  const units = work();
  return { seconds: (performance.now() - t0) / 1000, units };
}

type TrainSpec = Extract<RowSpec, { kind: 'train-lightreasoner' }>;

/**
 * The optimiser steps of a train-lightreasoner row, per repetition window: the records in their
 * listed order cut into windows of `recordsPerRepetition`, each into steps of R = batch × gradAccum
 * records (a window's last step may have fewer), micro-batches built by src/train/batches.ts
 * stepBatches, as training builds them (`pack` true: one sequence per trajectory of the step, up
 * to its longest record; false: one sequence per record).
 */
export function lightReasonerWindows(spec: TrainSpec, pack: boolean): StepData[][] {
  const steps: KeptStep[] = spec.records.map((r) => ({ group: r.trajectory, length: r.length, ids: r.ids, weights: r.weights }));
  const plan = { ...lightReasonerPlan(spec.trajectories, steps, spec), pack };
  const R = spec.batch * spec.gradAccum;
  const windows: StepData[][] = [];
  for (let w0 = 0; w0 < steps.length; w0 += spec.recordsPerRepetition) {
    const window = steps.slice(w0, w0 + spec.recordsPerRepetition);
    const out: StepData[] = [];
    for (let s0 = 0; s0 < window.length; s0 += R) {
      out.push(stepBatches(plan, window.slice(s0, s0 + R)));
    }
    windows.push(out);
  }
  return windows;
}

/** Tokens through forward and backward over all records: packed, one sequence per record, and one right-padded row per record (the per-record reference's batches). */
export function lightReasonerTokens(spec: TrainSpec): { packed: number; perRecord: number; perRecordPadded: number } {
  const micro = (pack: boolean): TrainSequence[][] => lightReasonerWindows(spec, pack).flat(2);
  const tokens = (mb: TrainSequence[]): number => mb.reduce((a, s) => a + s.ids.length, 0);
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const perRecord = micro(false);
  return {
    packed: sum(micro(true).map(tokens)),
    perRecord: sum(perRecord.map(tokens)),
    perRecordPadded: sum(perRecord.map((mb) => mb.length * Math.max(...mb.map((s) => s.ids.length)))),
  };
}

/** What the table should say under a row beyond its times, or null. */
export function rowNote(spec: RowSpec): string | null {
  if (spec.kind !== 'train-lightreasoner') return null;
  const t = lightReasonerTokens(spec);
  const k = 1000 / spec.records.length;
  return `${spec.records.length} records, ${spec.trajectories.length} trajectories, ${spec.recordsPerRepetition} per repetition; tokens through forward/backward per 1,000 records: packed ${Math.round(t.packed * k)}, per record ${Math.round(t.perRecord * k)} `
    + `(${Math.round(t.perRecordPadded * k)} with the reference's right padding); FLOP ratio packed/unpacked ${(t.packed / t.perRecord).toFixed(3)} `
    + `(${(t.packed / t.perRecordPadded).toFixed(3)} against the padded batches)`;
}

/** Our side of a row on `model` (the bench model): inputs built once, then one timed repetition per call; `makeModel` builds the row's other models (the sample row's Amateur). */
export function prepareOurs(spec: RowSpec, model: Transformer, makeModel: (hfConfig: Record<string, unknown>, seed: number) => Transformer = benchModel): Runner {
  const V = model.config.vocabSize;
  const rng = new Rng(spec.seed);
  switch (spec.kind) {
    case 'matmul': {
      const a = Float32Array.from({ length: spec.m * spec.k }, () => rng.normal());
      const b = Float32Array.from({ length: spec.n * spec.k }, () => rng.normal());
      const c = new Float32Array(spec.m * spec.n);
      return () => timed(() => {
        sgemm(false, true, spec.m, spec.n, spec.k, 1, a, 0, spec.k, b, 0, spec.k, 0, c, 0, spec.n);
        return 1;
      });
    }
    case 'train': {
      const seqs = Array.from({ length: spec.batch }, () => randomTokens(V, spec.seq, rng));
      const batch = packSequences(seqs);
      // Predict token i+1 at row i: every row but each sequence's last.
      const rows: number[] = [], next: number[] = [];
      seqs.forEach((s, b) => {
        for (let i = 0; i + 1 < s.length; i++) {
          rows.push(batch.seqStart[b]! + i);
          next.push(s[i + 1]!);
        }
      });
      const logitRows = Int32Array.from(rows);
      const P = rows.length;
      const grads = allocGrads(model, { full: true, lora: false });
      const one = [1];
      return () => timed(() => {
        zeroGrads(grads);
        const { logits, record } = model.forward(batch, { record: true, logitRows });
        const dLogits = new Float32Array(P * V);
        for (let p = 0; p < P; p++) softTargetLoss(logits, p * V, V, { ids: [next[p]!], weights: one }, 1 / P, dLogits);
        model.backward(record!, dLogits, grads);
        return batch.tokens.length;
      });
    }
    case 'score': {
      const batch = packSequences([randomTokens(V, spec.seq, rng)]);
      return () => timed(() => {
        const { logits } = model.forward(batch, { logitRows: 'all' });
        const logProbs = new Float32Array(logits.length); // [seq, vocab]
        for (let p = 0; p < spec.seq; p++) logSoftmaxRow(logits, p * V, V, logProbs, p * V);
        return spec.seq;
      });
    }
    case 'generate': {
      const prompts = Array.from({ length: spec.batch }, () => randomTokens(V, spec.prompt, rng));
      return () => timed(() => {
        const out = generateGreedy(model, prompts, { maxNewTokens: spec.newTokens, stopIds: [], batchSize: spec.batch });
        return out.reduce((n, g) => n + g.tokens.length, 0);
      });
    }
    case 'sample': {
      // What runSample (src/method/sample.ts) does per chunk of questions, minus tokenising and writing files.
      const expert = new EngineBackend(model, 'bench expert');
      const amateur = new EngineBackend(makeModel(spec.amateur, BENCH_MODEL_SEED + 1), 'bench amateur');
      const o = { plausibilityAlpha: spec.alpha, beta: spec.beta, label: 'contrastive' as const, firstStep: spec.firstStep };
      const gopts = { maxNewTokens: spec.newTokens, stopIds: [], batchSize: spec.prompts.length };
      return async () => {
        const t0 = performance.now();
        const gens: Generation[] = spec.expertRescore ? await expert.generateGreedy(spec.prompts, gopts) : await expert.generateGreedyWithLogits(spec.prompts, gopts);
        const t1 = performance.now();
        const timing = { expertSeconds: 0, amateurSeconds: 0 };
        const records: Array<{ trajectory: number; step: number; token_ids: number[]; weights: number[]; kl_divergence: number }> = [];
        for (const [q, gen] of gens.entries()) {
          const steps = await scoreTrajectory(expert, amateur, spec.prompts[q]!, gen.tokens, o, timing, gen.logits);
          delete gen.logits; // as runSample: a trajectory's rows go once it is scored
          for (const st of steps) if (st.keep) records.push({ trajectory: q, step: st.step, token_ids: st.tokenIds, weights: st.weights, kl_divergence: st.klDivergence });
        }
        const seconds = (performance.now() - t0) / 1000, decode = (t1 - t0) / 1000;
        // The profile of item 3 (issue 15): where a question's time goes ('Expert re-score' only on the re-score path).
        const phases = {
          'Expert decode': decode, ...(spec.expertRescore ? { 'Expert re-score': timing.expertSeconds } : {}), 'Amateur score': timing.amateurSeconds,
          'contrast + records': seconds - decode - timing.expertSeconds - timing.amateurSeconds,
        };
        return { seconds, units: spec.prompts.length, phases };
      };
    }
    case 'train-lightreasoner': {
      // The bench model's weights with an adapter of its own, so other rows run without LoRA.
      const m = new Transformer(model.config, model.params);
      m.adapter = createLoraAdapter(m, benchLoraConfig(spec.lora), spec.seed);
      const windows = lightReasonerWindows(spec, true);
      const trainer = new Trainer(m, {
        what: 'lora', lr: spec.lr, schedule: 'linear', warmupSteps: 0, maxSteps: windows[0]!.length, maxGradNorm: 1,
        adam: HF_ADAMW_DEFAULTS, seed: spec.seed,
      });
      let calls = 0;
      return () => {
        const w = calls++ % windows.length;
        return timed(() => {
          windows[w]!.forEach((data, s) => trainer.step(s, data));
          return windows[w]!.reduce((a, d) => a + d.reduce((b, mb) => b + mb.reduce((c, seq) => c + seq.targets.length, 0), 0), 0);
        });
      };
    }
    case 'backend-generate': {
      const backend = new EngineBackend(model, 'bench model');
      const prompts = benchPrompts(spec.batch, spec.prompt, V, spec.seed);
      return async () => {
        const g = await timeGeneration(backend, prompts, { maxNewTokens: spec.newTokens, stopIds: [], batchSize: spec.batch });
        return { seconds: g.seconds, units: g.generatedTokens };
      };
    }
    case 'backend-score': {
      const backend = new EngineBackend(model, 'bench model');
      const { prompts, continuations } = backendScoreInputs(spec, V);
      return async () => {
        const s = await timeScoring(backend, prompts, continuations);
        return { seconds: s.seconds, units: s.scoredTokens };
      };
    }
  }
}

/** The sequences of a backend-score row: random prompts and continuations (teacher-forced, so any ids do). */
export function backendScoreInputs(spec: Extract<RowSpec, { kind: 'backend-score' }>, vocab: number): { prompts: number[][]; continuations: number[][] } {
  return {
    prompts: benchPrompts(spec.sequences, spec.prompt, vocab, spec.seed),
    continuations: benchPrompts(spec.sequences, spec.continuation, vocab, spec.seed + 1),
  };
}
