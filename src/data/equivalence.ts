/**
 * Is an extracted answer the same as the gold answer? The rules follow the Qwen2.5-Math evaluation
 * toolkit (`strip_string` + `math_equal`), which is how the LightReasoner paper scores GSM8K, so our
 * numbers are comparable with the paper's:
 *
 *   1. Normalise both sides (`normalizeAnswer`, steps listed there) and compare the strings,
 *      case-insensitively. `\boxed{\dfrac{3}{4}}` and `\frac34` both become `\frac{3}{4}`.
 *   2. Otherwise, if both sides parse as numbers (`parseNumber`: decimals, thousands separators,
 *      `a/b`, `\frac{a}{b}`, signs), compare them with relative tolerance 1e-4, as Python's
 *      `math.isclose(a, b, rel_tol=1e-4)` does: |a − b| ≤ 1e-4 · max(|a|, |b|).
 *   3. Percentages: like the toolkit, the prediction also matches gold × 100 and gold ÷ 100
 *      (`percentScaling`, on by default), so "75%", "75" and "0.75" agree whichever the gold is.
 *      With `percentScaling: false` only an explicit `%` sign on either side allows the ÷ 100 reading.
 *   4. When a side is not a number, compare the normalised strings again with every `{`, `}`, `(`,
 *      `)` removed (and `[...]` / `(...)` around the prediction unwrapped), as the toolkit's
 *      `math_equal` does before its sympy fallback: `\boxed{{7}}` extracts `{7}`, which
 *      matches gold 7. Only for non-numbers, so `\frac{12}{3}` never equals `\frac{1}{23}`.
 *
 * No symbolic algebra engine: the toolkit's last resort (sympy) is left out, because GSM8K answers
 * are numbers and everything numeric is covered by rules 1–3. Symbolic answers (`\sqrt{2}`, `2x+1`)
 * are only matched by normalised string.
 *
 * Example: isEquivalent('\\$1,250.00', '1250') → true; isEquivalent('\\frac{3}{4}', '0.75') → true;
 *          isEquivalent('1251', '1250') → false.
 */

export interface EquivalenceOptions {
  /** Accept prediction = gold × 100 or gold ÷ 100 (the toolkit's percentage rule). Default true. */
  percentScaling?: boolean;
}

export type EquivalenceRule = 'string' | 'numeric' | 'percent' | 'brackets';

export interface EquivalenceVerdict {
  equivalent: boolean;
  /** Which rule matched; null when none did. */
  rule: EquivalenceRule | null;
  normalizedPred: string;
  normalizedGold: string;
}

/** Relative tolerance of the numeric comparison (the toolkit's `rel_tol`). */
export const RELATIVE_TOLERANCE = 1e-4;

// LaTeX text wrappers whose content is plain words (usually a unit).
const TEXT_COMMANDS = '(?:text|textrm|textup|textnormal|mbox|mathrm|textbf|mathbf)';
// A unit or other words after a number: letters first, then letters, spaces, dots, slashes, powers
// ("dollars", "km/h", "m^2", "sq. ft", "per hour").
const UNIT_TAIL = /^\s*[A-Za-z][A-Za-z\s.\/^\d-]*$/;

/**
 * Normalise an answer string for comparison. Steps, in order (each exists because a model or a data
 * set writes the same value that way):
 *   - trim; newlines become spaces; Unicode minus (−) becomes "-";
 *   - drop `\left`, `\right`, `\!` and LaTeX spacing `\,` `\;` `\:` (so `1\,000` is 1000);
 *     `{,}` (LaTeX's comma in numbers) becomes ",";
 *   - `\dfrac` and `\tfrac` become `\frac`;
 *   - drop `$`, `\$`, `\(`, `\)`, `\[`, `\]`, degree marks (`^\circ`, `^{\circ}`, °), `\%` and `%`;
 *   - a trailing `\text{...}` (a unit: `18 \text{ dollars}`) is dropped when something remains,
 *     other `\text{x}` / `\mbox{x}` / `\mathrm{x}` become `x`;
 *   - trailing full stops go; a short left-hand side is dropped (`x = 5` → `5`, as the toolkit does);
 *   - words after a number are a unit and go (`18 dollars`, `5 km/h`, `12cm`), except a single
 *     letter glued to the number (`2x` stays, it may be algebra);
 *   - spaces go; thousands separators go (`1,234,567` → `1234567`; `1,2` is left alone);
 *   - `\frac12` becomes `\frac{1}{2}`; trailing zero decimals go (`18.00` → `18`);
 *     a leading `+` goes and a bare leading `.` gains a zero (`.5` → `0.5`).
 */
