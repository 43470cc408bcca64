/**
 * Loading models in CLI commands, with one progress bar per model.
 */
import { loadLanguageModel, type LanguageModel } from '../model/load.js';
import type { ProgressCallback } from '../util/progress.js';

/**
 * loadLanguageModel with its progress forwarded until the first event that reports the load
 * complete: the loader's MiB figures are rounded, so "done = total" can arrive several times
 * (and each would open a fresh bar).
 */
export function loadModelForCli(dir: string, adapter: string | undefined, progress: ProgressCallback): LanguageModel {
  let finished = false;
  const onProgress: ProgressCallback = (e) => {
    if (finished) return;
    if (e.done >= e.total) finished = true;
    progress(e);
  };
  return loadLanguageModel(dir, { ...(adapter !== undefined ? { adapter } : {}), onProgress });
}
