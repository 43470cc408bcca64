/**
 * Loading models in CLI commands, with one progress bar per model.
 */
import { loadLanguageModel, type LanguageModel } from '../model/load.js';
import type { ProgressCallback } from '../util/progress.js';

/** loadLanguageModel with its progress shown as a bar. */
export function loadModelForCli(dir: string, adapter: string | undefined, progress: ProgressCallback): LanguageModel {
  return loadLanguageModel(dir, { ...(adapter !== undefined ? { adapter } : {}), onProgress: progress });
}
