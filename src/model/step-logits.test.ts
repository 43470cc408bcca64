import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyModel } from './testing.js';
import { packSequences } from './transformer.js';
import { generateGreedy } from './generate.js';
import { stepLogits } from './step-logits.js';

const expert = tinyModel({ vocab: 41, hidden: 32, layers: 2 }, 31);
const amateur = tinyModel({ vocab: 41, hidden: 16, layers: 1 }, 32);
const prompt = [3, 17, 8, 22, 5];
const [gen] = generateGreedy(expert, [prompt], { maxNewTokens: 12, stopIds: [] });
const generated = gen!.tokens;

test('one teacher-forced pass gives the same distributions as scoring each prefix separately (the reference way)', () => {
  const V = 41;
  for (const model of [expert, amateur]) {
    const once = stepLogits(model, prompt, generated);
    for (let t = 0; t < generated.length; t++) {
      // Reference: a separate forward over prompt + generated[0..t), reading its last position.
      const prefix = [...prompt, ...generated.slice(0, t)];
      const alone = model.forward(packSequences([prefix]), { logitRows: 'last' }).logits;
      for (let v = 0; v < V; v++) assert.ok(Math.abs(once[t * V + v]! - alone[v]!) < 1e-5, `step ${t} token ${v}`);
    }
  }
});

test('the Expert logits at each step are the ones that chose its greedy token', () => {
  const e = stepLogits(expert, prompt, generated);
  const V = 41;
  generated.forEach((tok, t) => {
    let best = 0;
    for (let v = 1; v < V; v++) if (e[t * V + v]! > e[t * V + best]!) best = v;
    assert.equal(best, tok, `step ${t}`);
  });
});

test('an empty continuation has no steps', () => {
  assert.equal(stepLogits(expert, prompt, []).length, 0);
});
