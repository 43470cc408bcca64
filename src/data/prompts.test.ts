import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { buildMessages, resolvePrompt } from './prompts.js';
import { testTempDir } from '../testing/tmp.js';

const dir = testTempDir('lr-prompts-');

test('qwen25-math-cot is the toolkit system prompt followed by the question', () => {
  assert.deepEqual(buildMessages(resolvePrompt('qwen25-math-cot'), 'What is 2+2?'), [
    { role: 'system', content: 'Please reason step by step, and put your final answer within \\boxed{}.' },
    { role: 'user', content: 'What is 2+2?' },
  ]);
});

test('plain is the question alone as the user message', () => {
  assert.deepEqual(buildMessages(resolvePrompt('plain'), 'Q?'), [{ role: 'user', content: 'Q?' }]);
});

test('a template file fills every {question} placeholder literally and drops the final newline', () => {
  const p = join(dir, 'tpl.txt');
  writeFileSync(p, 'Solve: {question}\nRestated: {question}\nEnd with \\boxed{}.\n');
  assert.deepEqual(buildMessages(resolvePrompt(p), 'Pay $& and $1?'), [
    { role: 'user', content: 'Solve: Pay $& and $1?\nRestated: Pay $& and $1?\nEnd with \\boxed{}.' },
  ]);
});

test('an unknown preset or a template without {question} is a UserError naming the file', () => {
  assert.throws(() => resolvePrompt('qwen-cot'), (e: unknown) => e instanceof UserError && /not a preset \(qwen25-math-cot, plain\)/.test(e.message));
  const p = join(dir, 'bad.txt');
  writeFileSync(p, 'Solve this.\n');
  assert.throws(() => resolvePrompt(p), (e: unknown) => e instanceof UserError && e.message.includes(p) && /\{question\}/.test(e.message));
});
