/**
 * The settings an `eval --model` results file was started with, kept beside it
 * (`results.jsonl` → `results.manifest.json`), so that a restarted run continues only when it
 * would write what the first run would have: same model (and adapter), prompt, token budget and
 * batch size. Otherwise one results file would silently mix two models' answers.
 */
import { existsSync, statSync } from 'node:fs';
import { readJsonFile, writeJsonAtomic } from '../util/fsx.js';
import { UserError } from '../util/errors.js';

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
  const hasResults = existsSync(out) && statSync(out).size > 0;
  if (hasResults && !overwrite) {
    if (!existsSync(path)) {
      throw new UserError(`${out} already has results but no manifest (${path}): it was not written by eval --model, so it cannot be continued. Use --overwrite to start it afresh, or another --out`);
    }
    const have = readJsonFile<Partial<EvalManifest>>(path, 'eval manifest');
    const diffs: string[] = [];
    const cmp = (what: string, a: unknown, b: unknown): void => {
      if (JSON.stringify(a) !== JSON.stringify(b)) diffs.push(`${what}: was ${JSON.stringify(a)}, now ${JSON.stringify(b)}`);
    };
    cmp('--model (weights fingerprint)', have.model?.fingerprint, want.model.fingerprint);
    cmp('--prompt', have.prompt, want.prompt);
    cmp('--max-new-tokens', have.maxNewTokens, want.maxNewTokens);
    cmp('--batch-size', have.batchSize, want.batchSize);
    cmp('--backend', have.backend ?? 'engine', want.backend ?? 'engine');
    cmp('contrastive decoding (--amateur, --cd-alpha, --cd-beta)', have.contrastiveDecoding ?? null, want.contrastiveDecoding ?? null);
    if (diffs.length > 0) {
      throw new UserError(`${out} was started with other settings (${diffs.join('; ')}). Continue it with the original arguments, use --overwrite to start it afresh, or write to another --out`);
    }
  }
}

export function writeEvalManifest(out: string, manifest: EvalManifest): void {
  writeJsonAtomic(evalManifestPath(out), manifest);
}
