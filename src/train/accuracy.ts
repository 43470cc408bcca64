/**
 * Greedy pass@1 of an in-memory model on gold-answer records, for monitoring during training (the
 * `eval` command is the user-facing evaluation with files and resume). Same prompt
 * (Qwen2.5-Math CoT), extraction and equivalence rules as `eval`.
 */
import type { Transformer } from '../model/transformer.js';
import type { HfTokenizer } from '../tokenizer/index.js';
import { generateGreedy } from '../model/generate.js';
import { buildMessages, resolvePrompt } from '../data/prompts.js';
import { extractAnswer, goldFromGsm8kAnswer } from '../data/extract.js';
import { isEquivalent } from '../data/equivalence.js';

export interface AccuracyReport {
  count: number;
  correct: number;
  accuracy: number;
  meanCompletionTokens: number;
  /** Per record, in input order. */
  outcomes: boolean[];
}

export function greedyAccuracy(
  model: Transformer, tok: HfTokenizer, stopIds: readonly number[],
  records: ReadonlyArray<{ question: string; answer: string }>,
  o: { maxNewTokens: number; batchSize: number; prompt?: string },
): AccuracyReport {
  const preset = resolvePrompt(o.prompt ?? 'qwen25-math-cot');
  const prompts = records.map((r) => tok.encodeChat(buildMessages(preset, r.question), { addGenerationPrompt: true }));
  const gens = generateGreedy(model, prompts, { maxNewTokens: o.maxNewTokens, stopIds, batchSize: o.batchSize });
  const outcomes = records.map((r, i) => {
    const gold = goldFromGsm8kAnswer(r.answer) ?? r.answer;
    return isEquivalent(extractAnswer(tok.decode(gens[i]!.tokens, { skipSpecialTokens: true })).answer, gold);
  });
  const correct = outcomes.filter(Boolean).length;
  return {
    count: records.length, correct, accuracy: records.length ? correct / records.length : 0,
    meanCompletionTokens: gens.reduce((a, g) => a + g.tokens.length, 0) / Math.max(1, gens.length),
    outcomes,
  };
}
