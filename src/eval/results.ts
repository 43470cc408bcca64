/**
 * Results files: one JSON line per graded problem (`EvalResult`), appended and flushed as each
 * problem is graded, so a killed run loses at most the problem it was writing and a restarted run
 * continues where it stopped (problems already in the file are not graded again).
 *
 * `runGrading` is the one path from completions to a results file and a summary: `eval --predictions`
 * feeds it completions read from a file, generation feeds it completions as the model writes them.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatProblems, type QuestionProblem } from '../data/questions.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fsx.js';
import { readJsonl, tornInputMessage, type JsonlAppender } from '../util/jsonl.js';
import { openAppendLog, withRunLock, type RunLock } from '../util/run-dir.js';
import type { ProgressCallback } from '../util/progress.js';
import type { EquivalenceOptions } from '../data/equivalence.js';
import type { ExtractionRule } from '../data/extract.js';
import { FINISHES, type Finish } from './formats.js';
import { gradePrediction, summarizeResults, type EvalResult, type EvalSummary, type Prediction } from './grade.js';
import type { GoldQuestion } from '../data/questions.js';

const RULES: ReadonlyArray<ExtractionRule | null> = ['boxed', 'answer-is', 'last-number', null];

/**
 * A results file given as input (eval --compare): as readResults, but a cut-off last line is an
 * error naming it — our own results file being continued is repaired instead (runGrading).
 */
export function readResultsInput(path: string): EvalResult[] {
  const read = readJsonl<unknown>(path, 'results file');
  const torn = tornInputMessage(read);
  if (torn !== null) throw new UserError(`${path}:${read.tornLine}: ${torn}; compare complete results files (rerun the eval that wrote it to finish it)`);
  return readResults(path);
}

/**
 * Read a results file written by `runGrading` (or by hand: only `id` and `correct` are required;
 * `finish`, absent from files written before it was recorded, leaves the format shares that need it empty).
 * Throws a UserError naming up to 10 bad lines, or an id that appears twice.
 */
export function readResults(path: string): EvalResult[] {
  const read = readJsonl<unknown>(path, 'results file');
  const problems: QuestionProblem[] = read.problems.map((p) => ({ file: path, line: p.line, message: `not valid JSON (${p.message})` }));
  const results: EvalResult[] = [];
  const seen = new Map<string, number>();
  for (const { line, value } of read.records) {
    const r = parseResult(value);
    if (typeof r === 'string') {
      problems.push({ file: path, line, message: r });
      continue;
    }
    const first = seen.get(r.id);
    if (first !== undefined) {
      problems.push({ file: path, line, message: `id "${r.id}" was already graded on line ${first}` });
      continue;
    }
    seen.set(r.id, line);
    results.push(r);
  }
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line);
    throw new UserError(`results file ${path} has ${problems.length} bad line${problems.length === 1 ? '' : 's'}:\n${formatProblems(problems)}`);
  }
  return results;
}

function parseResult(value: unknown): EvalResult | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object';
  const r = value as Record<string, unknown>;
  if (typeof r.id !== 'string' || r.id === '') return 'expected a non-empty string field "id"';
  if (typeof r.correct !== 'boolean') return 'expected a boolean field "correct"';
  for (const key of ['question', 'completion', 'gold'] as const) {
    if (r[key] !== undefined && typeof r[key] !== 'string') return `field "${key}" must be a string`;
  }
  if (r.extracted !== undefined && r.extracted !== null && typeof r.extracted !== 'string') return 'field "extracted" must be a string or null';
  if (r.extractedBy !== undefined && !RULES.includes(r.extractedBy as ExtractionRule | null)) {
    return `field "extractedBy" must be one of ${RULES.map((x) => JSON.stringify(x)).join(', ')}`;
  }
  if (r.completionTokens !== undefined && (typeof r.completionTokens !== 'number' || !Number.isInteger(r.completionTokens) || r.completionTokens < 0)) {
    return 'field "completionTokens" must be a non-negative integer';
  }
  if (r.finish !== undefined && !FINISHES.includes(r.finish as Finish)) return `field "finish" must be one of ${FINISHES.map((x) => JSON.stringify(x)).join(', ')}`;
  if (r.firstAnswerCorrect !== undefined && typeof r.firstAnswerCorrect !== 'boolean') return 'field "firstAnswerCorrect" must be a boolean';
  if (r.stop !== undefined && typeof r.stop !== 'string') return 'field "stop" must be a string';
  const result: EvalResult = {
    id: r.id,
    question: (r.question as string | undefined) ?? '',
    completion: (r.completion as string | undefined) ?? '',
    extracted: (r.extracted as string | null | undefined) ?? null,
    extractedBy: (r.extractedBy as ExtractionRule | null | undefined) ?? null,
    gold: (r.gold as string | undefined) ?? '',
    correct: r.correct,
  };
  if (r.completionTokens !== undefined) result.completionTokens = r.completionTokens as number;
  if (r.finish !== undefined) result.finish = r.finish as Finish;
  if (r.stop !== undefined) result.stop = r.stop as string;
  if (r.firstAnswerCorrect !== undefined) result.firstAnswerCorrect = r.firstAnswerCorrect as boolean;
  return result;
}

