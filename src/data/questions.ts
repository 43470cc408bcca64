/**
 * The question files every stage reads (GSM8K JSONL and its simpler cousins). One record a line:
 *   {"question": "...", "answer": "... #### 18"}   GSM8K: the gold is the text after `####`
 *   {"id": "p7", "question": "...", "answer": 18}  plain: the whole `answer` is the gold
 *   {"id": "p8", "prompt": "..."}                  a raw prompt, fed to the model without a template
 * `id` may be a string or an integer; `answer` a string or a number; both optional. Other keys are
 * ignored. A record without `id` gets `q-` + the first 12 hex digits of SHA-256 of its trimmed
 * question (or prompt) text: the same question has the same id in any file, order or subset, so
 * results from a shuffled or truncated copy still pair up (the paper's code keys on the question
 * text itself). A repeated text gets `-2`, `-3`, ... in file order.
 *
 * Reading never stops at a bad line: problems are collected with their line numbers and the caller
 * decides (`requireValidQuestions` turns them into one UserError).
 */
import { createHash } from 'node:crypto';
import { readJsonl, tornInputMessage } from '../util/jsonl.js';
import { UserError, describeValue } from '../util/errors.js';
import { goldFromGsm8kAnswer } from './extract.js';

export interface QuestionRecord {
  id: string;
  /** 1-based line in the file. */
  line: number;
  /** Question text, to be put into a prompt template. */
  question?: string;
  /** A complete prompt, used as is. Exactly one of question and prompt is set. */
  prompt?: string;
  /** Gold answer, when the record has one. */
  gold?: string;
}

/** A question that can be graded: it has a gold answer. */
export type GoldQuestion = QuestionRecord & { gold: string };

export interface QuestionProblem {
  file: string;
  line: number;
  message: string;
}

export interface QuestionsRead {
  file: string;
  questions: QuestionRecord[];
  problems: QuestionProblem[];
}

/** The id a record without one gets (see the file header). */
export function defaultQuestionId(text: string): string {
  return `q-${createHash('sha256').update(text.trim(), 'utf8').digest('hex').slice(0, 12)}`;
}

/**
 * Read a question file. Throws a UserError when the file is missing or holds no records at all;
 * every malformed line is returned in `problems` with its line number.
 */
export function readQuestions(path: string): QuestionsRead {
  const read = readJsonl<unknown>(path, 'question file');
  const problems: QuestionProblem[] = read.problems.map((p) => ({ file: path, line: p.line, message: `not valid JSON (${p.message})` }));
  // For an input file a broken last line is damage, not an interrupted append: say so.
  const torn = tornInputMessage(read);
  if (torn !== null) problems.push({ file: path, line: read.tornLine!, message: torn });
  if (read.records.length === 0 && problems.length === 0) {
    throw new UserError(`question file ${path} is empty: expected one JSON object per line with a "question" (or "prompt") field`);
  }
  const questions: QuestionRecord[] = [];
  const idLines = new Map<string, number>();
  const textCount = new Map<string, number>();
  for (const { line, value } of read.records) {
    const parsed = parseRecord(value);
    if (typeof parsed === 'string') {
      problems.push({ file: path, line, message: parsed });
      continue;
    }
    let id = parsed.id;
    if (id === undefined) {
      const base = defaultQuestionId(parsed.question ?? parsed.prompt!);
      const seen = (textCount.get(base) ?? 0) + 1;
      textCount.set(base, seen);
      id = seen === 1 ? base : `${base}-${seen}`;
    }
    const first = idLines.get(id);
    if (first !== undefined) {
      problems.push({ file: path, line, message: `id ${describeValue(id)} was already used on line ${first}` });
      continue;
    }
    idLines.set(id, line);
    const record: QuestionRecord = { id, line };
    if (parsed.question !== undefined) record.question = parsed.question;
    if (parsed.prompt !== undefined) record.prompt = parsed.prompt;
    if (parsed.gold !== undefined) record.gold = parsed.gold;
    questions.push(record);
  }
  problems.sort((a, b) => a.line - b.line);
  return { file: path, questions, problems };
}

interface ParsedRecord { id?: string; question?: string; prompt?: string; gold?: string }

