/**
 * Completions produced elsewhere (vLLM, llama.cpp, an API), one JSON line per problem:
 *   {"id": "q-1a2b3c4d5e6f", "completion": "...", "completionTokens": 311}
 *   {"question": "Janet's ducks lay ...", "completion": "..."}
 * Accepted keys: `completion` (string, required); one of `id` (string or integer, matched to the
 * input's ids), `question` or `prompt` (matched to the input's text, ignoring surrounding
 * whitespace; when several keys are given `id` wins); `completionTokens` (optional, a non-negative
 * integer); `finish` ("stop", "length" or "context") or vLLM's and OpenAI's `finish_reason` ("stop" or
 * "length"; optional, for the format shares of src/eval/formats.ts); `stop` (ours) or vLLM's
 * `stop_reason` when it is a string: the stop token or string that ended it (vLLM says null for the
 * model's EOS and gives an id for a stop token id; neither is recorded). Other keys are ignored, so a
 * results file of ours is also a valid predictions file.
 */
import type { QuestionProblem, QuestionRecord } from '../data/questions.js';
import { formatProblems } from '../data/questions.js';
import { UserError } from '../util/errors.js';
import { readJsonl, tornInputMessage } from '../util/jsonl.js';
import type { Prediction } from './grade.js';
import { FINISHES, type Finish } from './formats.js';

/**
 * Read a predictions file and match each line to a problem of `questions` (read from `inputFile`).
 * Throws a UserError listing (up to 10 of) the malformed lines, the lines that match no problem,
 * and problems given two completions.
 */
export function readPredictions(path: string, questions: readonly QuestionRecord[], inputFile: string): Prediction[] {
  const read = readJsonl<unknown>(path, 'predictions file');
  const problems: QuestionProblem[] = read.problems.map((p) => ({ file: path, line: p.line, message: `not valid JSON (${p.message})` }));
  const torn = tornInputMessage(read);
  if (torn) problems.push({ file: path, line: read.tornLine!, message: torn });
  if (read.records.length === 0 && problems.length === 0) throw new UserError(`predictions file ${path} is empty: expected one JSON object per line with "id" (or "question") and "completion"`);

  const ids = new Set(questions.map((q) => q.id));
  // Text → ids in file order; a question repeated in the input takes completions in turn.
  const byText = new Map<string, string[]>();
  for (const q of questions) {
    const key = (q.question ?? q.prompt!).trim();
    byText.set(key, [...(byText.get(key) ?? []), q.id]);
  }
  const taken = new Map<string, number>();
  const unmatched: QuestionProblem[] = [];
  const predictions: Prediction[] = [];

  for (const { line, value } of read.records) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push({ file: path, line, message: 'expected a JSON object' });
      continue;
    }
    const r = value as Record<string, unknown>;
    if (typeof r.completion !== 'string') {
      problems.push({ file: path, line, message: `expected a string field "completion"; found keys ${Object.keys(r).map((k) => `"${k}"`).join(', ') || 'none'}` });
      continue;
    }
    if (r.completionTokens !== undefined && (typeof r.completionTokens !== 'number' || !Number.isInteger(r.completionTokens) || r.completionTokens < 0)) {
      problems.push({ file: path, line, message: `field "completionTokens" must be a non-negative integer, got ${JSON.stringify(r.completionTokens)}` });
      continue;
    }
    const finish = r.finish !== undefined ? r.finish : r.finish_reason;
    // null is what servers send for a choice still running; here it can only mean "not said".
    if (finish !== undefined && finish !== null && !FINISHES.includes(finish as Finish)) {
      problems.push({ file: path, line, message: `field "${r.finish !== undefined ? 'finish' : 'finish_reason'}" must be one of ${FINISHES.map((x) => JSON.stringify(x)).join(', ')}, got ${JSON.stringify(finish).slice(0, 60)}` });
      continue;
    }
    let id: string | undefined;
    if (r.id !== undefined) {
      if (typeof r.id !== 'string' && !(typeof r.id === 'number' && Number.isInteger(r.id))) {
        problems.push({ file: path, line, message: `field "id" must be a string or an integer, got ${JSON.stringify(r.id)}` });
        continue;
      }
      id = String(r.id);
      if (!ids.has(id)) {
        unmatched.push({ file: path, line, message: `id "${id}" is not in ${inputFile}` });
        continue;
      }
    } else {
      const text = typeof r.question === 'string' ? r.question : typeof r.prompt === 'string' ? r.prompt : undefined;
      if (text === undefined) {
        problems.push({ file: path, line, message: 'expected a field "id", "question" or "prompt" (a string) to match the completion to a problem' });
        continue;
      }
      const candidates = byText.get(text.trim());
      if (!candidates) {
        unmatched.push({ file: path, line, message: `question ${JSON.stringify(clip(text))} is not in ${inputFile}` });
        continue;
      }
      const nextFree = candidates.find((c) => !taken.has(c));
      id = nextFree ?? candidates[0]!;
    }
    const first = taken.get(id);
    if (first !== undefined) {
      problems.push({ file: path, line, message: `a second completion for problem "${id}" (the first is on line ${first})` });
      continue;
    }
    taken.set(id, line);
    const p: Prediction = { id, completion: r.completion };
    if (r.completionTokens !== undefined) p.completionTokens = r.completionTokens as number;
    if (finish !== undefined && finish !== null) p.finish = finish as Finish;
    const stop = typeof r.stop === 'string' ? r.stop : typeof r.stop_reason === 'string' ? r.stop_reason : undefined;
    if (stop !== undefined && p.finish === 'stop') p.stop = stop;
    predictions.push(p);
  }

  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line);
    throw new UserError(`predictions file ${path} has ${problems.length} bad line${problems.length === 1 ? '' : 's'}:\n${formatProblems(problems)}`);
  }
  if (unmatched.length > 0) {
    throw new UserError(`${unmatched.length} of ${read.records.length} completions in ${path} match no problem in ${inputFile}; `
      + `were they made from another input file? (ids of our own are "q-" + a hash of the question unless the input gives "id"; `
      + `leave "id" out and give "question" to match by text)\n${formatProblems(unmatched)}`);
  }
  return predictions;
}

function clip(s: string, max = 60): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
