/**
 * Hub ids in CLI commands: the --revision flags, and resolving a command's model and adapter options
 * to local directories (with a download bar when something is fetched) before anything reads them.
 */
import type { Command } from 'commander';
import { cliProgressCallback } from '../util/progress.js';
import { resolveModelDir } from '../model/resolve.js';
import { DEFAULT_REVISION } from '../hub/resolve.js';

const REVISION_HELP = `branch, tag or commit hash (default ${DEFAULT_REVISION}); a commit hash already in the Hub cache needs no network`;

/** `--revision <rev>` for the command's main model (`what`), and `--amateur-revision` when it takes an Amateur. */
export function addRevisionOptions(cmd: Command, what: string, amateur = false): Command {
  cmd.option('--revision <rev>', `${what} as a Hub id: ${REVISION_HELP}`);
  if (amateur) cmd.option('--amateur-revision <rev>', `--amateur as a Hub id: ${REVISION_HELP}`);
  return cmd;
}

/** A model directory for a --model/--expert/--amateur/--base value (model/resolve.ts): itself, or the Hub snapshot of an id, with a download bar. */
export async function resolveCliModel(ref: string, revision?: string, what?: string): Promise<string> {
  const progress = cliProgressCallback();
  try {
    return await resolveModelDir(ref, { ...(revision !== undefined ? { revision } : {}), ...(what !== undefined ? { what } : {}), onProgress: progress });
  } finally {
    progress.stopAll();
  }
}

/** An adapter directory for an --adapter value (a Hub id is taken at its main revision). */
export async function resolveCliAdapter(ref: string | undefined): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  const progress = cliProgressCallback();
  try {
    return await resolveModelDir(ref, { kind: 'adapter', onProgress: progress });
  } finally {
    progress.stopAll();
  }
}
