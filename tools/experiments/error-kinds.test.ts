import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorKinds, hasArithmeticSlip } from './error-kinds.js';
import { testTempDir } from '../../src/testing/tmp.js';

test('an arithmetic slip is a worked step whose result is not a op b', () => {
  assert.equal(hasArithmeticSlip('Ava has 73 - 55 = 18 candies.\nCarl has 5 * 18 = 90 candies.'), false);
  assert.equal(hasArithmeticSlip('Ava has 73 - 55 = 18 candies.\nCarl has 5 * 18 = 80 candies.'), true);
  assert.equal(hasArithmeticSlip('Each gets 84 / 4 = 21 apples.'), false);
  assert.equal(hasArithmeticSlip('Each gets 84 / 4 = 20 apples.'), true);
});

test('error kinds split the wrong answers by whether a step is miscalculated, and count unboxed answers', () => {
  const f = join(testTempDir('lr-ek-'), 'r.jsonl');
  const rows = [
    { completion: '2 + 2 = 4. The answer is \\boxed{4}.', correct: true, extractedBy: 'boxed' },
    { completion: '2 + 2 = 5. The answer is \\boxed{5}.', correct: false, extractedBy: 'boxed' },
    { completion: '2 + 3 = 5. The answer is \\boxed{5}.', correct: false, extractedBy: 'boxed' },
    { completion: '2 + 2 = 4, so 4', correct: false, extractedBy: 'last-number' },
  ];
  writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  assert.deepEqual(errorKinds(f), { problems: 4, wrong: 3, arithmetic: 1, otherwise: 2, unboxed: 1 });
  writeFileSync(f, '{"id": 1}\n');
  assert.throws(() => errorKinds(f), /r\.jsonl: line 1 has no "completion" and "correct"/);
});
