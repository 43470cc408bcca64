import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { defaultQuestionId, promptTooLong, readQuestions, requireValidQuestions } from './questions.js';
import { testTempDir } from '../testing/tmp.js';

const dir = testTempDir('lr-questions-');
let fileNo = 0;
function file(text: string): string {
  const p = join(dir, `q${fileNo++}.jsonl`);
  writeFileSync(p, text);
  return p;
}
const lines = (...records: unknown[]): string => records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

test('GSM8K records get the gold after ####, plain records the whole answer, prompt records no template', () => {
  const p = file(lines(
    { question: 'Janet has 16 eggs...', answer: 'She sells 16 - 3 - 4 = <<16-3-4=9>>9.\n#### 1,018' },
    { id: 'p7', question: 'What is 2+2?', answer: 4 },
    { id: 12, prompt: '<|im_start|>user\nWhat is 3+3?<|im_end|>', answer: ' 6 ' },
    { question: 'No answer here' },
  ));
  const read = readQuestions(p);
  assert.deepEqual(read.problems, []);
  assert.deepEqual(read.questions.map((q) => [q.line, q.gold, q.question !== undefined, q.prompt !== undefined]), [
    [1, '1018', true, false],
    [2, '4', true, false],
    [3, '6', false, true],
    [4, undefined, true, false],
  ]);
  assert.deepEqual(read.questions.slice(1, 3).map((q) => q.id), ['p7', '12']);
});

test('a record without id gets q- and the first 12 hex digits of SHA-256 of its trimmed text; repeats get -2, -3', () => {
  const hash = (s: string): string => `q-${createHash('sha256').update(s).digest('hex').slice(0, 12)}`;
  const read = readQuestions(file(lines({ question: ' Same? ' }, { question: 'Other' }, { question: 'Same?' }, { question: 'Same?\n' })));
  const base = hash('Same?');
  assert.equal(defaultQuestionId(' Same? '), base);
  assert.deepEqual(read.questions.map((q) => q.id), [base, hash('Other'), `${base}-2`, `${base}-3`]);
});

test('malformed lines are reported with file and line number and the good lines are kept', () => {
  const p = file(lines(
    { question: 'ok 1', answer: '#### 1' },
    '{not json',
    { answer: '#### 2' },
    { question: 42 },
    { question: 'both', prompt: 'both' },
    [1, 2],
    { id: 'dup', question: 'a' },
    { id: 'dup', question: 'b' },
    { id: 1.5, question: 'c' },
    { question: 'd', answer: '#### ' },
    { question: 'e', answer: { value: 3 } },
    { question: 'ok 2' },
  ));
  const read = readQuestions(p);
  assert.deepEqual(read.questions.map((q) => q.question), ['ok 1', 'a', 'ok 2']);
  assert.deepEqual(read.problems.map((x) => x.line), [2, 3, 4, 5, 6, 8, 9, 10, 11]);
  assert.ok(read.problems.every((x) => x.file === p));
  const messages = read.problems.map((x) => x.message);
  assert.match(messages[0]!, /not valid JSON/);
  assert.match(messages[1]!, /"question" \(or "prompt"\).*"answer"/);
  assert.match(messages[2]!, /"question" must be a non-empty string/);
  assert.match(messages[3]!, /both "question" and "prompt"/);
  assert.match(messages[5]!, /"dup" was already used on line 7/);
});

test('requireValidQuestions lists at most 10 bad lines with their numbers', () => {
  const p = file(lines({ question: 'fine' }, ...Array.from({ length: 12 }, () => '{"q": 1}')));
  const read = readQuestions(p);
  assert.equal(read.problems.length, 12);
  assert.throws(() => requireValidQuestions(read), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /12 malformed lines/);
    assert.match(e.message, new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: `));
    assert.match(e.message, /:11: /);
    assert.doesNotMatch(e.message, /:12: /);
    assert.match(e.message, /and 2 more/);
    return true;
  });
  assert.deepEqual(requireValidQuestions(readQuestions(file(lines({ question: 'x' })))).map((q) => q.question), ['x']);
});

test('an empty or missing file is a UserError that says what was expected', () => {
  assert.throws(() => readQuestions(file('')), (e: unknown) => e instanceof UserError && /is empty: expected one JSON object per line/.test(e.message));
  assert.throws(() => readQuestions(file('\n\n')), UserError);
  assert.throws(() => readQuestions(join(dir, 'absent.jsonl')), (e: unknown) => e instanceof UserError && /not found/.test(e.message));
});

test('a broken last line of an input file is reported, not silently dropped', () => {
  const read = readQuestions(file('{"question": "a"}\n{"question": "b'));
  assert.deepEqual(read.questions.map((q) => q.question), ['a']);
  assert.deepEqual(read.problems.map((x) => [x.line, x.message]), [[2, 'the last line is cut off (not complete JSON and no final newline): the file is truncated']]);
});

test('hostile fields give bounded messages: deeply nested id and answer, a huge id, a record with a million keys', () => {
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const keys = `{${Array.from({ length: 100_000 }, (_, i) => `"k${i}":1`).join(',')}}`;
  const read = readQuestions(file([
    `{"id": ${deep}, "question": "q1"}`,
    `{"question": "q2", "answer": ${deep}}`,
    `{"id": "${'x'.repeat(1_000_000)}", "question": "q3"}`,
    `{"id": "${'x'.repeat(1_000_000)}", "question": "q4"}`,
    keys,
  ].join('\n') + '\n'));
  assert.deepEqual(read.problems.map((p) => p.line), [1, 2, 4, 5]);
  for (const p of read.problems) assert.ok(p.message.length < 400, `line ${p.line}: ${p.message.length} characters`);
  assert.match(read.problems[0]!.message, /field "id" must be .* got \[\[\[/);
  assert.match(read.problems[3]!.message, /found keys "k0", .* and 99990 more/);
});

test('promptTooLong refuses a text far beyond the window without tokenizing it whole, and passes texts that may fit', () => {
  let encoded = 0;
  const probe = { maxTokenBytes: 8, encode: (t: string) => { encoded += t.length; return Array.from({ length: Math.ceil(t.length / 4) }, () => 1); } };
  assert.equal(promptTooLong('a short question', probe, 512), null);
  assert.equal(encoded, 0, 'short texts are left to the caller');
  const huge = 'seven apples and '.repeat(1_200_000); // 20 MB
  const why = promptTooLong(huge, probe, 32_768);
  assert.match(why!, /at least \d+ tokens; the context window is 32768/);
  assert.equal(encoded, 0, 'refused from its byte count alone');
  // Long tokens make the byte bound weak: then only a prefix is tokenized.
  const wide = { ...probe, maxTokenBytes: 4096 };
  assert.match(promptTooLong(huge, wide, 32_768)!, /its first 524288 alone are 131072 tokens/);
  assert.equal(encoded, 524_288);
  assert.match(promptTooLong('x'.repeat(20_000), wide, 1024)!, /first 16384 alone are 4096 tokens; the context window is 1024/);
  // A prefix that tokenizes into few long tokens proves nothing: the caller tokenizes the text and compares exactly.
  const merging = { maxTokenBytes: 4096, encode: (t: string) => Array.from({ length: Math.ceil(t.length / 64) }, () => 1) };
  assert.equal(promptTooLong('x'.repeat(20_000), merging, 1024), null);
});
