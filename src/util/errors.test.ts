import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeValue } from './errors.js';
import { parseJsonStrict, StrictJsonError } from './strict-json.js';

test('describeValue shows small values as JSON and bounds big or deep ones to about 200 characters', () => {
  assert.equal(describeValue('x'), '"x"');
  assert.equal(describeValue([1, 'a', null, true]), '[1, "a", null, true]');
  assert.equal(describeValue({ a: { b: [2] } }), '{"a": {"b": [2]}}');
  assert.equal(describeValue(undefined), 'undefined');
  const big = new Array(5_000_000).fill(1);
  const t0 = Date.now();
  const s = describeValue(big);
  assert.ok(Date.now() - t0 < 1000, 'cost bounded by the output, not the input');
  assert.ok(s.length <= 200 && s.includes('an array of 5000000 items'), s);
  let deep: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) deep = [deep];
  assert.ok(describeValue(deep).length <= 200);
  let deepObj: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) deepObj = { a: deepObj };
  assert.ok(describeValue(deepObj).length <= 200);
  assert.ok(describeValue('y'.repeat(10_000_000)).length <= 200);
  assert.ok(describeValue({ ['k'.repeat(1_000_000)]: 1 }).length <= 200);
});

test('parseJsonStrict agrees with JSON.parse on valid JSON and refuses repeated keys and deep nesting without recursion', () => {
  for (const text of ['{}', '[]', ' {"a": [1, -2.5e3, "x\\u00e9\\n", true, false, null], "b": {"c": {}}} ', '"s"', '0', '[[],[[]]]']) {
    assert.deepEqual(JSON.parse(JSON.stringify(parseJsonStrict(text))), JSON.parse(text), text);
  }
  const proto = parseJsonStrict('{"__proto__": {"x": 1}}') as Record<string, unknown>;
  assert.deepEqual(Object.keys(proto), ['__proto__']);
  for (const [text, msg] of [
    ['{"a":1,"a":2}', /"a" appears twice/],
    ['{"a":{"b":1},"a":3}', /"a" appears twice/],
    ['[' .repeat(100), /nesting deeper than 64/],
    ['['.repeat(1_000_000), /nesting deeper/],
    ['{"a":1,}', /expected an object key/],
    ['[1 2]', /expected "," or "]"/],
    ['{"a" 1}', /expected ":"/],
    ['"a\nb"', /control character/],
    ['"\\x"', /bad escape/],
    ['01', /unexpected data/],
    ['', /unexpected end/],
    ['{"a":1} x', /unexpected data/],
  ] as const) {
    assert.throws(() => parseJsonStrict(text), (e: unknown) => e instanceof StrictJsonError && msg.test(e.message), text.slice(0, 20));
  }
});
