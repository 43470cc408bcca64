import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonl } from '../../util/jsonl.js';
import { generateProblems } from './generate.js';
import { writeGsm8kJsonl } from './gsm8k-jsonl.js';

test('GSM8K JSONL round-trips: one {id, question, answer} per line, answer ending in "#### N"', () => {
  const dir = mkdtempSync(join(tmpdir(), 'synth-jsonl-'));
  try {
    const problems = generateProblems({ split: 'test', count: 300, seed: 2 });
    const path = join(dir, 'nested', 'test.jsonl');
    writeGsm8kJsonl(path, problems);
    const text = readFileSync(path, 'utf8');
    assert.equal(text.split('\n').length, problems.length + 1, 'one line per problem and a final newline');
    const read = readJsonl<Record<string, unknown>>(path);
    assert.deepEqual(read.problems, []);
    assert.equal(read.tornTail, false);
    assert.equal(read.records.length, problems.length);
    read.records.forEach(({ value }, i) => {
      const p = problems[i]!;
      assert.deepEqual(value, { id: p.id, question: p.question, answer: p.answer });
      // What a GSM8K reader does: the ground truth is the text after "####".
      assert.equal(Number(String(value.answer).split('####').pop()!.trim()), p.answerValue);
    });
    assert.deepEqual(readdirSync(join(dir, 'nested')), ['test.jsonl'], 'no temporary file left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
