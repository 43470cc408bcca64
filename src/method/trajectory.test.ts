import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyModel } from '../model/testing.js';
import { packSequences } from '../model/transformer.js';
import { generateGreedy } from '../model/generate.js';
import { scoreTrajectory, stepLogits } from './trajectory.js';
import { ContrastScratch, contrastStep } from './contrast.js';

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

test('scoreTrajectory contrasts every step from firstStep on, and keeps exactly the steps with KL >= beta', () => {
  const all = scoreTrajectory(expert, amateur, prompt, generated, { alpha: 0.2, beta: 0 });
  assert.deepEqual(all.map((s) => s.step), generated.map((_, t) => t));
  const kls = all.map((s) => s.klDivergence).sort((a, b) => a - b);
  const beta = kls[Math.floor(kls.length / 2)]!;
  const some = scoreTrajectory(expert, amateur, prompt, generated, { alpha: 0.2, beta, firstStep: 1 });
  assert.equal(some[0]!.step, 1);
  for (const s of some) assert.equal(s.keep, s.klDivergence >= beta);
  assert.ok(some.some((s) => s.keep) && some.some((s) => !s.keep));
  // Same numbers as contrasting the two separately computed rows.
  const V = 41, s = new ContrastScratch(V);
  const e = stepLogits(expert, prompt, generated), a = stepLogits(amateur, prompt, generated);
  const direct = contrastStep(e, 3 * V, a, 3 * V, { alpha: 0.2, beta }, s);
  assert.deepEqual(some.find((x) => x.step === 3), { step: 3, ...direct });
});
