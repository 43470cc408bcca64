import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectRows } from './run.js';
import { ROWS } from './spec.js';
import { UserError } from '../../src/util/errors.js';

test('--rows keeps the table order and rejects unknown ids, naming the valid ones', () => {
  assert.deepEqual(selectRows(undefined).map((r) => r.id), ROWS.map((r) => r.id));
  assert.deepEqual(selectRows('score, train').map((r) => r.id), ['train', 'score']);
  assert.throws(() => selectRows('train,nope'), (e: unknown) => e instanceof UserError && /"nope"/.test(e.message) && /generate-b8/.test(e.message));
  assert.throws(() => selectRows(','), UserError);
});
