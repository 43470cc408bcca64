import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testTempDir } from '../../testing/tmp.js';
import { writeCorpusJsonl } from './corpus-jsonl.js';
import { generateGeneralDocuments } from './general.js';
import { generateMathDocuments } from './math.js';

test('a corpus is written as one {"id", "kind", "text"} line per document, in order', () => {
  const dir = testTempDir('corpus-jsonl-');
  const docs = [...generateGeneralDocuments({ count: 5, seed: 1 }), ...generateMathDocuments({ count: 3, seed: 1 })];
  const file = join(dir, 'c.jsonl');
  writeCorpusJsonl(file, docs);
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(lines.map((l) => JSON.parse(l) as unknown), docs.map((d) => ({ id: d.id, kind: d.kind, text: d.text })));
});
