import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QuestionRecord } from '../data/questions.js';
import { UserError } from '../util/errors.js';
import { readPredictions } from './predictions.js';
import { testTempDir } from '../testing/tmp.js';

const dir = testTempDir('lr-preds-');
let n = 0;
function file(...records: unknown[]): string {
  const p = join(dir, `preds${n++}.jsonl`);
  writeFileSync(p, records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return p;
}

const questions: QuestionRecord[] = [
  { id: 'q-aaa', line: 1, question: 'How many eggs?', gold: '18' },
  { id: '7', line: 2, question: 'How many ducks?', gold: '3' },
  { id: 'q-ccc', line: 3, prompt: '<|im_start|>user\nRaw?<|im_end|>', gold: '1' },
  { id: 'q-ddd', line: 4, question: 'Asked twice?', gold: '2' },
  { id: 'q-ddd-2', line: 5, question: 'Asked twice?', gold: '2' },
];

test('completions are matched by id (string or integer), by question text or by prompt text', () => {
  const p = file(
    { id: 'q-aaa', completion: 'A', completionTokens: 4 },
    { id: 7, completion: 'B' },
    { prompt: '<|im_start|>user\nRaw?<|im_end|>', completion: 'C' },
    { question: '  Asked twice?\n', completion: 'D1', extra: 'ignored' },
    { question: 'Asked twice?', completion: 'D2' },
  );
  assert.deepEqual(readPredictions(p, questions, 'test.jsonl'), [
    { id: 'q-aaa', completion: 'A', completionTokens: 4 },
    { id: '7', completion: 'B' },
    { id: 'q-ccc', completion: 'C' },
    { id: 'q-ddd', completion: 'D1' },
    { id: 'q-ddd-2', completion: 'D2' },
  ]);
});

test('id wins over question when both are given', () => {
  const p = file({ id: '7', question: 'How many eggs?', completion: 'x' });
  assert.deepEqual(readPredictions(p, questions, 'test.jsonl'), [{ id: '7', completion: 'x' }]);
});

test('completions that match no problem are a UserError listing their lines, ids and the input file', () => {
  const p = file({ id: 'q-aaa', completion: 'ok' }, { id: 'q-zzz', completion: 'x' }, { question: 'Never asked', completion: 'y' });
  assert.throws(() => readPredictions(p, questions, 'test.jsonl'), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /2 of 3 completions in .* match no problem in test\.jsonl/);
    assert.match(e.message, /:2: id "q-zzz" is not in test\.jsonl/);
    assert.match(e.message, /:3: question "Never asked" is not in test\.jsonl/);
    return true;
  });
});

test('malformed lines and second completions for a problem are a UserError naming each line', () => {
  const p = file(
    { id: 'q-aaa', completion: 'ok' },
    '{oops',
    { id: '7', text: 'vLLM calls it text' },
    { completion: 'no key' },
    { id: 'q-aaa', completion: 'again' },
    { id: true, completion: 'x' },
    { id: '7', completion: 'x', completionTokens: 1.5 },
    { question: 'Asked twice?', completion: 'D1' },
    { question: 'Asked twice?', completion: 'D2' },
    { question: 'Asked twice?', completion: 'D3' },
  );
  assert.throws(() => readPredictions(p, questions, 'test.jsonl'), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /has 7 bad lines/);
    assert.match(e.message, /:2: not valid JSON/);
    assert.match(e.message, /:3: expected a string field "completion"; found keys "id", "text"/);
    assert.match(e.message, /:4: expected a field "id", "question" or "prompt"/);
    assert.match(e.message, /:5: a second completion for problem "q-aaa" \(the first is on line 1\)/);
    assert.match(e.message, /:6: field "id" must be a string or an integer/);
    assert.match(e.message, /:7: field "completionTokens" must be a non-negative integer/);
    assert.match(e.message, /:10: a second completion for problem "q-ddd"/);
    return true;
  });
});

test('the finish reason is read as "finish" or as vLLM\'s "finish_reason"; another value is refused naming the line', () => {
  const p = file(
    { id: 'q-aaa', completion: 'A', finish: 'context' },
    { id: '7', completion: 'B', finish_reason: 'length' },
    { id: 'q-ccc', completion: 'C', finish_reason: null },
  );
  assert.deepEqual(readPredictions(p, questions, 'test.jsonl').map((x) => x.finish), ['context', 'length', undefined]);
  const bad = file({ id: 'q-aaa', completion: 'A' }, { id: '7', completion: 'B', finish_reason: 'abort' });
  assert.throws(() => readPredictions(bad, questions, 'test.jsonl'), (e: unknown) => e instanceof UserError
    && /:2: field "finish_reason" must be one of "stop", "length", "context", got "abort"/.test(e.message));
});

test('an empty predictions file is a UserError', () => {
  assert.throws(() => readPredictions(file(), questions, 'test.jsonl'), (e: unknown) => e instanceof UserError && /is empty/.test(e.message));
});
