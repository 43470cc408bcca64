import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { testTempDir } from '../testing/tmp.js';
import { writeJsonl } from '../train/testing.js';
import { UserError } from '../util/errors.js';
import { readTrainingTexts } from './train-tokenizer.js';

test('plain-text documents are read as texts cut at ChatML markers; GSM8K pairs as their two texts; anything else names its line', () => {
  const dir = testTempDir('lr-tok-text-');
  const file = join(dir, 'corpus.jsonl');
  writeJsonl(file, [
    { id: 'a', kind: 'chat', text: '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n' },
    { question: 'Q?', answer: 'A\n#### 1' },
    { text: 'Plain prose.<|endoftext|>' },
  ]);
  assert.deepEqual(readTrainingTexts([file]), ['user\nHi', '\n', 'assistant\nHello', '\n', 'Q?', 'A\n#### 1', 'Plain prose.']);
  const bad = join(dir, 'bad.jsonl');
  writeJsonl(bad, [{ text: 'ok' }, { text: 'x', question: 'both?' }]);
  assert.throws(() => readTrainingTexts([bad]), (e: unknown) => e instanceof UserError && e.message === `${bad}: line 2: field "answer" is missing, expected a string (or a record with only a "text" string)`);
});
