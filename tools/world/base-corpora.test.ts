import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { testTempDir } from '../../src/testing/tmp.js';
import { UserError } from '../../src/util/errors.js';
import { writeBaseCorpora } from './base-corpora.js';

test('base-corpora writes both corpora once, keeps them on a rerun with the same settings and refuses other settings', () => {
  const out = testTempDir('lr-base-corpora-');
  const s = { general: 20, generalSeed: 1, math: 5, mathSeed: 11 };
  const r = writeBaseCorpora(out, s);
  assert.equal(r.kept, false);
  assert.equal(readFileSync(join(out, 'general.jsonl'), 'utf8').trim().split('\n').length, 20);
  assert.equal(readFileSync(join(out, 'math.jsonl'), 'utf8').trim().split('\n').length, 5);
  assert.ok(r.math.problems >= 10 && r.math.problems <= 25);
  const before = statSync(join(out, 'math.jsonl')).mtimeMs;
  const again = writeBaseCorpora(out, s);
  assert.equal(again.kept, true);
  assert.equal(statSync(join(out, 'math.jsonl')).mtimeMs, before);
  assert.throws(() => writeBaseCorpora(out, { ...s, math: 6 }), (e: unknown) => e instanceof UserError && /other settings/.test(e.message));
});
