/**
 * How much Stage 1 changes when a server returns only the top k log-probabilities per position
 * (docs/top-k-kl.md): the Expert greedily decodes the questions in-process, both models score the
 * trajectories exactly, and every step is contrasted twice — on the exact rows, and on the rows
 * the HTTP back end builds from a top-k answer (the top k of the exact row plus the scored token,
 * the rest filled by the uniform tail; src/backends/openai.ts, whose test checks these rows equal
 * the ones built from a real server's answer). Reported per k: kept steps added and dropped, and,
 * among steps kept both ways, labels whose token set changed and the largest weight change.
 *
 *   node dist/tools/topk-kl/measure.js --expert models/expert --amateur models/amateur \
 *     --input questions.jsonl --max-questions 200 --k 5,20,100
 */
import { parseArgs } from 'node:util';
import { loadModel, type LanguageModel } from '../../src/model/load.js';
import { generateGreedy } from '../../src/model/generate.js';
import { EngineBackend } from '../../src/backends/engine.js';
import { contrastStep, ContrastScratch, type ContrastOptions, type StepContrast } from '../../src/method/contrast.js';
import { logSoftmaxRow } from '../../src/engine/ops/loss.js';
import { fillLogprobRow } from '../../src/backends/openai.js';
import { readQuestions, requireValidQuestions } from '../../src/data/questions.js';
import { DEFAULT_SAMPLE_SETTINGS } from '../../src/method/sample.js';

export interface TopKRow {
  k: number;
  keptExact: number;
  keptApprox: number;
  added: number;
  dropped: number;
  /** Steps kept both ways whose plausible token set differs. */
  labelSetChanged: number;
  /** Steps kept both ways with the same token set: the largest |Δweight|. */
  maxWeightChange: number;
  /** Steps kept both ways with the same token set where some weight moved by more than 0.01. */
  weightsChanged: number;
  /** Mean and largest |KL_approx − KL_exact| over all contrasted steps. */
  meanAbsKlError: number;
  maxAbsKlError: number;
}

export interface TopKReport {
  questions: number;
  contrastedSteps: number;
  rows: TopKRow[];
}

/** Exact log-probability rows [T, V] of the Expert's and the Amateur's scoring of one trajectory. */
async function rows(lm: LanguageModel, prompt: number[], gen: number[]): Promise<Float32Array> {
  const V = lm.config.vocabSize;
  const z = await new EngineBackend(lm.model).stepLogits(prompt, gen);
  const out = new Float32Array(z.length);
  for (let t = 0; t < gen.length; t++) logSoftmaxRow(z, t * V, V, out, t * V);
  return out;
}

/** The top k of a row plus `alsoId`, as a server's top-k answer carries them, filled by the uniform tail. */
function approxRow(exact: Float32Array, off: number, V: number, order: Int32Array, k: number, alsoId: number, out: Float32Array): void {
  const m = new Map<number, number>();
  for (let j = 0; j < k && j < V; j++) m.set(order[j]!, exact[off + order[j]!]!);
  m.set(alsoId, exact[off + alsoId]!);
  fillLogprobRow(m, V, out, 0, k, 'measurement');
}

function sortedIds(exact: Float32Array, off: number, V: number): Int32Array {
  const ids = Int32Array.from({ length: V }, (_, i) => i);
  ids.sort((a, b) => exact[off + b]! - exact[off + a]! || a - b);
  return ids;
}

