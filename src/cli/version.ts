/**
 * The package's version, read from package.json. Its own file so that `doctor` can print it without
 * importing the command registry (cli/index.ts), which imports `doctor`.
 */
import { readFileSync } from 'node:fs';

export const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
