import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commaList, extendedNumber, finiteNumber, integerAtLeast, nonEmptyList, nonNegativeInt, nonNegativeIntList, oneOf, option, optional, positiveInt, wordOrPositiveInt } from './flags.js';

test('flag parsers return typed values and name the flag when the text is not one', () => {
  assert.equal(finiteNumber(' 0.25 ', '--beta'), 0.25);
  assert.throws(() => finiteNumber('abc', '--beta'), /--beta must be a number, got "abc"/);
  assert.throws(() => finiteNumber('', '--beta'), /--beta must be a number/);
  assert.throws(() => finiteNumber('Infinity', '--beta'), /--beta must be a number/);
  assert.equal(positiveInt('12', '--limit'), 12);
  assert.equal(optional(positiveInt, undefined, '--limit'), undefined);
  assert.equal(optional(positiveInt, '3', '--limit'), 3);
  assert.throws(() => positiveInt('0', '--limit'), /--limit must be a positive integer, got "0"/);
  assert.throws(() => positiveInt('1.5', '--limit'), /positive integer/);
  assert.throws(() => positiveInt('99999999999999999999', '--limit'), /positive integer/);
  assert.equal(nonNegativeInt('0', '--first-step'), 0);
  assert.throws(() => nonNegativeInt('-1', '--first-step'), /--first-step must be a non-negative integer, got "-1"/);
});

test('every parser has the (value, flag) shape, and option() makes it commander-ready', () => {
  assert.equal(extendedNumber('Infinity', '--max-grad-norm'), Infinity);
  assert.throws(() => extendedNumber('NaN', '--max-grad-norm'), /--max-grad-norm must be a number, got "NaN"/);
  assert.equal(integerAtLeast('-1', '--max-logprobs', -1), -1);
  assert.throws(() => integerAtLeast('-2', '--max-logprobs', -1), /--max-logprobs must be an integer >= -1, got "-2"/);
  assert.throws(() => integerAtLeast('-1', '--port', 0), /--port must be a non-negative integer, got "-1"/);
  assert.deepEqual(commaList(' a, b,,c ', '--ops'), ['a', 'b', 'c']);
  assert.deepEqual(commaList('', '--export-steps'), []);
  assert.throws(() => nonEmptyList(' , ', '--input'), /--input: expected one or more entries separated by commas/);
  assert.deepEqual(nonNegativeIntList('1, 2,3 4', '--ids'), [1, 2, 3, 4]);
  assert.throws(() => nonNegativeIntList('1,x', '--ids'), /--ids: "x" is not a non-negative integer/);
  assert.throws(() => nonNegativeIntList(' ', '--ids'), /--ids is empty/);
  assert.equal(oneOf('f16', '--dtype', ['f32', 'f16']), 'f16');
  assert.throws(() => oneOf('q8', '--dtype', ['f32', 'f16']), /--dtype must be f32 or f16, got "q8"/);
  assert.equal(wordOrPositiveInt('full', '--server-logprobs', 'full'), 'full');
  assert.equal(wordOrPositiveInt('20', '--server-logprobs', 'full'), 20);
  assert.throws(() => wordOrPositiveInt('0', '--server-logprobs', 'full'), /--server-logprobs must be "full" or a positive integer, got "0"/);
  const parse = option(positiveInt, '--threads');
  assert.equal(parse('4'), 4);
  assert.throws(() => parse('0'), /--threads must be a positive integer, got "0"/);
});
