import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../util/errors.js';
import { DEFAULT_DIFFICULTY, resolveDifficulty } from './difficulty.js';
import { TEMPLATE_IDS } from './templates/index.js';

test('unset knobs take the defaults, set ones are kept', () => {
  assert.deepEqual(resolveDifficulty(), { ...DEFAULT_DIFFICULTY });
  const d = resolveDifficulty({ maxOps: 5, ops: ['add', 'sub'], maxDigits: undefined });
  assert.equal(d.maxOps, 5);
  assert.deepEqual(d.ops, ['add', 'sub']);
  assert.equal(d.maxDigits, DEFAULT_DIFFICULTY.maxDigits);
  assert.deepEqual(d.templates, [...TEMPLATE_IDS]);
});

test('out-of-range and unknown knobs are refused with the field named', () => {
  const refuses = (partial: Parameters<typeof resolveDifficulty>[0], field: RegExp): void =>
    assert.throws(() => resolveDifficulty(partial), (e: unknown) => e instanceof UserError && field.test(e.message));
  refuses({ minOps: 0 }, /difficulty\.minOps/);
  refuses({ minOps: 3, maxOps: 2 }, /difficulty\.maxOps .*minOps \(3\)/);
  refuses({ maxDigits: 1.5 }, /difficulty\.maxDigits/);
  refuses({ maxMultiplier: 1 }, /difficulty\.maxMultiplier/);
  refuses({ maxResult: 5 }, /difficulty\.maxResult/);
  refuses({ ops: [] }, /difficulty\.ops is empty/);
  refuses({ ops: ['add', 'pow' as 'add'] }, /unknown operation 'pow'/);
  refuses({ templates: ['poetry'] }, /unknown template 'poetry'/);
});

test('error messages use the caller\'s names for fields', () => {
  assert.throws(() => resolveDifficulty({ maxOps: 99 }, (f) => `--${f}`), /--maxOps must be an integer/);
});
