/**
 * What kind of mistakes a model makes on the synthetic world: for every wrong answer in an eval
 * results file, does some worked step "a op b = c" have a wrong c (an arithmetic slip), or are all
 * its steps right and the error elsewhere (a wrong number copied, a wrong operation)? Also counts
 * answers not given in \boxed{} (a format error).
 *
 *   node dist/tools/experiments/error-kinds.js --results R.jsonl [--json]
 */
import { readJsonl } from '../../src/util/jsonl.js';
import { UserError } from '../../src/util/errors.js';

export interface ErrorKinds {
  problems: number;
  wrong: number;
  /** Wrong answers with at least one worked step whose result is miscalculated. */
  arithmetic: number;
  /** Wrong answers whose every worked step is calculated right. */
  otherwise: number;
  /** Answers (right or wrong) not extracted from \boxed{}. */
  unboxed: number;
}

const STEP = /(-?\d+) ([-+*/]) (-?\d+) = (-?\d+)/g;

/** True when some "a op b = c" in the text has c different from a op b (division: exact quotient). */
export function hasArithmeticSlip(text: string): boolean {
  for (const m of text.matchAll(STEP)) {
    const a = Number(m[1]), b = Number(m[3]), c = Number(m[4]);
    const v = m[2] === '+' ? a + b : m[2] === '-' ? a - b : m[2] === '*' ? a * b : a / b;
    if (v !== c) return true;
  }
  return false;
}

export function errorKinds(resultsPath: string): ErrorKinds {
  const r = readJsonl<{ completion: string; correct: boolean; extractedBy?: string | null }>(resultsPath, 'eval results file');
  const bad = r.problems[0];
  if (bad) throw new UserError(`${resultsPath}: line ${bad.line} is not JSON (${bad.message})`);
  const k: ErrorKinds = { problems: 0, wrong: 0, arithmetic: 0, otherwise: 0, unboxed: 0 };
  for (const { value: x, line } of r.records) {
    if (typeof x.completion !== 'string' || typeof x.correct !== 'boolean') throw new UserError(`${resultsPath}: line ${line} has no "completion" and "correct" (is it an eval results file?)`);
    k.problems++;
    if (x.extractedBy !== 'boxed') k.unboxed++;
    if (x.correct) continue;
    k.wrong++;
    if (hasArithmeticSlip(x.completion)) k.arithmetic++;
    else k.otherwise++;
  }
  return k;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--results');
  const path = i >= 0 ? process.argv[i + 1] : undefined;
  if (!path) {
    console.error('usage: error-kinds --results R.jsonl [--json]');
    process.exit(2);
  }
  try {
    const k = errorKinds(path);
    if (process.argv.includes('--json')) console.log(JSON.stringify(k));
    else console.log(`${k.wrong} of ${k.problems} wrong: ${k.arithmetic} with a miscalculated step, ${k.otherwise} with every step calculated right; ${k.unboxed} answers not in \\boxed{}`);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    console.error(`error-kinds: ${e.message}`);
    process.exit(1);
  }
}
