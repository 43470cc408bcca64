/**
 * The single place where a model reference — what a user passes as --model, --expert, --amateur,
 * or a library caller as the first argument of loadModel — becomes a local directory. Nothing
 * else interprets references: every loader calls resolveModelDir first and works on the directory
 * it returns.
 *
 * Today a reference is a path to a Hugging Face model directory. Other kinds of reference (a Hub id
 * ORG/NAME served from the Hugging Face cache or downloaded) are resolved here and only here, which
 * is why this is async and takes options.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError, errorMessage } from '../util/errors.js';

export interface ResolveModelOptions {
  /** What the reference names, in messages: "model" (default), "Expert model", ... */
  what?: string;
}

/** Bound a user-given reference in a message. */
function shown(ref: string): string {
  return ref.length > 200 ? `${ref.slice(0, 200)}…` : ref;
}

/** The local model directory `ref` names, or a UserError saying what is wrong with it. */
export async function resolveModelDir(ref: string, opts: ResolveModelOptions = {}): Promise<string> {
  const what = opts.what ?? 'model';
  if (typeof ref !== 'string' || ref.trim() === '') throw new UserError(`${what} reference is empty; give a model directory (config.json, model.safetensors and the tokenizer files)`);
  let isDir: boolean;
  try {
    // A local stat is instant; awaiting fs.promises here would only add an event-loop turn.
    isDir = statSync(ref).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError(`${what} '${shown(ref)}' not found: no such directory (${shown(resolve(ref))})`);
    throw new UserError(`${what} '${shown(ref)}' cannot be read: ${errorMessage(e)}`, { cause: e });
  }
  if (!isDir) throw new UserError(`${what} '${shown(ref)}' is not a directory (${shown(resolve(ref))}); a model is a Hugging Face model directory with config.json, model.safetensors and the tokenizer files`);
  return ref;
}
