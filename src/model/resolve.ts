/**
 * The single place where a model reference — what a user passes as --model, --expert, --amateur,
 * or a library caller as the first argument of loadModel — becomes a local directory. Nothing
 * else interprets references: every loader calls resolveModelDir first and works on the directory
 * it returns.
 *
 * A reference is a path to a Hugging Face model (or adapter) directory, or a Hub id ORG/NAME that
 * is not a local path: that one is served from the Hugging Face cache shared with Python's
 * huggingface_hub, downloaded into it when absent (src/hub/resolve.ts), and the snapshot directory
 * is what the loaders then read. Hence async, with a revision and progress.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isHubId, resolveModelRef, type ModelRefKind } from '../hub/index.js';
import { UserError, errorMessage } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';

export interface ResolveModelOptions {
  /** What the reference names, in messages: "model" (default), "Expert model", ... */
  what?: string;
  /** Hub ids: branch, tag or commit (default main). Refused for a local path. */
  revision?: string;
  /** A model (default) or a LoRA adapter: which files a Hub download fetches. */
  kind?: ModelRefKind;
  /** Hub downloads report here. */
  onProgress?: ProgressCallback;
}

/** Bound a user-given reference in a message. */
function shown(ref: string): string {
  return ref.length > 200 ? `${ref.slice(0, 200)}…` : ref;
}

/** The local model directory `ref` names, or a UserError saying what is wrong with it. */
export async function resolveModelDir(ref: string, opts: ResolveModelOptions = {}): Promise<string> {
  const what = opts.what ?? opts.kind ?? 'model';
  if (typeof ref !== 'string' || ref.trim() === '') throw new UserError(`${what} reference is empty; give a model directory (config.json, model.safetensors and the tokenizer files) or a Hugging Face id ORG/NAME`);
  if (!existsSync(ref) && isHubId(ref)) {
    return resolveModelRef(ref, {
      kind: opts.kind ?? 'model',
      ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  }
  if (opts.revision !== undefined) throw new UserError(`a revision (${opts.revision}) picks a version of a Hugging Face id, but ${shown(ref)} is a local path; drop the revision or name the Hub id`);
  let isDir: boolean;
  try {
    // A local stat is instant; awaiting fs.promises here would only add an event-loop turn.
    isDir = statSync(ref).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError(`${what} '${shown(ref)}' not found: no such directory (${shown(resolve(ref))})`);
    throw new UserError(`${what} '${shown(ref)}' cannot be read: ${errorMessage(e)}`, { cause: e });
  }
  if (!isDir) throw new UserError(`${what} '${shown(ref)}' is not a directory (${shown(resolve(ref))}); a model is a Hugging Face model directory with config.json, model.safetensors and the tokenizer files, or a Hub id ORG/NAME`);
  return ref;
}
