import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contrastVsGold } from './contrast-vs-gold.js';
import { testTempDir } from '../../src/testing/tmp.js';

const lines = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).join('\n') + '\n';

test('contrast-vs-gold counts, at kept on-gold steps where label and Expert differ, which one continues the gold solution', () => {
  const dir = testTempDir('lr-cvg-');
  const q = 'Ann has 3 apples. She buys 4 more. How many apples?';
  writeFileSync(join(dir, 'q.jsonl'), lines([{ question: q, answer: 'She has 3 + 4 = 7 apples.\n#### 7' }]));
  // Generated ids: the Expert's greedy token at step 1 is id 11 ("8", wrong), at step 2 id 20 (" +", right).
  writeFileSync(join(dir, 's.trajectories.jsonl'), lines([{ id: 'a', generated_token_ids: [10, 11, 20, 30] }]));
  const rec = (step: number, prefix: string, tokens: string[], token_ids: number[], weights: number[]) => ({ id: 'a', prompt_id: q, step, prefix, tokens, token_ids, weights });
  writeFileSync(join(dir, 's.jsonl'), lines([
    rec(1, 'She has 3 + 4 = ', ['7', '8'], [12, 11], [0.6, 0.4]),  // label "7" right, Expert "8" wrong: a digit step
    rec(2, 'She has 3', [' +', ' -'], [20, 21], [0.3, 0.7]),         // label " -" wrong, Expert " +" right
    rec(3, 'She has 3 +', [' 4'], [30], [1]),                         // label = Expert: not counted
    rec(1, 'He has', ['x'], [11], [1]),                               // off the gold path: not counted
  ]));
  const r = contrastVsGold(join(dir, 's.jsonl'), join(dir, 'q.jsonl'));
  assert.deepEqual(r, { keptSteps: 4, onGold: 3, differ: 2, expertRight: 1, labelRight: 1, digits: { differ: 1, expertRight: 0, labelRight: 1 } });
});

test('contrast-vs-gold names a missing trajectories file and a malformed line', () => {
  const dir = testTempDir('lr-cvg-');
  writeFileSync(join(dir, 'q.jsonl'), '{"question": "x", "answer": "#### 1"}\n');
  writeFileSync(join(dir, 's.jsonl'), '');
  assert.throws(() => contrastVsGold(join(dir, 's.jsonl'), join(dir, 'q.jsonl')), /trajectories file.*not found: .*s\.trajectories\.jsonl/);
  writeFileSync(join(dir, 's.trajectories.jsonl'), '{"id": "a"}\nnot json\n');
  assert.throws(() => contrastVsGold(join(dir, 's.jsonl'), join(dir, 'q.jsonl')), /s\.trajectories\.jsonl: line 2 is not JSON/);
});
