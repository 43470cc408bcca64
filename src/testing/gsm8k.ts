/**
 * The real GSM8K test set for the tests that run on it: it sits beside the repository as ../shared
 * (or is named by LIGHTREASONER_GSM8K_TEST, e.g. in a worktree). Tests pass `gsm8kSkip` as their
 * `skip` option, so a checkout without the data skips them and says why.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/src/testing/ → package root.
const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));
const candidates = [process.env.LIGHTREASONER_GSM8K_TEST, join(packageRoot, '..', 'shared', 'data', 'gsm8k', 'test.jsonl')]
  .filter((p): p is string => p !== undefined && p !== '');

/** Path of GSM8K's test.jsonl, or undefined when it is not here. */
export const gsm8kTest: string | undefined = candidates.find((p) => existsSync(p));

export const gsm8kSkip: string | false = gsm8kTest === undefined
  ? `GSM8K test set not found (looked for ${candidates.join(', ')}); set LIGHTREASONER_GSM8K_TEST to its test.jsonl to run this test`
  : false;
