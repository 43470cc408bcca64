/**
 * `lightreasoner score`: what a model thinks of a token sequence — the log-probability of each token
 * given the tokens before it, its rank, and the top-k next tokens after every prefix. For inspecting
 * a model, and the public way to see the engine's numbers (the sampling tests recompute KL(pE‖pA)
 * and soft labels from it).
 *
 *   lightreasoner score --model models/expert --text "Natalia sold 48 clips" --top-k 3
 *   lightreasoner score --model models/expert --ids 318,882,77 --json
 */
import type { Command } from 'commander';
import type { LanguageModel } from '../model/load.js';
import { packSequences } from '../model/transformer.js';
import { logSoftmaxRow } from '../engine/ops/loss.js';
import { UserError } from '../util/errors.js';
import { cliProgressCallback } from '../util/progress.js';
import { JSON_HELP, nonNegativeIntList, positiveInt, printSummary } from './flags.js';
import { loadModel } from '../model/load.js';
import { addRevisionOptions, resolveCliAdapter, resolveCliModel } from './hub-options.js';

export interface NextToken {
  id: number;
  /** The token decoded on its own (special tokens kept). */
  text: string;
  logprob: number;
}

export interface ScoredToken {
  position: number;
  id: number;
  text: string;
  /** log p(token | tokens before it); null at position 0, which nothing predicts. */
  logprob: number | null;
  /** 1 + the number of tokens the model found strictly more likely here; null at position 0. */
  rank: number | null;
  /** The k most likely tokens after tokens[0..position] (this one included), most likely first; ties by id. */
  next: NextToken[];
}

export interface ScoreReport {
  model: string;
  adapter: string | null;
  tokens: ScoredToken[];
  /** Σ logprob over positions 1..n−1. */
  totalLogprob: number;
  /** totalLogprob / (n − 1); null for a single token. */
  meanLogprob: number | null;
  /** exp(−meanLogprob); null for a single token. */
  perplexity: number | null;
}

/** The k largest entries of lp[0..n), largest first, ties by smaller index. */
export function topK(lp: Float32Array, n: number, k: number): Array<{ id: number; logprob: number }> {
  if (k >= n) {
    return Array.from({ length: n }, (_, i) => i).sort((a, b) => lp[b]! - lp[a]! || a - b).map((id) => ({ id, logprob: lp[id]! }));
  }
  const ids: number[] = [], vals: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = lp[i]!;
    // Indices arrive ascending, so an equal value never displaces an earlier (smaller) index.
    if (ids.length === k && !(v > vals[k - 1]!)) continue;
    let j = ids.length;
    while (j > 0 && vals[j - 1]! < v) j--;
    ids.splice(j, 0, i);
    vals.splice(j, 0, v);
    if (ids.length > k) { ids.pop(); vals.pop(); }
  }
  return ids.map((id, j) => ({ id, logprob: vals[j]! }));
}

/** Score `ids` [seq] with one causal forward pass (logits [seq, vocab]). */
export function scoreTokens(lm: LanguageModel, ids: readonly number[], k: number): ScoredToken[] {
  const V = lm.model.config.vocabSize, window = lm.model.config.maxPositionEmbeddings;
  if (ids.length === 0) throw new UserError('nothing to score: the input has no tokens');
  if (ids.length > window) throw new UserError(`the input has ${ids.length} tokens; the context window of ${lm.dir} is ${window}`);
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= V);
  if (bad !== undefined) throw new UserError(`token id ${bad} is outside the vocabulary of ${lm.dir} [0, ${V})`);
  const logits = lm.model.forward(packSequences([ids]), { logitRows: 'all' }).logits;
  const texts = new Map<number, string>();
  const text = (id: number): string => {
    let t = texts.get(id);
    if (t === undefined) texts.set(id, (t = lm.tokenizer.decode([id])));
    return t;
  };
  const lp = new Float32Array(V);
  const out: ScoredToken[] = [];
  let prev: Float32Array | null = null;
  for (let t = 0; t < ids.length; t++) {
    logSoftmaxRow(logits, t * V, V, lp, 0);
    const id = ids[t]!;
    let logprob: number | null = null, rank: number | null = null;
    if (prev) {
      const mine = prev[id]!;
      logprob = mine;
      rank = 1;
      for (let v = 0; v < V; v++) if (prev[v]! > mine) rank++;
    }
    out.push({ position: t, id, text: text(id), logprob, rank, next: topK(lp, V, k).map((e) => ({ id: e.id, text: text(e.id), logprob: e.logprob })) });
    prev = prev ?? new Float32Array(V);
    prev.set(lp);
  }
  return out;
}

export function scoreReport(lm: LanguageModel, ids: readonly number[], k: number): ScoreReport {
  const tokens = scoreTokens(lm, ids, k);
  const predicted = tokens.filter((t) => t.logprob !== null);
  const totalLogprob = predicted.reduce((a, t) => a + t.logprob!, 0);
  const meanLogprob = predicted.length > 0 ? totalLogprob / predicted.length : null;
  return { model: lm.dir, adapter: lm.adapterDir, tokens, totalLogprob, meanLogprob, perplexity: meanLogprob === null ? null : Math.exp(-meanLogprob) };
}

