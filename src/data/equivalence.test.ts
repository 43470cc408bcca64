import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainEquivalence, isEquivalent, normalizeAnswer, parseNumber, type EquivalenceRule } from './equivalence.js';

// [prediction, gold, rule that should decide] — hand-written tricky cases.
const same: Array<[string, string, EquivalenceRule]> = [
  ['18', '18', 'string'],
  ['18.', '18', 'string'],
  ['18.0', '18', 'string'],
  ['18.000', '18', 'string'],
  ['$18', '18', 'string'],
  ['\\$18', '18', 'string'],
  ['\\$1,250.00', '1250', 'string'],
  ['1,234,567', '1234567', 'string'],
  ['1{,}000', '1000', 'string'],
  ['1\\,000', '1000', 'string'],
  ['18 dollars', '18', 'string'],
  ['18 \\text{ dollars}', '18', 'string'],
  ['\\text{18 dollars}', '18', 'string'],
  ['18\\text{ apples per day}', '18', 'string'],
  ['5 km/h', '5', 'string'],
  ['12cm', '12', 'string'],
  ['30^\\circ', '30', 'string'],
  ['x = 5', '5', 'string'],
  ['-3', '-3', 'string'],
  ['−3', '-3', 'string'],
  ['+7', '7', 'string'],
  ['.5', '0.5', 'string'],
  ['\\dfrac{3}{4}', '\\frac{3}{4}', 'string'],
  ['\\frac34', '\\frac{3}{4}', 'string'],
  ['\\left( 2 \\right)', '(2)', 'string'],
  ['\\sqrt{2}', '\\sqrt{2}', 'string'],
  ['ABC', 'abc', 'string'],
  ['3/4', '0.75', 'numeric'],
  ['\\frac{3}{4}', '0.75', 'numeric'],
  ['\\tfrac{3}{4}', '3/4', 'numeric'],
  ['-\\frac{1}{2}', '-0.5', 'numeric'],
  ['\\frac{-1}{2}', '-0.5', 'numeric'],
  ['\\frac{\\frac{1}{2}}{2}', '0.25', 'numeric'],
  ['0.3333', '1/3', 'numeric'],
  ['3.50', '3.5', 'numeric'],
  ['100000.5', '100000', 'numeric'],
  ['75%', '75', 'string'],
  ['75\\%', '0.75', 'percent'],
  ['0.75', '75', 'percent'],
  ['7500', '75', 'percent'],
  // The toolkit's math_equal drops {} and () when a side is not a number: \boxed{{7}} extracts {7}.
  ['{7}', '7', 'brackets'],
  ['{{1,018}}', '1018', 'brackets'],
  ['[7]', '7', 'brackets'],
  ['(\sqrt{2})', '\sqrt{2}', 'brackets'],
];

for (const [pred, gold, rule] of same) {
  test(`${JSON.stringify(pred)} matches gold ${JSON.stringify(gold)} by the ${rule} rule`, () => {
    const v = explainEquivalence(pred, gold);
    assert.equal(v.rule, rule, `normalised ${JSON.stringify(v.normalizedPred)} vs ${JSON.stringify(v.normalizedGold)}`);
    assert.equal(v.equivalent, true);
  });
}

const different: Array<[string | null, string]> = [
  ['17', '18'],
  ['18.01', '18'],
  ['1.8', '18'],
  ['180', '18'],
  ['-18', '18'],
  ['0.7499', '0.75'],
  ['1,2', '12'],
  ['2x', '2'],
  ['3/4', '4'],
  ['\\frac{3}{4}', '3'],
  ['18+2', '20'],
  ['', '18'],
  [null, '18'],
  ['\\text{dollars}', '18'],
  ['0', '0.00001'],
  ['{8}', '7'],
  ['{}', '0'],
  // Both numbers: the bracket rule never applies, so its false match (both read "\frac123") is avoided.
  ['\\frac{12}{3}', '\\frac{1}{23}'],
];

for (const [pred, gold] of different) {
  test(`${JSON.stringify(pred)} does not match gold ${JSON.stringify(gold)}`, () => {
    assert.equal(isEquivalent(pred, gold), false);
  });
}

test('numeric tolerance is relative 1e-4 of the larger magnitude, as Python math.isclose', () => {
  assert.equal(isEquivalent('1000.09', '1000'), true); // |Δ| = 0.09 <= 1e-4 * 1000.09
  assert.equal(isEquivalent('1000.11', '1000'), false); // 0.11 > 0.100011
  assert.equal(isEquivalent('0.00010001', '0.0001'), true);
  assert.equal(isEquivalent('0.00010002', '0.0001'), false);
});

test('without percent scaling only an explicit % sign allows the /100 reading', () => {
  const strict = { percentScaling: false };
  assert.equal(isEquivalent('0.75', '75', strict), false);
  assert.equal(isEquivalent('7500', '75', strict), false);
  assert.equal(isEquivalent('75%', '0.75', strict), true);
  assert.equal(isEquivalent('0.75', '75%', strict), true);
  assert.equal(isEquivalent('75%', '75', strict), true);
  assert.equal(isEquivalent('0.75%', '75', strict), false);
  assert.equal(isEquivalent('7500%', '75', strict), true); // 7500% is 75
});

test('normalizeAnswer writes equal values the same way', () => {
  assert.equal(normalizeAnswer(' \\$ 1,234.50 '), '1234.50');
  assert.equal(normalizeAnswer('\\dfrac12'), '\\frac{1}{2}');
  assert.equal(normalizeAnswer('k = -.5'), '-0.5');
  assert.equal(normalizeAnswer('18 \\text{ m}^2'), '18');
});

test('parseNumber accepts whole numbers, decimals, fractions and \\frac, and nothing else', () => {
  assert.equal(parseNumber('12'), 12);
  assert.equal(parseNumber('-3.25'), -3.25);
  assert.equal(parseNumber('1,234'), 1234);
  assert.equal(parseNumber('6/4'), 1.5);
  assert.equal(parseNumber('\\frac{6}{4}'), 1.5);
  assert.equal(parseNumber('\\frac12'), 0.5);
  assert.equal(parseNumber('1,23'), null);
  assert.equal(parseNumber('1/0'), null);
  assert.equal(parseNumber('\\frac{1}{0}'), null);
  assert.equal(parseNumber('12a'), null);
  assert.equal(parseNumber(''), null);
});
