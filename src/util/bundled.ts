/**
 * Where the installed package keeps what it ships beside the code: the bundled tiny Expert and
 * Amateur (models/). Resolved from this file's own location, never from the working directory, so
 * `bundledModel('expert')` names the same directory from a script anywhere on disk, from the CLI,
 * and from a project that installed lightreasoner into its node_modules.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from './errors.js';

/** The package root: this file is compiled to <root>/dist/src/util/bundled.js. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The instruct-like world's pair (models/expert, models/amateur) and the base-regime world's (models/base-expert, models/base-amateur). */
export const BUNDLED_MODELS = ['expert', 'amateur', 'base-expert', 'base-amateur'] as const;
export type BundledModelName = (typeof BUNDLED_MODELS)[number];

/**
 * The absolute directory of a bundled model (a Hugging Face model directory: config.json,
 * model.safetensors, tokenizer files), ready for any loader or `--model` flag.
 */
export function bundledModel(name: BundledModelName): string {
  const dir = bundledModelPath(name);
  if (!existsSync(join(dir, 'config.json'))) {
    throw new UserError(`bundledModel: the bundled ${name} model is missing (${join(dir, 'config.json')} not found); this installation of lightreasoner is incomplete — reinstall the package`);
  }
  return dir;
}

/** Where a bundled model lives, without checking that it is there (for defaults shown in --help, which must not fail). */
export function bundledModelPath(name: BundledModelName): string {
  if (!(BUNDLED_MODELS as readonly string[]).includes(name)) {
    throw new UserError(`bundledModel: unknown bundled model ${JSON.stringify(name)}; expected one of ${BUNDLED_MODELS.map((n) => `'${n}'`).join(', ')}`);
  }
  return join(PACKAGE_ROOT, 'models', name);
}