/** "1, 2,3" or "1 2 3" → [1, 2, 3], or a UserError naming the bad entry (cli/flags.ts). */
export function parseIds(spec: string): number[] {
  return nonNegativeIntList(spec, '--ids');
}

/** Next tokens listed after each prefix when --top-k is not given. */
export const DEFAULT_SCORE_TOP_K = 5;

const show = (s: string, width: number): string => {
  const j = JSON.stringify(s);
  return j.length <= width ? j : `${j.slice(0, width - 2)}…"`;
};

/** A human-readable table: one line per position. */
export function formatScoreReport(r: ScoreReport, k: number): string {
  const head = [
    `model   ${r.model}${r.adapter ? ` + adapter ${r.adapter}` : ''}`,
    r.meanLogprob === null
      ? `tokens  ${r.tokens.length} (a single token: nothing is predicted)`
      : `tokens  ${r.tokens.length}; total log-probability ${r.totalLogprob.toFixed(4)} over ${r.tokens.length - 1} predicted tokens (mean ${r.meanLogprob.toFixed(4)}, perplexity ${r.perplexity!.toFixed(3)})`,
    '',
    `${'pos'.padStart(5)}  ${'id'.padStart(7)}  ${'token'.padEnd(20)}  ${'logprob'.padStart(9)}  ${'rank'.padStart(6)}  top-${k} next tokens (logprob)`,
  ];
  const rows = r.tokens.map((t) => [
    String(t.position).padStart(5),
    String(t.id).padStart(7),
    show(t.text, 20).padEnd(20),
    (t.logprob === null ? '-' : t.logprob.toFixed(4)).padStart(9),
    (t.rank === null ? '-' : String(t.rank)).padStart(6),
    t.next.map((n) => `${show(n.text, 16)} ${n.logprob.toFixed(3)}`).join('  '),
  ].join('  '));
  return [...head, ...rows].join('\n');
}

interface ScoreCliOptions {
  model: string;
  adapter?: string;
  text?: string;
  ids?: string;
  topK: string;
  chat?: boolean;
  system?: string;
  json?: boolean;
}

export function registerScore(program: Command): void {
  const cmd = program
    .command('score')
    .description('Score a token sequence with a model: the log-probability and rank of each token given the tokens before it, and the top-k next tokens after every prefix. One causal forward pass, the same one sampling and training use.')
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json, model.safetensors, tokenizer.json) — or a Hugging Face id ORG/NAME (from the Hub cache, downloaded when absent)')
    .option('--adapter <dir>', 'LoRA adapter directory (PEFT layout) applied on top of --model, or a Hub id ORG/NAME')
    .option('--text <text>', 'text to tokenize and score (the tokenizer adds its special tokens, if it has any — Qwen adds none)')
    .option('--ids <list>', 'token ids to score as they are, separated by commas (e.g. a prompt + generated prefix from a trajectories file)')
    .option('--top-k <n>', 'how many most likely next tokens to list after each prefix (a number >= the vocabulary size lists them all)', String(DEFAULT_SCORE_TOP_K))
    .option('--chat', 'format --text as a user message with the model\'s chat template and the assistant generation prompt, as sampling and eval prompt a model')
    .option('--system <text>', 'with --chat: the system message (without it a Qwen chat template inserts its default one)')
    .option('--json', `${JSON_HELP}: {model, adapter, tokens: [{position, id, text, logprob, rank, next: [{id, text, logprob}]}], totalLogprob, meanLogprob, perplexity}, log-probabilities in full precision`);
  addRevisionOptions(cmd, '--model')
    .action(async (opts: ScoreCliOptions & { revision?: string }) => {
      if ((opts.text === undefined) === (opts.ids === undefined)) throw new UserError('score needs exactly one of --text TEXT or --ids 1,2,3');
      if (opts.chat && opts.text === undefined) throw new UserError('--chat formats --text; --ids are scored as they are');
      if (opts.system !== undefined && !opts.chat) throw new UserError('--system sets the system message of --chat; add --chat');
      const k = positiveInt(opts.topK, '--top-k');
      const ids = opts.ids !== undefined ? parseIds(opts.ids) : null;
      opts.model = await resolveCliModel(opts.model, opts.revision);
      opts.adapter = await resolveCliAdapter(opts.adapter);
      const progress = cliProgressCallback();
      let lm: LanguageModel;
      try {
        lm = await loadModel(opts.model, { ...(opts.adapter !== undefined ? { adapter: opts.adapter } : {}), onProgress: progress });
      } finally {
        progress.stopAll();
      }
      const input = ids ?? (opts.chat
        ? lm.tokenizer.encodeChat([...(opts.system !== undefined ? [{ role: 'system', content: opts.system }] : []), { role: 'user', content: opts.text! }], { addGenerationPrompt: true })
        : lm.tokenizer.encode(opts.text!, { addSpecialTokens: true }));
      const report = scoreReport(lm, input, k);
      printSummary(report, opts.json, (r) => formatScoreReport(r, Math.min(k, lm.model.config.vocabSize)));
    });
}
