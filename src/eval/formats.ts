/**
 * Format analysis of a run's completions: how often a model boxes its answer, stops after it,
 * runs on into a new problem, or is cut by the token budget, and its accuracy when the answer is
 * well-formed. It tells a gain in format (a base model learning to box and stop) apart from a gain
 * in reasoning (more right answers among well-formed ones). Pure functions; eval's summary, its
 * `--json` and `--compare` (src/eval/grade.ts, src/cli/eval.ts) all read these numbers.
 *
 * Definitions (README "Format shares" repeats them):
 *   - boxed: the graded answer comes from a complete, non-empty `\boxed{}` (extractAnswer's first rule).
 *   - answer statement: the first of a complete non-empty box, "the answer is"/"final answer is"
 *     followed by a digit in the same sentence, `####` followed by a number, or a line starting
 *     "Answer:" followed by a number. It ends after the box's closing brace, at the end of the
 *     sentence ("the answer is"), or at the end of the line (`####`, "Answer:").
 *   - runs on: after the first answer statement the text starts a new problem: a line that begins
 *     (after markdown `#*>_` and an optional number) with "Question", "Problem", "Exercise" or
 *     "Q" + optional number + ":" or "."; a new chat turn (`<|im_start|>`, or a line "user",
 *     "User:", "Human:"); or a sentence ending in "?".
 *   - stops after the answer: generation ended at a stop id (finish "stop": `<|im_end|>`,
 *     `<|endoftext|>` or the model's EOS), there is an answer statement, and it does not run on.
 *   - hits the budget: finish "length" (--max-new-tokens) or "context" (the context window).
 *   - well-formed: boxed and stops after the answer.
 *   - stops after the answer at: which stop token ended those that stop after the answer
 *     (`<|im_end|>`: the chat turn ends; `<|endoftext|>`: a base model ends the document), counted
 *     over the ones whose results record it.
 *   - first answer correct: the answer of the first answer statement (the completion cut just after
 *     it, then extracted as usual) equals the gold — what a grader that ignores everything after the
 *     first answer would score. Beside accuracy it separates reasoning from running on: a base model
 *     that solves the problem and then writes and answers a new one is graded on the new one.
 *     Graded by eval (src/eval/grade.ts), which has the gold; results files from before it have none.
 * Shares that need the finish reason are over the completions whose finish is known (results files
 * written before it was recorded, and predictions without it, have none).
 */
import { boxedAnswers, extractAnswer, stripCalculatorAnnotations } from '../data/extract.js';

/** Why generation ended: a stop id, --max-new-tokens, or the context window. */
export type Finish = 'stop' | 'length' | 'context';
export const FINISHES: readonly Finish[] = ['stop', 'length', 'context'];

/** What the analysis reads of one graded completion. */
export interface FormatInput {
  completion: string;
  /** Absent or null when the generator did not say. */
  finish?: Finish | null | undefined;
  correct: boolean;
  /** The stop token, when finish is "stop" and it was recorded. */
  stop?: string | undefined;
  /** See "first answer correct" above; absent in results written before it was recorded. */
  firstAnswerCorrect?: boolean | undefined;
}

/** The format of one completion. Fields that need the finish reason are null when it is unknown. */
export interface CompletionFormat {
  boxed: boolean;
  /** Index (in the completion without calculator annotations) just past the first answer statement; null when there is none. */
  answerEnd: number | null;
  runsOn: boolean;
  stopsAfterAnswer: boolean | null;
  hitsBudget: boolean | null;
  wellFormed: boolean | null;
}

/** k of n, with the share k/n (null when n is 0). */
export interface Share {
  count: number;
  of: number;
  share: number | null;
}

export interface FormatSummary {
  completions: number;
  /** Completions whose finish reason is known: the denominator of the shares that need it. */
  finishKnown: number;
  boxed: Share;
  stopsAfterAnswer: Share;
  runsOn: Share;
  hitsBudget: Share;
  wellFormed: Share;
  /** Correct among the well-formed. */
  wellFormedAccuracy: Share;
  /** First answer correct, over the completions that record it (all, for results of this version). */
  firstAnswerCorrect: Share;
  /** Stop token → how many of the completions that stop after the answer it ended (those that record it). */
  stopsAfterAnswerAt: Record<string, number>;
}

