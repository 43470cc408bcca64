import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contrastiveChooser } from './contrastive-decoding.js';
import { generate, generateGreedy } from '../model/generate.js';
import { tinyModel } from '../model/testing.js';

const expert = tinyModel({ vocab: 37, hidden: 32 }, 41);
const amateur = tinyModel({ vocab: 37, hidden: 16, layers: 1 }, 42);
const prompts = [[1, 2, 3], [5, 9], [7, 7, 7, 1]];

test('contrastive decoding with beta = 0 is plain greedy decoding of the Expert', () => {
  const cd = generate([expert, amateur], prompts, { maxNewTokens: 10, stopIds: [], choose: contrastiveChooser({ cdAlpha: 0.1, cdBeta: 0 }, 37) });
  const greedy = generateGreedy(expert, prompts, { maxNewTokens: 10, stopIds: [] });
  assert.deepEqual(cd.map((g) => g.tokens), greedy.map((g) => g.tokens));
});

test('contrastive decoding picks argmax of (1+beta) log pE - beta log pA over the plausible head, computed directly', () => {
  const choose = contrastiveChooser({ cdAlpha: 0.1, cdBeta: 0.5 }, 4);
  const e = Float32Array.from([2.0, 1.9, -1, 0.5]), a = Float32Array.from([3.0, 0.0, 2.0, 0.0]);
  const lse = (z: number[]) => Math.log(z.reduce((s, x) => s + Math.exp(x), 0));
  const le = [...e].map((x) => x - lse([...e])), la = [...a].map((x) => x - lse([...a]));
  const maxE = Math.max(...le);
  const scores = le.map((x, i) => (x >= Math.log(0.1) + maxE ? 1.5 * x - 0.5 * la[i]! : -Infinity));
  const want = scores.indexOf(Math.max(...scores));
  assert.equal(choose([e, a], [0, 0], 4, 0), want);
  assert.equal(want, 1); // the Amateur's favourite (token 0) loses to the Expert's close second
  // Token 2 has a high contrast score but is outside the plausible head, so it is never chosen.
  assert.notEqual(choose([Float32Array.from([0, -5, -2.5, -9]), Float32Array.from([0, 0, -20, 0])], [0, 0], 4, 0), 2);
});

test('contrastive decoding changes some generations when beta > 0', () => {
  const cd = generate([expert, amateur], prompts, { maxNewTokens: 10, stopIds: [], choose: contrastiveChooser({ cdAlpha: 0.1, cdBeta: 1 }, 37) });
  const greedy = generateGreedy(expert, prompts, { maxNewTokens: 10, stopIds: [] });
  assert.notDeepEqual(cd.map((g) => g.tokens), greedy.map((g) => g.tokens));
});