export function normalizeAnswer(raw: string): string {
  return analyse(raw).text;
}

interface Analysed {
  text: string;
  value: number | null;
  /** The answer carried a percent sign. */
  percent: boolean;
}

function analyse(raw: string): Analysed {
  let s = raw.trim().replace(/\s*\n\s*/g, ' ').replace(/\u2212/g, '-');
  s = s.replace(/\\left|\\right|\\!|\\[,;:]/g, '').replace(/\\ /g, ' ').replace(/\{,\}/g, ',');
  s = s.replace(/\\[dt]frac/g, '\\frac');
  s = s.replace(/\\\$|\$|\\\(|\\\)|\\\[|\\\]/g, '');
  s = s.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°/g, '');
  const percent = /%/.test(s);
  s = s.replace(/\\?%/g, '');
  s = stripTextUnits(s);
  s = s.trim().replace(/[\s.]+$/, '');
  s = dropShortLeftHandSide(s);
  s = dropUnitWords(s);
  s = s.replace(/\s+/g, '');
  s = s.replace(/(?<=\d),(?=\d{3}(?!\d))/g, '');
  s = s.replace(/\\frac(\d)(\d)/g, '\\frac{$1}{$2}').replace(/\\frac(\d)(?=\{)/g, '\\frac{$1}');
  s = s.replace(/(\d)\.0+(?!\d)/g, '$1');
  s = s.replace(/^\+/, '').replace(/(^|[{(\-])\.(?=\d)/g, '$10.');
  return { text: s, value: parseNumber(s), percent };
}

function stripTextUnits(s: string): string {
  const trailing = new RegExp(`\\\\${TEXT_COMMANDS}\\s*\\{[^{}]*\\}\\s*$`);
  for (;;) {
    const cut = s.replace(trailing, '').trim();
    if (cut === '' || cut === s) break;
    s = cut;
  }
  return s.replace(new RegExp(`\\\\${TEXT_COMMANDS}\\s*\\{([^{}]*)\\}`, 'g'), '$1');
}

function dropShortLeftHandSide(s: string): string {
  const parts = s.split('=');
  if (parts.length === 2 && parts[0]!.trim().length <= 2 && parts[1]!.trim() !== '') return parts[1]!.trim();
  return s;
}

function dropUnitWords(s: string): string {
  const prefix = parseNumericPrefix(s, 0);
  if (!prefix || prefix.end === s.length) return s;
  const rest = s.slice(prefix.end);
  if (!UNIT_TAIL.test(rest)) return s;
  // "2x" or "3n" glued to the number may be algebra, not a unit.
  if (/^[A-Za-z]$/.test(rest)) return s;
  return s.slice(0, prefix.end);
}

/**
 * The value of a string that is wholly a number, or null. Accepts an optional sign, decimals
 * (`12`, `-3.5`, `.5`, `5.`), thousands separators in their proper places (`1,234`),
 * `a/b`, and `\frac{a}{b}` / `\frac12` whose parts are themselves numbers.
 *
 * Example: parseNumber('\\frac{-3}{4}') → -0.75; parseNumber('1,5') → null.
 */
export function parseNumber(s: string): number | null {
  const r = parseNumericPrefix(s, 0);
  return r && r.end === s.length ? r.value : null;
}

interface Parsed { value: number; end: number }

const DECIMAL = /(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+/y;

function parseNumericPrefix(s: string, start: number): Parsed | null {
  let i = start;
  let sign = 1;
  if (s[i] === '+' || s[i] === '-') {
    if (s[i] === '-') sign = -1;
    i++;
    while (s[i] === ' ') i++;
  }
  if (s.startsWith('\\frac', i)) {
    const num = fracArgument(s, i + 5);
    if (!num) return null;
    const den = fracArgument(s, num.end);
    if (!den || den.value === 0) return null;
    return { value: (sign * num.value) / den.value, end: den.end };
  }
  const a = decimalAt(s, i);
  if (!a) return null;
  if (s[a.end] === '/') {
    const b = decimalAt(s, a.end + 1);
    if (b && b.value !== 0) return { value: (sign * a.value) / b.value, end: b.end };
  }
  return { value: sign * a.value, end: a.end };
}

function decimalAt(s: string, i: number): Parsed | null {
  DECIMAL.lastIndex = i;
  const m = DECIMAL.exec(s);
  if (!m) return null;
  return { value: Number(m[0].replace(/,/g, '')), end: i + m[0].length };
}

// An argument of \frac: a braced number (which may be another \frac) or a single digit.
function fracArgument(s: string, i: number): Parsed | null {
  while (s[i] === ' ') i++;
  if (s[i] === '{') {
    const close = matchingBrace(s, i);
    if (close < 0) return null;
    const value = parseNumber(s.slice(i + 1, close).trim());
    return value === null ? null : { value, end: close + 1 };
  }
  return /\d/.test(s[i] ?? '') ? { value: Number(s[i]), end: i + 1 } : null;
}

/** Index of the `}` closing the `{` at `open`, or -1 when it is never closed. */
export function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && (s[i + 1] === '{' || s[i + 1] === '}')) {
      i++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** Python's math.isclose with rel_tol only: |a − b| ≤ tol · max(|a|, |b|). */
function isClose(a: number, b: number, tol = RELATIVE_TOLERANCE): boolean {
  return Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b));
}

/** Compare an extracted answer with the gold answer and say which rule decided. */
export function explainEquivalence(pred: string | null, gold: string, options: EquivalenceOptions = {}): EquivalenceVerdict {
  const g = analyse(gold);
  if (pred === null) return { equivalent: false, rule: null, normalizedPred: '', normalizedGold: g.text };
  const p = analyse(pred);
  const verdict = (rule: EquivalenceRule | null): EquivalenceVerdict =>
    ({ equivalent: rule !== null, rule, normalizedPred: p.text, normalizedGold: g.text });
  if (p.text === '') return verdict(null);
  if (p.text.toLowerCase() === g.text.toLowerCase()) return verdict('string');
  if (p.value === null || g.value === null) return verdict(sameWithoutBrackets(p.text, g.text) ? 'brackets' : null);
  if (isClose(p.value, g.value)) return verdict('numeric');
  const scaled = (options.percentScaling ?? true)
    ? [g.value * 100, g.value / 100]
    // Without the toolkit's blanket rule, "75%" may still be read as 0.75 (and vice versa).
    : [...(p.percent ? [g.value * 100] : []), ...(g.percent ? [g.value / 100] : [])];
  return verdict(scaled.some((v) => isClose(p.value!, v)) ? 'percent' : null);
}

const wrapped = (s: string, open: string, close: string): boolean => s.startsWith(open) && s.endsWith(close);

/**
 * The toolkit's bracket rule (grader.py `math_equal`, Qwen2.5-Math evaluation): unwrap `[...]` or
 * `(...)` around the prediction (stripping `[]()` from both ends of both sides), then drop every
 * `{`, `}`, `(`, `)` and compare case-insensitively.
 */
function sameWithoutBrackets(pred: string, gold: string): boolean {
  let p = pred, g = gold;
  if ((wrapped(p, '[', ']') && !wrapped(g, '(', ')')) || (wrapped(p, '(', ')') && !wrapped(g, '[', ']'))) {
    const ends = /^[[\]()]+|[[\]()]+$/g;
    p = p.replace(ends, '');
    g = g.replace(ends, '');
  }
  const bare = (s: string): string => s.replace(/[{}()]/g, '').toLowerCase();
  return bare(p) !== '' && bare(p) === bare(g);
}

/** True when `pred` and `gold` denote the same answer under the rules in this file's header. */
export function isEquivalent(pred: string | null, gold: string, options: EquivalenceOptions = {}): boolean {
  return explainEquivalence(pred, gold, options).equivalent;
}