/** Ids already graded in a results file (empty when the file does not exist yet). */
export function readDoneIds(path: string): Set<string> {
  if (!existsSync(path)) return new Set();
  return new Set(readResults(path).map((r) => r.id));
}

export interface GradingOptions {
  /** Results file to append to; problems already in it are skipped. */
  out?: string;
  /** Empty `out` first instead of continuing it. */
  overwrite?: boolean;
  equivalence?: EquivalenceOptions;
  /**
   * Time the run from start to the last completion and report tokens/s. Set it when `predictions`
   * is produced by generation as it is consumed; reading a file is not generation.
   */
  measureThroughput?: boolean;
  onProgress?: ProgressCallback;
  /** The lock on `out` when the caller took it already (eval --model takes it before loading weights). */
  lock?: RunLock;
  /** Notices such as a repaired torn last line (default: stderr). */
  onWarning?: (message: string) => void;
}

export interface GradingOutcome {
  /** Every graded problem (from the results file and from this run), in input order. */
  results: EvalResult[];
  summary: EvalSummary;
  /** Problems that were already in `out` when the run started. */
  resumed: number;
  /** Problems graded by this run. */
  graded: number;
}

/**
 * Grade completions as they arrive and append each result to `out`. Every prediction's id must be
 * one of `questions`; a prediction for a problem already in `out` is skipped (that is how a
 * restarted run continues), a second prediction for the same problem is an error.
 */
export async function runGrading(
  questions: readonly GoldQuestion[],
  predictions: Iterable<Prediction> | AsyncIterable<Prediction>,
  options: GradingOptions = {},
): Promise<GradingOutcome> {
  if (options.out === undefined) return gradeInto(questions, predictions, options);
  // One writer per results file: a second one would grade every problem twice into it.
  return withRunLock(options.out, 'file', options.lock, (lock) => gradeInto(questions, predictions, { ...options, lock }));
}

async function gradeInto(
  questions: readonly GoldQuestion[],
  predictions: Iterable<Prediction> | AsyncIterable<Prediction>,
  options: GradingOptions,
): Promise<GradingOutcome> {
  const byId = new Map(questions.map((q) => [q.id, q]));
  const done = new Map<string, EvalResult>();
  let appender: JsonlAppender | null = null;
  if (options.out !== undefined) {
    mkdirSync(dirname(options.out), { recursive: true });
    if (options.overwrite) writeFileAtomic(options.out, '');
    if (existsSync(options.out)) {
      for (const r of readResults(options.out)) {
        if (!byId.has(r.id)) {
          throw new UserError(`results file ${options.out} has problem id "${r.id}", which is not in the input: it belongs to another run (use --overwrite to start it afresh, or another --out)`);
        }
        done.set(r.id, r);
      }
    }
    appender = openAppendLog(options.out, options.onWarning);
  }
  const resumed = done.size;
  const fresh = new Map<string, EvalResult>();
  const t0 = performance.now();
  let tokens = 0;
  try {
    for await (const p of predictions) {
      const question = byId.get(p.id);
      if (!question) throw new UserError(`a completion has id "${p.id}", which is not a problem in the input`);
      if (done.has(p.id)) continue;
      if (fresh.has(p.id)) throw new UserError(`problem "${p.id}" has two completions; give one per problem`);
      const result = gradePrediction(question, p, options.equivalence);
      appender?.append(result);
      fresh.set(p.id, result);
      tokens += p.completionTokens ?? 0;
      options.onProgress?.({ stage: 'eval', done: resumed + fresh.size, total: questions.length, unit: 'problems' });
    }
  } finally {
    appender?.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const results = questions.map((q) => done.get(q.id) ?? fresh.get(q.id)).filter((r): r is EvalResult => r !== undefined);
  const summary = summarizeResults(results, options.measureThroughput ? { tokens, seconds } : undefined);
  return { results, summary, resumed, graded: fresh.size };
}
