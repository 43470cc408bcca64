/**
 * Pull the final answer out of a model's completion, in the Qwen2.5-Math toolkit's order (the
 * order the LightReasoner paper scores with):
 *   1. the last non-empty `\boxed{...}` (braces matched, so `\boxed{\frac{3}{4}}` is whole); also
 *      `\fbox{...}`, an unbraced `\boxed 5`, and `boxed{...}` without the backslash;
 *   2. else the clause after the last "The answer is" / "final answer is" (up to the end of the
 *      sentence or line): the whole clause when it is a number (`\frac{3}{4}`, `$1,000`), else the
 *      first number in it ("The answer is 18 dollars." → 18). A clause with no digit falls through;
 *   3. else the last number in the text, after thousands separators are removed (`1,234` → 1234):
 *      decimals, a leading minus (not a hyphen between words or numbers: "10-15" gives 15), and
 *      `a/b` fractions.
 * GSM8K calculator annotations (`<<48/2=24>>`) are removed first; a model tuned on GSM8K copies them.
 *
 * Example: extractAnswer('... so she makes 9 * 2 = $18 a day.\n\\boxed{18}') → { answer: '18', rule: 'boxed' }.
 */
import { matchingBrace, normalizeAnswer, parseNumber } from './equivalence.js';

export type ExtractionRule = 'boxed' | 'answer-is' | 'last-number';

export interface Extraction {
  /** The answer as written (trimmed, trailing full stop removed); null when nothing was found. */
  answer: string | null;
  /** Which rule found it; null when none did. */
  rule: ExtractionRule | null;
}

/** Remove GSM8K calculator annotations: "16-3-4 = <<16-3-4=9>>9" → "16-3-4 = 9". */
export function stripCalculatorAnnotations(text: string): string {
  return text.replace(/<<[^<>]*>>/g, '');
}

/**
 * The gold answer of a GSM8K record: the text after the last `####`, trimmed, commas removed;
 * null when there is no `####`. Example: goldFromGsm8kAnswer('... = <<2*9=18>>18\n#### 1,018') → '1018'.
 */
export function goldFromGsm8kAnswer(answer: string): string | null {
  const at = answer.lastIndexOf('####');
  if (at < 0) return null;
  return answer.slice(at + 4).trim().replace(/,/g, '');
}

/** Apply the extraction rules above to a completion. */
export function extractAnswer(completion: string): Extraction {
  const text = stripCalculatorAnnotations(completion);
  const boxed = lastBoxed(text);
  if (boxed !== null) return { answer: boxed, rule: 'boxed' };
  const stated = answerIsClause(text);
  if (stated !== null) return { answer: stated, rule: 'answer-is' };
  const last = lastNumber(text);
  if (last !== null) return { answer: last, rule: 'last-number' };
  return { answer: null, rule: null };
}

const BOX = /(\\)?(?:boxed|fbox)(?![A-Za-z])/g;

/**
 * Content of the last complete, non-empty box. A box that is never closed (a completion cut off by
 * the token budget) or empty (`\boxed{}` echoed from the instruction) does not count.
 */
export function lastBoxed(text: string): string | null {
  const boxes = boxedAnswers(text);
  return boxes.length === 0 ? null : boxes[boxes.length - 1]!.answer;
}

/** A complete, non-empty box: its answer (as lastBoxed returns it) and the index just past it. */
export interface BoxedAnswer {
  answer: string;
  /** Just past the closing brace (or the unbraced token of `\boxed 5`). */
  end: number;
}

/** Every box lastBoxed would accept, in the order they open (a box inside a box follows it). */
export function boxedAnswers(text: string): BoxedAnswer[] {
  const found: BoxedAnswer[] = [];
  for (const m of text.matchAll(BOX)) {
    let i = m.index + m[0].length;
    while (text[i] === ' ') i++;
    let content: string | null = null;
    let end = i;
    if (text[i] === '{') {
      const close = matchingBrace(text, i);
      if (close >= 0) {
        content = text.slice(i + 1, close);
        end = close + 1;
      }
    } else if (m[1] !== undefined) {
      // `\boxed 5`: TeX's unbraced argument; models mean the whole token, up to `$` or a space.
      content = /^[^\s$]*/.exec(text.slice(i))![0];
      end = i + content.length;
    }
    const answer = content === null ? '' : tidy(content);
    if (answer !== '') found.push({ answer, end });
  }
  return found;
}

const ANSWER_IS = /(?:the|final)\s+answer\s+is\s*:?/gi;
// A number as written in prose: thousands separators already removed by the caller.
const NUMBER = /(?:(?<![\w)\]}])-)?(?:\d+(?:\.\d+)?|\.\d+)(?:\/\d+(?:\.\d+)?)?/g;

function answerIsClause(text: string): string | null {
  let after = -1;
  for (const m of text.matchAll(ANSWER_IS)) after = m.index + m[0].length;
  if (after < 0) return null;
  const line = text.slice(after).split('\n').find((l) => l.trim() !== '') ?? '';
  // The sentence ends at a full stop followed by a space or the end ("3.5." keeps 3.5).
  const clause = tidy(line.split(/\.(?=\s|$)/)[0]!);
  if (clause === '') return null;
  if (parseNumber(normalizeAnswer(clause)) !== null) return clause;
  return firstNumber(clause);
}

function firstNumber(text: string): string | null {
  const m = removeThousandsSeparators(text).match(NUMBER);
  return m ? m[0] : null;
}

function lastNumber(text: string): string | null {
  const m = removeThousandsSeparators(text).match(NUMBER);
  return m ? m[m.length - 1]! : null;
}

function removeThousandsSeparators(text: string): string {
  return text.replace(/(?<=\d),(?=\d{3}(?!\d))/g, '');
}

// Trim, drop a leading colon and trailing full stops, slashes and spaces (as the toolkit does).
function tidy(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim().replace(/^:\s*/, '').replace(/[\s./]+$/, '');
}
