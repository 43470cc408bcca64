import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyModelDir } from '../model/testing.js';
import { loadTokenizer } from '../tokenizer/hf-tokenizer.js';
import { loadModelDir } from '../model/model-dir.js';
import { exportGguf } from '../export/gguf-model.js';
import { assertGgufVocabulary, cachedGgufPath, ensureGguf } from './gguf-cache.js';

const work = mkdtempSync(join(tmpdir(), 'lr-gguf-cache-'));
const a = tinyModelDir({ architecture: 'qwen2' }, 1);
const b = tinyModelDir({ architecture: 'qwen2', tokenizerVocab: 300 }, 1);
after(() => { for (const d of [work, a, b]) rmSync(d, { recursive: true, force: true }); });

test('a model is exported into the cache once and reused; dtype and adapter give other files', () => {
  const cache = join(work, 'cache');
  const first = ensureGguf(a, { cacheDir: cache });
  assert.equal(first.exported, true);
  const mtime = statSync(first.path).mtimeMs;
  const again = ensureGguf(a, { cacheDir: cache });
  assert.deepEqual(again, { path: first.path, exported: false });
  assert.equal(statSync(first.path).mtimeMs, mtime);
  assert.notEqual(cachedGgufPath(a, null, 'f16', cache), first.path);
  mkdirSync(join(work, 'lora'), { recursive: true }); // an adapter directory (fingerprints refuse a path that is none)
  assert.notEqual(cachedGgufPath(a, join(work, 'lora'), 'f32', cache), first.path);
  assert.notEqual(cachedGgufPath(b, null, 'f32', cache), first.path);
});

test('a given GGUF must hold our tokenizer\'s tokens at every id and vocab_size tokens in all', () => {
  const gguf = join(work, 'a.gguf');
  exportGguf(a, gguf);
  const tokA = loadTokenizer(a), tokB = loadTokenizer(b);
  assertGgufVocabulary(gguf, tokA, loadModelDir(a).config.vocabSize, a);
  assert.throws(() => assertGgufVocabulary(gguf, tokA, 999, a), /holds \d+ tokens but .*config\.json has vocab_size 999/);
  assert.throws(() => assertGgufVocabulary(gguf, tokB, loadModelDir(a).config.vocabSize, b), /token \d+ is .* but the tokenizer in .* has .*; llama\.cpp would read our token ids as other tokens/);
});
