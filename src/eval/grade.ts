/**
 * Pass@1 grading: one completion per problem is extracted and compared with the gold answer; the
 * results are summarised (accuracy with a Wilson 95% interval) and two runs on the same problems
 * can be compared pair by pair (McNemar's exact test). Pure functions; files are in results.ts.
 */
import type { GoldQuestion, QuestionRecord } from '../data/questions.js';
import { formatProblems } from '../data/questions.js';
import { UserError } from '../util/errors.js';
import { explainEquivalence, type EquivalenceOptions } from '../data/equivalence.js';
import { extractAnswer, type ExtractionRule } from '../data/extract.js';
import { mcnemarExact, wilsonInterval } from './stats.js';
import { firstAnswerText, formatFormatChange, formatFormatSummary, summarizeFormats, type Finish, type FormatSummary } from './formats.js';

/** What a generator (our engine, vLLM, llama.cpp, an API) hands over for one problem. */
export interface Prediction {
  id: string;
  completion: string;
  /** Tokens in the completion, when the generator counted them. */
  completionTokens?: number;
  /** Why generation ended (a stop id, the token budget, the context window), when the generator said. */
  finish?: Finish;
  /** With finish "stop": the stop token that ended it (e.g. "<|im_end|>"), when the generator said. */
  stop?: string;
}

/** One line of a results file. */
export interface EvalResult {
  id: string;
  /** The question text (or the raw prompt, for prompt records). */
  question: string;
  completion: string;
  /** The answer found in the completion; null when none was. */
  extracted: string | null;
  /** The extraction rule that found it. */
  extractedBy: ExtractionRule | null;
  gold: string;
  correct: boolean;
  completionTokens?: number;
  /** Why generation ended; absent when the generator did not say (src/eval/formats.ts). */
  finish?: Finish;
  /** The stop token that ended it, when finish is "stop" and the generator said. */
  stop?: string;
  /** Whether the first answer statement's answer equals the gold (false when there is none; src/eval/formats.ts). */
  firstAnswerCorrect?: boolean;
}

export interface EvalSummary {
  count: number;
  correct: number;
  accuracy: number;
  /** Wilson score interval at 95%. */
  wilson95: [number, number];
  /** Mean completion length over results that report it; null when none do. */
  meanCompletionTokens: number | null;
  /** Generated tokens per second of generation, when the run measured it. */
  tokensPerSecond?: number;
  /** Format shares: boxed, stops after the answer, runs on, hits the budget, accuracy when well-formed. */
  formats: FormatSummary;
}

/** Paired comparison of two result sets over the problems both contain. */
export interface Comparison {
  /** Problems present in both. */
  n: number;
  bothCorrect: number;
  /** Right in A, wrong in B. */
  onlyA: number;
  /** Right in B, wrong in A. */
  onlyB: number;
  neither: number;
  accuracyA: number;
  accuracyB: number;
  /** accuracyB − accuracyA, over the paired problems. */
  difference: number;
  /** McNemar's exact two-sided p on (onlyA, onlyB). */
  pValue: number;
  /** Problems in only one of the two sets (left out of everything above). */
  unpairedA: number;
  unpairedB: number;
  /** Format shares of each set over the paired problems. */
  formats: { a: FormatSummary; b: FormatSummary };
}

/** The questions, or a UserError naming (up to 10 of) the lines without an `answer`. */
export function requireGold(questions: readonly QuestionRecord[], file: string): GoldQuestion[] {
  const missing = questions.filter((q) => q.gold === undefined);
  if (missing.length === 0) return questions as GoldQuestion[];
  const problems = missing.map((q) => ({ file, line: q.line, message: 'no "answer" field: grading needs the gold answer' }));
  throw new UserError(`${file}: ${missing.length} of ${questions.length} problems have no gold answer:\n${formatProblems(problems)}`);
}

/** Grade one completion against its question's gold answer. */
export function gradePrediction(question: GoldQuestion, prediction: Prediction, options: EquivalenceOptions = {}): EvalResult {
  const { answer, rule } = extractAnswer(prediction.completion);
  const result: EvalResult = {
    id: question.id,
    question: question.question ?? question.prompt ?? '',
    completion: prediction.completion,
    extracted: answer,
    extractedBy: rule,
    gold: question.gold,
    correct: explainEquivalence(answer, question.gold, options).equivalent,
  };
  const first = firstAnswerText(prediction.completion);
  result.firstAnswerCorrect = first !== null && explainEquivalence(extractAnswer(first).answer, question.gold, options).equivalent;
  if (prediction.completionTokens !== undefined) result.completionTokens = prediction.completionTokens;
  if (prediction.finish !== undefined) result.finish = prediction.finish;
  if (prediction.stop !== undefined) result.stop = prediction.stop;
  return result;
}

/**
 * Accuracy, its Wilson interval, token figures and format shares. `throughput` is what this process generated and
 * how long it took (a resumed run cannot know the time spent before), giving tokens per second.
 */
