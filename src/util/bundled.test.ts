/**
 * bundledModel: absolute paths inside the package, independent of the working directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledModel, BUNDLED_MODELS, type BundledModelName } from './bundled.js';
import { testTempDir } from '../testing/tmp.js';

// Computed here independently of bundled.ts: the test is compiled to dist/src/util/.
const repoModels = fileURLToPath(new URL('../../../models/', import.meta.url));

test('bundledModel names the model directories inside the package, whatever the working directory', () => {
  const before = process.cwd();
  try {
    process.chdir(testTempDir('lr-bundled-')); // node --test runs each file in its own process
    for (const name of BUNDLED_MODELS) {
      const dir = bundledModel(name);
      assert.ok(isAbsolute(dir), `${dir} is absolute`);
      assert.equal(realpathSync(dir), realpathSync(join(repoModels, name)));
      for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(existsSync(join(dir, f)), `${name}/${f}`);
    }
  } finally {
    process.chdir(before);
  }
});

test('bundledModel rejects a name it does not ship, listing the ones it does', () => {
  assert.throws(() => bundledModel('models/expert' as BundledModelName), /unknown bundled model "models\/expert"; expected one of 'expert', 'amateur'/);
});
