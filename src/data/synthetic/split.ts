/**
 * Which split a problem belongs to is a function of its arithmetic, not of the seed that drew it:
 * the canonical expression (operands and operations, independent of names, objects, wording and the
 * order of independent steps) is hashed into 20 buckets, 16 for train, 2 for dev and 2 for test.
 * The generator for a split keeps only the problems that hash into it. So, whatever the seeds and
 * counts, no computation — and hence no question text, since a question's text fixes its program —
 * appears in two splits; a test problem is never a rewording of a train problem.
 */
import { fnv1a32 } from './hash.js';
import { canonicalExpression, type Program } from './program.js';

export type Split = 'train' | 'dev' | 'test';

export const SPLITS: readonly Split[] = ['train', 'dev', 'test'];

/** Out of 20 buckets: train 80%, dev 10%, test 10%. */
const BUCKETS = 20;
const TRAIN_BUCKETS = 16;
const DEV_BUCKETS = 2;

export function splitOf(program: Program): Split {
  const bucket = fnv1a32(`lightreasoner-synthetic-split:${canonicalExpression(program)}`) % BUCKETS;
  if (bucket < TRAIN_BUCKETS) return 'train';
  return bucket < TRAIN_BUCKETS + DEV_BUCKETS ? 'dev' : 'test';
}