const ANSWER_IS = /(?:the|final)\s+answer\s+is\s*:?/gi;
const HASHES = /####[ \t]*-?\$?\.?\d[^\n]*/g;
const ANSWER_LINE = /^[ \t>*#_]*(?:final\s+)?answer[*_]*[ \t]*:[*_ \t]*-?\$?\.?\d[^\n]*/gim;
// A line that starts a new problem: "Question 2:", "**Problem:**", "## Exercise", "Q3.", "2. Question".
const NEW_PROBLEM_LINE = /^[ \t>*#_]*(?:\d+[.)][ \t]*)?(?:(?:question|problem|exercise)\b|q[ \t]*\d*[ \t]*[:.])/im;
const NEW_TURN = /<\|im_start\|>|^[ \t]*(?:user|human)[ \t]*(?::|$)/im;
const QUESTION_MARK = /\?(?=["')\]*_]*(?:\s|$))/;

/** Index just past the first answer statement (see the file comment), or null. */
export function firstAnswerEnd(text: string): number | null {
  const ends: Array<{ start: number; end: number }> = [];
  const box = boxedAnswers(text)[0];
  if (box !== undefined) ends.push({ start: box.end, end: box.end });
  for (const m of text.matchAll(ANSWER_IS)) {
    const after = m.index + m[0].length;
    // The sentence: up to a full stop followed by a space or the end, or the end of the line.
    const rest = text.slice(after);
    const stop = rest.search(/\.(?=\s|$)|\n/);
    const clause = stop < 0 ? rest : rest.slice(0, stop);
    if (!/\d/.test(clause)) continue;
    ends.push({ start: m.index, end: after + (stop < 0 ? rest.length : stop + (rest[stop] === '.' ? 1 : 0)) });
    break;
  }
  for (const re of [HASHES, ANSWER_LINE]) {
    re.lastIndex = 0;
    const m = re.exec(text);
    if (m) ends.push({ start: m.index, end: m.index + m[0].length });
  }
  if (ends.length === 0) return null;
  // The statement that comes first in the text (a box is placed by where it closes).
  ends.sort((a, b) => a.start - b.start);
  return ends[0]!.end;
}

/** Whether `rest` (the text after the answer statement) starts a new problem. */
export function startsNewProblem(rest: string): boolean {
  return NEW_PROBLEM_LINE.test(rest) || NEW_TURN.test(rest) || QUESTION_MARK.test(rest);
}

/** The format of one completion. */
export function completionFormat(completion: string, finish: Finish | null | undefined): CompletionFormat {
  const text = stripCalculatorAnnotations(completion);
  const boxed = extractAnswer(completion).rule === 'boxed';
  const answerEnd = firstAnswerEnd(text);
  const runsOn = answerEnd !== null && startsNewProblem(text.slice(answerEnd));
  const known = finish !== undefined && finish !== null;
  const stopsAfterAnswer = known ? finish === 'stop' && answerEnd !== null && !runsOn : null;
  return {
    boxed,
    answerEnd,
    runsOn,
    stopsAfterAnswer,
    hitsBudget: known ? finish === 'length' || finish === 'context' : null,
    wellFormed: stopsAfterAnswer === null ? null : boxed && stopsAfterAnswer,
  };
}

const share = (count: number, of: number): Share => ({ count, of, share: of === 0 ? null : count / of });

/** The shares over a run's completions. */
export function summarizeFormats(results: ReadonlyArray<FormatInput>): FormatSummary {
  let boxed = 0, runsOn = 0, known = 0, stops = 0, budget = 0, wellFormed = 0, wellFormedCorrect = 0, firstKnown = 0, firstCorrect = 0;
  const stopsAt: Record<string, number> = {};
  for (const r of results) {
    if (r.firstAnswerCorrect !== undefined) {
      firstKnown++;
      if (r.firstAnswerCorrect) firstCorrect++;
    }
    const f = completionFormat(r.completion, r.finish);
    if (f.boxed) boxed++;
    if (f.runsOn) runsOn++;
    if (f.stopsAfterAnswer === null) continue;
    known++;
    if (f.stopsAfterAnswer) {
      stops++;
      if (r.stop !== undefined) stopsAt[r.stop] = (stopsAt[r.stop] ?? 0) + 1;
    }
    if (f.hitsBudget) budget++;
    if (f.wellFormed) {
      wellFormed++;
      if (r.correct) wellFormedCorrect++;
    }
  }
  const n = results.length;
  return {
    completions: n,
    finishKnown: known,
    boxed: share(boxed, n),
    stopsAfterAnswer: share(stops, known),
    runsOn: share(runsOn, n),
    hitsBudget: share(budget, known),
    wellFormed: share(wellFormed, known),
    wellFormedAccuracy: share(wellFormedCorrect, wellFormed),
    firstAnswerCorrect: share(firstCorrect, firstKnown),
    stopsAfterAnswerAt: stopsAt,
  };
}

/** The completion cut just after its first answer statement, or null when it has none (for "first answer correct"). */
export function firstAnswerText(completion: string): string | null {
  const text = stripCalculatorAnnotations(completion);
  const end = firstAnswerEnd(text);
  return end === null ? null : text.slice(0, end);
}

type ShareKey = 'boxed' | 'stopsAfterAnswer' | 'runsOn' | 'hitsBudget' | 'wellFormed' | 'wellFormedAccuracy' | 'firstAnswerCorrect';
const ROWS: ReadonlyArray<[ShareKey, string]> = [
  ['boxed', '\\boxed{} answer'],
  ['stopsAfterAnswer', 'stops after the answer'],
  ['runsOn', 'runs on into a new problem'],
  ['hitsBudget', 'hits the token budget'],
  ['wellFormed', 'well-formed (boxed, stops)'],
  ['wellFormedAccuracy', 'accuracy when well-formed'],
  ['firstAnswerCorrect', 'first answer correct'],
];
const LABEL_WIDTH = Math.max(...ROWS.map(([, label]) => label.length));

/** "60.00% (3/5)", or "- (0/0)" when there is nothing to share. */
export function formatShare(s: Share): string {
  return `${s.share === null ? '-' : `${(100 * s.share).toFixed(2)}%`} (${s.count}/${s.of})`;
}

function unknownNote(f: FormatSummary): string | null {
  if (f.finishKnown === f.completions) return null;
  return f.finishKnown === 0
    ? 'the finish reason was not recorded, so the shares that need it are empty'
    : `the finish reason is known for ${f.finishKnown} of ${f.completions} completions; the shares that need it are over those`;
}

/** "<|im_end|> 120, <|endoftext|> 3" (most first), or null when no stop token was recorded. */
function stopTokensText(f: FormatSummary): string | null {
  const entries = Object.entries(f.stopsAfterAnswerAt ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? null : entries.map(([t, n]) => `${t} ${n}`).join(', ');
}

/** The summary's lines, each prefixed with `indent`. */
export function formatFormatSummary(f: FormatSummary, indent = ''): string {
  const lines = ROWS.map(([key, label]) => `${indent}${label.padEnd(LABEL_WIDTH)}  ${formatShare(f[key])}`);
  const at = stopTokensText(f);
  if (at !== null) lines.splice(ROWS.findIndex(([key]) => key === 'stopsAfterAnswer') + 1, 0, `${indent}${'  at'.padEnd(LABEL_WIDTH)}  ${at}`);
  const note = unknownNote(f);
  if (note !== null) lines.push(`${indent}(${note})`);
  return lines.join('\n');
}

/** Two summaries side by side: each share as A → B. */
export function formatFormatChange(a: FormatSummary, b: FormatSummary, indent = ''): string {
  const before = ROWS.map(([key]) => formatShare(a[key]));
  const width = Math.max(...before.map((s) => s.length));
  const lines = ROWS.map(([key, label], i) => `${indent}${label.padEnd(LABEL_WIDTH)}  ${before[i]!.padEnd(width)} → ${formatShare(b[key])}`);
  for (const [name, f] of [['A', a], ['B', b]] as const) {
    const note = unknownNote(f);
    if (note !== null) lines.push(`${indent}(${name}: ${note})`);
  }
  return lines.join('\n');
}
