import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyModel } from './testing.js';
import { packSequences } from './transformer.js';
import { argmax, generateGreedy } from './generate.js';
import { stepLogits } from './step-logits.js';

/** Greedy decoding the slow way: a full forward over the whole sequence for every new token. */
function naiveGreedy(model: ReturnType<typeof tinyModel>, prompt: number[], maxNew: number, stop: number[]): number[] {
  const seq = [...prompt], out: number[] = [];
  for (let i = 0; i < maxNew; i++) {
    const logits = model.forward(packSequences([seq]), { logitRows: 'last' }).logits;
    const t = argmax(logits, 0, model.config.vocabSize);
    out.push(t);
    seq.push(t);
    if (stop.includes(t)) break;
  }
  return out;
}

const prompts = [[1, 2, 3], [7], [4, 9, 9, 2, 5, 6], [3, 3], [10, 11, 12, 1], [8, 1]];

test('batched greedy generation with KV caches equals naive full-recompute greedy decoding', () => {
  const model = tinyModel({ vocab: 31, hidden: 24, heads: 4, kvHeads: 2 }, 21);
  for (const batchSize of [1, 3, 16]) {
    const got = generateGreedy(model, prompts, { maxNewTokens: 12, stopIds: [], batchSize });
    prompts.forEach((p, i) => {
      assert.deepEqual(got[i]!.tokens, naiveGreedy(model, p, 12, []), `prompt ${i} batch ${batchSize}`);
      assert.equal(got[i]!.finish, 'length');
    });
  }
});

test('generation stops at a stop id (included in the output) and reports why each sequence ended', () => {
  const model = tinyModel({ vocab: 31, hidden: 24 }, 22);
  const free = generateGreedy(model, prompts, { maxNewTokens: 10, stopIds: [] });
  // Use a token the first sequence actually produces as the stop id.
  const stopId = free[0]!.tokens[3]!;
  const got = generateGreedy(model, prompts, { maxNewTokens: 10, stopIds: [stopId], batchSize: 2 });
  prompts.forEach((p, i) => {
    const want = naiveGreedy(model, p, 10, [stopId]);
    assert.deepEqual(got[i]!.tokens, want);
    assert.equal(got[i]!.finish, want.at(-1) === stopId ? 'stop' : 'length');
  });
  assert.equal(got[0]!.finish, 'stop');
});

test('generation ends at the context window', () => {
  const model = tinyModel({ maxPositions: 8 }, 23);
  const [g] = generateGreedy(model, [[1, 2, 3, 4, 5]], { maxNewTokens: 10, stopIds: [] });
  assert.equal(g!.tokens.length, 3);
  assert.equal(g!.finish, 'context');
  assert.throws(() => generateGreedy(model, [[1, 2, 3, 4, 5, 6, 7, 8]], { maxNewTokens: 1, stopIds: [] }), /context window/);
});

test('keepLogits hands over, for each generated token, the row it was chosen from: the teacher-forced row that predicts it', () => {
  const model = tinyModel({ vocab: 31, hidden: 24, heads: 4, kvHeads: 2 }, 24);
  const V = 31;
  const plain = generateGreedy(model, prompts, { maxNewTokens: 9, stopIds: [], batchSize: 4 });
  const kept = generateGreedy(model, prompts, { maxNewTokens: 9, stopIds: [], batchSize: 4, keepLogits: true });
  assert.equal(plain[0]!.logits, undefined, 'nothing kept unless asked');
  prompts.forEach((p, i) => {
    const g = kept[i]!;
    assert.deepEqual(g.tokens, plain[i]!.tokens, 'keeping rows does not change the generation');
    assert.equal(g.logits!.length, g.tokens.length * V);
    // Row t of one causal pass over prompt + tokens[0..t) predicts tokens[t] (src/model/step-logits.ts).
    const forced = stepLogits(model, p, g.tokens);
    for (let t = 0; t < g.tokens.length; t++) {
      assert.equal(argmax(g.logits!, t * V, V), g.tokens[t], `prompt ${i} step ${t}: the row chose the token`);
      // Cached decoding and the causal pass sum in different orders: equal to float32 rounding.
      for (let a = 0; a < V; a++) {
        const x = g.logits![t * V + a]!, y = forced[t * V + a]!;
        assert.ok(Math.abs(x - y) <= 1e-4 * Math.max(1, Math.abs(y)), `prompt ${i} step ${t} id ${a}: ${x} vs ${y}`);
      }
    }
    // A row shifted by one step is far from this tolerance, so the check above catches an off-by-one.
    const shifted = Math.max(...Array.from({ length: V }, (_, a) => Math.abs(g.logits![a]! - forced[V + a]!)));
    assert.ok(shifted > 1e-2, `rows 0 and 1 differ by ${shifted}`);
  });
});