export async function measureTopK(expert: LanguageModel, amateur: LanguageModel, prompts: number[][], opts: ContrastOptions & { maxNewTokens: number; batchSize: number; ks: number[] }): Promise<TopKReport> {
  const V = expert.config.vocabSize;
  const scratch = new ContrastScratch(V);
  const stats = opts.ks.map((k): TopKRow & { klErrSum: number } => ({ k, keptExact: 0, keptApprox: 0, added: 0, dropped: 0, labelSetChanged: 0, maxWeightChange: 0, weightsChanged: 0, meanAbsKlError: 0, maxAbsKlError: 0, klErrSum: 0 }));
  let steps = 0;
  const eRow = new Float32Array(V), aRow = new Float32Array(V);
  for (let b = 0; b < prompts.length; b += opts.batchSize) {
    const batch = prompts.slice(b, b + opts.batchSize);
    const gens = generateGreedy(expert.model, batch, { maxNewTokens: opts.maxNewTokens, stopIds: expert.stopIds, batchSize: opts.batchSize });
    for (const [q, prompt] of batch.entries()) {
      const gen = gens[q]!.tokens;
      if (gen.length === 0) continue;
      const e = await rows(expert, prompt, gen), a = await rows(amateur, prompt, gen);
      for (let t = 0; t < gen.length; t++) {
        steps++;
        const exact: StepContrast = contrastStep(e, t * V, a, t * V, opts, scratch);
        const eo = sortedIds(e, t * V, V), ao = sortedIds(a, t * V, V);
        for (const s of stats) {
          approxRow(e, t * V, V, eo, s.k, gen[t]!, eRow);
          approxRow(a, t * V, V, ao, s.k, gen[t]!, aRow);
          const approx = contrastStep(eRow, 0, aRow, 0, opts, scratch);
          const err = Math.abs(approx.klDivergence - exact.klDivergence);
          s.klErrSum += err;
          s.maxAbsKlError = Math.max(s.maxAbsKlError, err);
          if (exact.keep) s.keptExact++;
          if (approx.keep) s.keptApprox++;
          if (approx.keep && !exact.keep) s.added++;
          if (!approx.keep && exact.keep) s.dropped++;
          if (approx.keep && exact.keep) {
            const sa = [...approx.tokenIds].sort((x, y) => x - y).join(','), se = [...exact.tokenIds].sort((x, y) => x - y).join(',');
            if (sa !== se) s.labelSetChanged++;
            else {
              const w = new Map(exact.tokenIds.map((id, i) => [id, exact.weights[i]!]));
              let d = 0;
              approx.tokenIds.forEach((id, i) => { d = Math.max(d, Math.abs(approx.weights[i]! - w.get(id)!)); });
              s.maxWeightChange = Math.max(s.maxWeightChange, d);
              if (d > 0.01) s.weightsChanged++;
            }
          }
        }
      }
    }
  }
  return {
    questions: prompts.length,
    contrastedSteps: steps,
    rows: stats.map(({ klErrSum, ...s }) => ({ ...s, meanAbsKlError: steps > 0 ? klErrSum / steps : 0 })),
  };
}

async function main(): Promise<void> {
  const d = DEFAULT_SAMPLE_SETTINGS;
  const { values } = parseArgs({
    options: {
      expert: { type: 'string', default: 'models/expert' }, amateur: { type: 'string', default: 'models/amateur' },
      input: { type: 'string' }, 'max-questions': { type: 'string', default: '200' }, k: { type: 'string', default: '5,20,100' },
      'max-new-tokens': { type: 'string', default: String(d.maxNewTokens) }, alpha: { type: 'string', default: String(d.alpha) }, beta: { type: 'string', default: String(d.beta) },
      'batch-size': { type: 'string', default: '32' }, 'system-prompt': { type: 'string', default: d.systemPrompt },
    },
  });
  if (!values.input) throw new Error('--input <questions.jsonl> is required');
  const expert = await loadModel(values.expert!), amateur = await loadModel(values.amateur!);
  const qs = requireValidQuestions(readQuestions(values.input)).slice(0, Number(values['max-questions']));
  const prompts = qs.map((q) => (q.prompt !== undefined ? expert.tokenizer.encode(q.prompt, { addSpecialTokens: true })
    : expert.tokenizer.encodeChat([...(values['system-prompt'] ? [{ role: 'system', content: values['system-prompt'] }] : []), { role: 'user', content: q.question! }], { addGenerationPrompt: true })));
  const t0 = performance.now();
  const r = await measureTopK(expert, amateur, prompts, {
    plausibilityAlpha: Number(values.alpha), beta: Number(values.beta), label: 'contrastive', maxNewTokens: Number(values['max-new-tokens']),
    batchSize: Number(values['batch-size']), ks: values.k!.split(',').map(Number),
  });
  process.stdout.write(`${JSON.stringify(r, null, 1)}\n`);
  process.stdout.write(`| k | kept (exact ${r.rows[0]?.keptExact}) | added | dropped | label set changed | weights moved > 0.01 (same set) | max Δweight | mean / max abs KL error (nats) |\n|---|---|---|---|---|---|---|---|\n`);
  for (const x of r.rows) process.stdout.write(`| ${x.k} | ${x.keptApprox} | ${x.added} | ${x.dropped} | ${x.labelSetChanged} | ${x.weightsChanged} | ${x.maxWeightChange.toExponential(2)} | ${x.meanAbsKlError.toExponential(2)} / ${x.maxAbsKlError.toExponential(2)} |\n`);
  process.stdout.write(`${r.questions} questions, ${r.contrastedSteps} contrasted steps, ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((e: unknown) => { process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`); process.exit(1); });
}