// A record's fields, or a message saying what is wrong with it.
function parseRecord(value: unknown): ParsedRecord | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`;
  }
  const r = value as Record<string, unknown>;
  const out: ParsedRecord = {};
  if (r.id !== undefined) {
    if (typeof r.id === 'string' && r.id.trim() !== '') out.id = r.id;
    else if (typeof r.id === 'number' && Number.isInteger(r.id)) out.id = String(r.id);
    else return `field "id" must be a non-empty string or an integer, got ${describeValue(r.id)}`;
  }
  for (const key of ['question', 'prompt'] as const) {
    if (r[key] === undefined) continue;
    if (typeof r[key] !== 'string' || r[key].trim() === '') return `field "${key}" must be a non-empty string, got ${describeValue(r[key])}`;
    out[key] = r[key];
  }
  if (out.question !== undefined && out.prompt !== undefined) return 'has both "question" and "prompt"; give one (question is templated, prompt is used as is)';
  if (out.question === undefined && out.prompt === undefined) {
    return `expected a "question" (or "prompt") string field; found keys ${foundKeys(r)}`;
  }
  if (r.answer !== undefined) {
    if (typeof r.answer === 'number' && Number.isFinite(r.answer)) out.gold = String(r.answer);
    else if (typeof r.answer === 'string') {
      const gold = r.answer.includes('####') ? goldFromGsm8kAnswer(r.answer)! : r.answer.trim();
      if (gold === '') return 'field "answer" has no gold answer (nothing after "####", or empty)';
      out.gold = gold;
    } else return `field "answer" must be a string or a number, got ${describeValue(r.answer)}`;
  }
  return out;
}

/** The keys of a record, for a message: at most 10, each bounded. */
function foundKeys(r: Record<string, unknown>): string {
  const keys: string[] = [];
  let more = 0;
  for (const k in r) {
    if (keys.length < 10) keys.push(describeValue(k, 60));
    else more++;
  }
  return keys.length === 0 ? 'none' : `${keys.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** Format problems as "file:line: message" lines, at most `max` of them plus a count of the rest. */
export function formatProblems(problems: readonly QuestionProblem[], max = 10): string {
  const shown = problems.slice(0, max).map((p) => `  ${p.file}:${p.line}: ${p.message}`);
  if (problems.length > max) shown.push(`  ... and ${problems.length - max} more`);
  return shown.join('\n');
}

/** The questions, or a UserError listing (up to 10 of) the bad lines when there are any. */
export function requireValidQuestions(read: QuestionsRead): QuestionRecord[] {
  if (read.problems.length === 0) return read.questions;
  const n = read.problems.length;
  throw new UserError(`${read.file} has ${n} malformed line${n === 1 ? '' : 's'}:\n${formatProblems(read.problems)}`);
}

/** What promptTooLong needs of a tokenizer (HfTokenizer has it). */
export interface LengthProbe {
  readonly maxTokenBytes: number;
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
}

/** Characters of text per context-window token below which a text is simply tokenized whole. */
const PROBE_CHARS_PER_TOKEN = 16;
/** Tokens by which a probed prefix must overshoot the window: the cut changes only the tokens around it. */
const PROBE_MARGIN = 64;

/**
 * Why a question (or raw prompt) text cannot fit a context window of `window` tokens, decided
 * without tokenizing all of it; null when it may fit (then the caller tokenizes it and compares
 * exactly). A 20 MB question must not be tokenized whole (gigabytes of memory) only to be skipped:
 *   1. a text of n UTF-8 bytes needs at least n / (3 × maxTokenBytes) tokens — no token covers more
 *      than maxTokenBytes bytes, and NFC normalization shrinks text at most threefold;
 *   2. otherwise, when the text is longer than 16 characters per window token, its first
 *      16 × window characters are tokenized alone; if they already exceed the window by 64 tokens,
 *      so does the whole text.
 * The work is bounded by the window, not by the text.
 */
export function promptTooLong(text: string, tokenizer: LengthProbe, window: number): string | null {
  const limit = PROBE_CHARS_PER_TOKEN * window;
  if (text.length <= limit) return null;
  const bytes = Buffer.byteLength(text, 'utf8');
  const atLeast = Math.floor(bytes / (3 * tokenizer.maxTokenBytes));
  if (atLeast >= window) return `the text has ${bytes} bytes, so at least ${atLeast} tokens; the context window is ${window}`;
  const probe = tokenizer.encode(text.slice(0, limit), { addSpecialTokens: false }).length;
  if (probe >= window + PROBE_MARGIN) return `the text has ${text.length} characters and its first ${limit} alone are ${probe} tokens; the context window is ${window}`;
  return null;
}
