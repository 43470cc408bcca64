/**
 * Synthetic problems as GSM8K JSONL, one `{"id", "question", "answer"}` object per line with the
 * final answer after "####", so every reader of GSM8K reads them.
 */
import { writeFileAtomic } from '../../util/fsx.js';
import type { SyntheticProblem } from './generate.js';

export interface Gsm8kRecord {
  id: string;
  question: string;
  /** Worked solution, then "\n#### <answer>". */
  answer: string;
}

export function toGsm8kRecord(p: SyntheticProblem): Gsm8kRecord {
  return { id: p.id, question: p.question, answer: p.answer };
}

/** Write the whole file atomically: readers see the old file or all of the new one. */
export function writeGsm8kJsonl(path: string, problems: readonly SyntheticProblem[]): void {
  writeFileAtomic(path, problems.map((p) => `${JSON.stringify(toGsm8kRecord(p))}\n`).join(''));
}
