import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../tokenizer/hf-tokenizer.js';
import { tinyCorpus } from '../tokenizer/testing.js';
import { UserError } from '../util/errors.js';
import { readQuestionAnswerTexts } from './train-tokenizer.js';
import { runCli } from '../testing/cli.js';

process.env.LIGHTREASONER_QUIET = '1';


function jsonl(dir: string, name: string, records: unknown[]): string {
  const p = join(dir, name);
  writeFileSync(p, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return p;
}

const work = mkdtempSync(join(tmpdir(), 'lr-train-tokenizer-'));
after(() => rmSync(work, { recursive: true, force: true }));
// tinyCorpus() alternates questions and answers for its first 400 lines.
const corpus = tinyCorpus();
const pairs = Array.from({ length: 200 }, (_, i) => ({ question: corpus[2 * i], answer: corpus[2 * i + 1] }));
const fileA = jsonl(work, 'a.jsonl', pairs.slice(0, 100));
const fileB = jsonl(work, 'b.jsonl', pairs.slice(100).map((p) => ({ ...p, extra: 1 })));

test('train-tokenizer reads question and answer from every --input file and writes a loadable tokenizer', async () => {
  const out = join(work, 'tok');
  const r = await runCli(['train-tokenizer', '--input', `${fileA},${fileB}`, '--vocab-size', '300', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /trained on 400 texts from .*a\.jsonl, .*b\.jsonl/);
  assert.match(r.stdout, /vocabulary 300 = 256 byte symbols \+ 41 merged tokens \+ 3 special/);
  assert.match(r.stdout, /fingerprint sha256:[0-9a-f]{64}/);
  const tok = loadTokenizer(out);
  assert.equal(tok.vocabSize, 300);
  assert.equal(tok.decode(tok.encode('Natalia has 48 clips.')), 'Natalia has 48 clips.');

  const again = await runCli(['train-tokenizer', '--input', fileA, '--vocab-size', '300', '--out', out]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /tokenizer\.json already exists; pass --force/);
  assert.equal((await runCli(['train-tokenizer', '--input', fileA, '--vocab-size', '300', '--out', out, '--force'])).status, 0);
});

test('bad flags and bad records are refused naming the flag, or the file, line and field', async () => {
  const out = join(work, 'never');
  const bad = await runCli(['train-tokenizer', '--input', fileA, '--vocab-size', 'lots', '--out', out]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--vocab-size must be a positive integer, got "lots"/);
  const small = await runCli(['train-tokenizer', '--input', fileA, '--vocab-size', '100', '--out', out]);
  assert.match(small.stderr, /vocabSize is 100; expected an integer from 259/);
  assert.equal(existsSync(out), false);

  const noAnswer = jsonl(work, 'no-answer.jsonl', [{ question: 'q', answer: 'a' }, { question: 'q2' }]);
  assert.throws(() => readQuestionAnswerTexts([noAnswer]), (e: unknown) => e instanceof UserError && e.message === `${noAnswer}: line 2: field "answer" is missing, expected a string`);
  const notJson = join(work, 'broken.jsonl');
  writeFileSync(notJson, '{"question": "q", "answer": "a"}\n{oops}\n{"question": "q", "answer": "a"}\n');
  assert.throws(() => readQuestionAnswerTexts([notJson]), (e: unknown) => e instanceof UserError && e.message.startsWith(`${notJson}: 1 line(s) are not valid JSON, e.g. line 2`));
  assert.throws(() => readQuestionAnswerTexts([join(work, 'absent.jsonl')]), (e: unknown) => e instanceof UserError && e.message.includes('absent.jsonl'));
});