export function summarizeResults(
  results: ReadonlyArray<Pick<EvalResult, 'correct' | 'completionTokens' | 'completion' | 'finish' | 'stop' | 'firstAnswerCorrect'>>,
  throughput?: { tokens: number; seconds: number },
): EvalSummary {
  const count = results.length;
  const correct = results.filter((r) => r.correct).length;
  const lengths = results.map((r) => r.completionTokens).filter((t): t is number => t !== undefined);
  const summary: EvalSummary = {
    count,
    correct,
    accuracy: count === 0 ? 0 : correct / count,
    wilson95: wilsonInterval(correct, count),
    meanCompletionTokens: lengths.length === 0 ? null : lengths.reduce((s, t) => s + t, 0) / lengths.length,
    formats: summarizeFormats(results),
  };
  if (throughput && throughput.seconds > 0 && throughput.tokens > 0) summary.tokensPerSecond = throughput.tokens / throughput.seconds;
  return summary;
}

type Compared = Pick<EvalResult, 'id' | 'correct' | 'completion' | 'finish' | 'stop' | 'firstAnswerCorrect'>;

/** Pair two result sets by id and test whether their accuracies differ; format shares over the same pairs. */
export function compareResults(a: ReadonlyArray<Compared>, b: ReadonlyArray<Compared>): Comparison {
  const inB = new Map(b.map((r) => [r.id, r]));
  let bothCorrect = 0, onlyA = 0, onlyB = 0, neither = 0, n = 0;
  const pairedA: Compared[] = [], pairedB: Compared[] = [];
  for (const r of a) {
    const match = inB.get(r.id);
    if (match === undefined) continue;
    n++;
    pairedA.push(r);
    pairedB.push(match);
    const other = match.correct;
    if (r.correct && other) bothCorrect++;
    else if (r.correct) onlyA++;
    else if (other) onlyB++;
    else neither++;
  }
  if (n === 0) throw new UserError('the two result sets share no problem id, so there is nothing to compare (were they run on the same input file?)');
  const accuracyA = (bothCorrect + onlyA) / n;
  const accuracyB = (bothCorrect + onlyB) / n;
  return {
    n, bothCorrect, onlyA, onlyB, neither,
    accuracyA, accuracyB,
    difference: accuracyB - accuracyA,
    pValue: mcnemarExact(onlyA, onlyB),
    unpairedA: a.length - n,
    unpairedB: b.length - n,
    formats: { a: summarizeFormats(pairedA), b: summarizeFormats(pairedB) },
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

/** A few human-readable lines for a summary. */
export function formatSummary(s: EvalSummary): string {
  if (s.count === 0) return 'accuracy  - (no problem was graded)';
  const lines = [
    `accuracy  ${pct(s.accuracy)} (${s.correct}/${s.count})   95% CI ${pct(s.wilson95[0])} – ${pct(s.wilson95[1])} (Wilson)`,
  ];
  const tokens: string[] = [];
  if (s.meanCompletionTokens !== null) tokens.push(`mean ${s.meanCompletionTokens.toFixed(1)} per completion`);
  if (s.tokensPerSecond !== undefined) tokens.push(`${s.tokensPerSecond.toFixed(1)} tokens/s`);
  if (tokens.length > 0) lines.push(`tokens    ${tokens.join('   ')}`);
  lines.push(`format    shares of the ${s.formats.completions} completions (definitions: README, "Format shares")`, formatFormatSummary(s.formats, '  '));
  return lines.join('\n');
}

/** A few human-readable lines for a comparison of run A with run B. */
export function formatComparison(c: Comparison, labelA = 'A', labelB = 'B'): string {
  const width = Math.max(labelA.length, labelB.length);
  const points = 100 * c.difference;
  const lines = [
    `A  ${labelA.padEnd(width)}  ${pct(c.accuracyA)} (${c.bothCorrect + c.onlyA}/${c.n})`,
    `B  ${labelB.padEnd(width)}  ${pct(c.accuracyB)} (${c.bothCorrect + c.onlyB}/${c.n})`,
    `difference B − A  ${points >= 0 ? '+' : ''}${points.toFixed(2)} points over ${c.n} paired problems`,
    `discordant        right only in A: ${c.onlyA}   right only in B: ${c.onlyB}   (both right: ${c.bothCorrect}, both wrong: ${c.neither})`,
    `McNemar exact     p = ${formatP(c.pValue)} (two-sided)${c.pValue < 0.05 ? ' — the difference is significant at 0.05' : ' — not significant at 0.05'}`,
  ];
  if (c.unpairedA > 0 || c.unpairedB > 0) {
    lines.push(`unpaired          ${c.unpairedA} problems only in A and ${c.unpairedB} only in B were left out`);
  }
  lines.push(`format            A → B over the ${c.n} paired problems`, formatFormatChange(c.formats.a, c.formats.b, '  '));
  return lines.join('\n');
}

function formatP(p: number): string {
  if (p >= 0.001) return p.toFixed(4);
  return p.toExponential(2);
}
