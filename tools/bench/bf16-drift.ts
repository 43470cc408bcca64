/**
 * How far bf16 weights move the numbers (issue 15, item 3): teacher-forced logits of a model with
 * float32 weights against the same model with bf16 weights (src/model/bf16-weights.ts).
 *
 *   node dist/tools/bench/bf16-drift.js                           # the bundled Expert and Amateur
 *   node dist/tools/bench/bf16-drift.js --paper expert            # random-weight Qwen2.5-Math-1.5B shapes
 *   node dist/tools/bench/bf16-drift.js --samples a.jsonl b.jsonl # kept steps and soft labels of two `sample` runs
 *
 * Logits: per position, max |Δ logit| and KL(p_f32 ‖ p_bf16), over the prompts of the first
 * --questions GSM8K-like questions followed by their reference solutions (the bundled models), or
 * over the same prompts with the Qwen tokenizer (the paper shapes).
 */
import { loadModel } from '../../src/model/load.js';
import { holdWeightsAsBf16, logitDrift, type LogitDrift } from '../../src/model/bf16-weights.js';
import { packSequences, type Transformer } from '../../src/model/transformer.js';
import { generateProblems } from '../../src/data/synthetic/index.js';
import { loadTokenizer, type HfTokenizer } from '../../src/tokenizer/index.js';
import { readJsonl } from '../../src/util/jsonl.js';
import { paperModel, qwenTokenizerDir, QWEN25_0_5B_CONFIG, QWEN25_MATH_1_5B_CONFIG } from './paper.js';
import { loadavg } from 'node:os';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function texts(n: number): string[] {
  return generateProblems({ split: 'train', count: n, seed: 7 }).map((p) => `Question: ${p.question}\nAnswer: ${p.answer}`);
}

/** Logits at every position with the model as it is, then with its weights converted to bf16 in place. */
function drift(model: Transformer, tokenizer: HfTokenizer, questions: number): LogitDrift {
  const seqs = texts(questions).map((t) => tokenizer.encode(t));
  const batch = packSequences(seqs);
  const f32 = model.forward(batch, { logitRows: 'all' }).logits;
  holdWeightsAsBf16(model.params);
  const bf16 = model.forward(batch, { logitRows: 'all' }).logits;
  return logitDrift(f32, bf16, batch.tokens.length, model.config.vocabSize);
}

function show(name: string, d: LogitDrift): void {
  console.log(`| ${name} | ${d.rows} | ${d.maxAbsLogit.toExponential(2)} | ${d.maxKl.toExponential(2)} | ${d.meanKl.toExponential(2)} | ${d.argmaxFlips} | ${loadavg()[0]!.toFixed(2)} |`);
}

interface SampleLine { prompt_id: string | number; step: number; token_ids: number[]; weights: number[] }

interface TrajectoryLine { question: string; generated_token_ids: number[] }

/**
 * Kept steps and soft labels of two `sample` runs. Where the Expert's greedy trajectory itself
 * diverged (a near-tie of its top two tokens), every later step differs; those questions are
 * counted apart, and the comparison of steps is over the questions whose trajectories agree.
 */
function compareSamples(a: string, b: string): void {
  const traj = (f: string): Map<string, string> => new Map(readJsonl<TrajectoryLine>(f.replace(/\.jsonl$/, '.trajectories.jsonl')).records
    .map(({ value: t }) => [t.question, t.generated_token_ids.join(',')] as const));
  const ta = traj(a), tb = traj(b);
  const diverged = new Set([...ta.keys()].filter((q) => tb.get(q) !== ta.get(q)));
  console.log(`trajectories: ${ta.size - diverged.size} of ${ta.size} identical; ${diverged.size} diverged (compared below without them)`);
  const key = (s: SampleLine): string => `${s.prompt_id}#${s.step}`;
  const keep = (s: SampleLine): boolean => !diverged.has(String(s.prompt_id));
  const A = new Map(readJsonl<SampleLine>(a).records.filter(({ value: s }) => keep(s)).map(({ value: s }) => [key(s), s] as const));
  const B = new Map(readJsonl<SampleLine>(b).records.filter(({ value: s }) => keep(s)).map(({ value: s }) => [key(s), s] as const));
  const onlyA = [...A.keys()].filter((k) => !B.has(k)).length, onlyB = [...B.keys()].filter((k) => !A.has(k)).length;
  let maxDw = 0, maxDwSameSet = 0, labelSetsDiffer = 0, common = 0;
  for (const [k, sa] of A) {
    const sb = B.get(k);
    if (!sb) continue;
    common++;
    const wb = new Map(sb.token_ids.map((t, i) => [t, sb.weights[i]!]));
    const wa = new Map(sa.token_ids.map((t, i) => [t, sa.weights[i]!]));
    const sameSet = wa.size === wb.size && [...wa.keys()].every((t) => wb.has(t));
    if (!sameSet) labelSetsDiffer++;
    for (const t of new Set([...wa.keys(), ...wb.keys()])) {
      const dw = Math.abs((wa.get(t) ?? 0) - (wb.get(t) ?? 0));
      maxDw = Math.max(maxDw, dw);
      if (sameSet) maxDwSameSet = Math.max(maxDwSameSet, dw);
    }
  }
  console.log(`kept steps: ${A.size} in ${a}, ${B.size} in ${b}; ${common} in both, ${onlyA} only in the first, ${onlyB} only in the second (flips: ${onlyA + onlyB})`);
  console.log(`steps kept by both: ${labelSetsDiffer} with a different plausible set (a token crossing alpha); max |Δ soft-label weight| ${maxDwSameSet.toExponential(2)} where the set is the same, ${maxDw.toExponential(2)} overall`);
}

const samples = process.argv.indexOf('--samples');
if (samples >= 0) {
  compareSamples(process.argv[samples + 1]!, process.argv[samples + 2]!);
} else {
  const questions = Number(arg('questions') ?? '8');
  console.log('| model | positions | max abs Δlogit | max KL (nats) | mean KL | argmax flips | load |');
  console.log('|---|---|---|---|---|---|---|');
  const paper = arg('paper');
  if (paper) {
    const cfg = paper === 'expert' ? QWEN25_MATH_1_5B_CONFIG : QWEN25_0_5B_CONFIG;
    const model = paperModel(cfg as unknown as Record<string, unknown>, 171);
    show(`random-weight ${paper === 'expert' ? 'Qwen2.5-Math-1.5B' : 'Qwen2.5-0.5B'} shapes`, drift(model, loadTokenizer(qwenTokenizerDir()), questions));
  } else {
    for (const ref of ['models/expert', 'models/amateur']) {
      const lm = await loadModel(ref);
      show(`bundled ${ref}`, drift(lm.model, lm.tokenizer, questions));
    }
  }
}
