import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from './compare.js';
import { formatResults, formatValue, type RowResult } from './report.js';
import { ROWS } from './spec.js';

test('values are printed in their metric\'s unit', () => {
  assert.equal(formatValue('seconds', 0.0123), '12.30 ms');
  assert.equal(formatValue('tokensPerSecond', 1234.4), '1234 tok/s');
  assert.equal(formatValue('questionsPerSecond', 3.456), '3.46 q/s');
  assert.equal(formatValue('secondsPer1000Records', 12.34), '12.3 s/1k rec');
});

test('a row\'s note is printed under the table, naming the row', () => {
  const row = ROWS[0]!;
  const side = { samples: [{ seconds: 1, units: 1 }], summary: summarize('seconds', [{ seconds: 1, units: 1 }]) };
  const results: RowResult[] = [{ row, ours: side, baseline: null, comparison: null, note: 'forty-two tokens' }];
  const lines = formatResults(results, null).split('\n');
  assert.equal(lines.at(-1), `${row.id}: forty-two tokens`);
  assert.ok(lines[0]!.startsWith('row'));
});
