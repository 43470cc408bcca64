/**
 * The settings an `eval --model` results file was started with, kept beside it
 * (`results.jsonl` → `results.manifest.json`), so that a restarted run continues only when it
 * would write what the first run would have: same model (and adapter), prompt, token budget and
 * batch size. Otherwise one results file would silently mix two models' answers.
 */
import { existsSync, statSync } from 'node:fs';
import { UserError } from '../util/errors.js';
import { readManifest, settingDifferences, writeManifest } from '../util/run-dir.js';

export interface EvalManifest {
  lightreasoner_eval: 1;
  model: { dir: string; fingerprint: string };
  adapter: string | null;
  /** The preset name, or the template file's text (a file edited between runs is a new prompt). */
  prompt: string;
  maxNewTokens: number;
  /** Chunk size: part of what fixes the floating-point sums, so part of the run's identity. */
  batchSize: number;
  /** What ran the model, when not the engine. */
  backend?: string;
  /** Contrastive decoding (baseline): the Amateur and the CD parameters. */
  contrastiveDecoding?: { amateur: { dir: string; fingerprint: string }; alpha: number; beta: number };
}

/** Whether `out` exists with something in it: a run to continue (or to refuse). */
function hasResults(out: string): boolean {
  return existsSync(out) && statSync(out).size > 0;
}

export function evalManifestPath(resultsPath: string): string {
  return resultsPath.endsWith('.jsonl') ? `${resultsPath.slice(0, -'.jsonl'.length)}.manifest.json` : `${resultsPath}.manifest.json`;
}

/**
 * Refuse to continue `out` when it was started with other settings, or was not written by
 * `eval --model` at all. Writes nothing: call it before loading weights, and `writeEvalManifest`
 * once the run is sure to start.
 */
export function checkResultsFile(out: string, want: EvalManifest, overwrite: boolean): void {
  const path = evalManifestPath(out);
  if (hasResults(out) && !overwrite) {
    const have = readManifest<Partial<EvalManifest>>(path, 'eval manifest');
    if (have === null) {
      throw new UserError(`${out} already has results but no manifest (${path}): it was not written by eval --model, so it cannot be continued. Use --overwrite to start it afresh, or another --out`);
    }
    const diffs = settingDifferences([
      { label: '--model (weights fingerprint)', was: have.model?.fingerprint, now: want.model.fingerprint },
      { label: '--prompt', was: have.prompt, now: want.prompt },
      { label: '--max-new-tokens', was: have.maxNewTokens, now: want.maxNewTokens },
      { label: '--batch-size', was: have.batchSize, now: want.batchSize },
      { label: '--backend', was: have.backend ?? 'engine', now: want.backend ?? 'engine' },
      { label: 'contrastive decoding (--amateur, --cd-alpha, --cd-beta)', was: have.contrastiveDecoding ?? null, now: want.contrastiveDecoding ?? null },
    ]);
    if (diffs.length > 0) {
      throw new UserError(`${out} was started with other settings (${diffs.join('; ')}). Continue it with the original arguments, use --overwrite to start it afresh, or write to another --out`);
    }
  }
}

/**
 * The batch size a results file with results in it was started with, or null (none yet, or no
 * manifest). The engine writes the same completions at any batch size, so a caller with a default
 * of its own (the demo) continues an older run with that run's batch size instead of refusing it.
 */
export function existingEvalBatchSize(out: string): number | null {
  if (!hasResults(out)) return null;
  const have = readManifest<Partial<EvalManifest>>(evalManifestPath(out), 'eval manifest');
  return typeof have?.batchSize === 'number' ? have.batchSize : null;
}

export function writeEvalManifest(out: string, manifest: EvalManifest): void {
  writeManifest(evalManifestPath(out), manifest);
}
