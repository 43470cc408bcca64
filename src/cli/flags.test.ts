import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finiteNumber, nonNegativeInt, positiveInt } from './flags.js';

test('flag parsers return typed values and name the flag when the text is not one', () => {
  assert.equal(finiteNumber(' 0.25 ', '--beta'), 0.25);
  assert.throws(() => finiteNumber('abc', '--beta'), /--beta must be a number, got "abc"/);
  assert.throws(() => finiteNumber('', '--beta'), /--beta must be a number/);
  assert.throws(() => finiteNumber('Infinity', '--beta'), /--beta must be a number/);
  assert.equal(positiveInt('12', '--limit'), 12);
  assert.equal(positiveInt(undefined, '--limit'), undefined);
  assert.throws(() => positiveInt('0', '--limit'), /--limit must be a positive integer, got "0"/);
  assert.throws(() => positiveInt('1.5', '--limit'), /positive integer/);
  assert.throws(() => positiveInt('99999999999999999999', '--limit'), /positive integer/);
  assert.equal(nonNegativeInt('0', '--first-step'), 0);
  assert.throws(() => nonNegativeInt('-1', '--first-step'), /--first-step must be a non-negative integer, got "-1"/);
});
