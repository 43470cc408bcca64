/**
 * Our side of each row: the work of a RowSpec on the TypeScript engine, prepared once, returned as
 * a function that runs one repetition and times it.
 */
import { performance } from 'node:perf_hooks';
import { sgemm } from '../../src/engine/blas.js';
import { logSoftmaxRow, softTargetLoss } from '../../src/engine/ops/loss.js';
import { parseConfig } from '../../src/model/config.js';
import { generateGreedy } from '../../src/model/generate.js';
import { initParams } from '../../src/model/init.js';
import { LINEAR_NAMES } from '../../src/model/params.js';
import { Transformer, allocGrads, packSequences, type ModelGrads } from '../../src/model/transformer.js';
import { Rng } from '../../src/util/rng.js';
import type { RowSpec, Sample } from './spec.js';

export type Runner = () => Sample;

/** A model with transformers' initialisation (the values do not change the work). */
export function benchModel(hfConfig: Record<string, unknown>, seed = 1): Transformer {
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

export function prepareOurs(spec: RowSpec, model: Transformer): Runner {
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
  }
}
