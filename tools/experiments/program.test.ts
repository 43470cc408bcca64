import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chooseCd, chooseLightReasoner, chooseSft, decide, meanSd, Program } from './program.js';
import { testTempDir } from '../../src/testing/tmp.js';

const lr = (accuracy: number, c: Partial<{ lr: number; steps: number; targets: string; beta: number; alpha: number }>) => ({
  accuracy, c: { lr: 1e-3, steps: 300, targets: 'qv', beta: 0.4, alpha: 0.2, ...c },
});

test('the LightReasoner choice takes the highest dev accuracy, and breaks ties as pre-registered: reference β/α, fewer steps, lower lr, q_proj,v_proj', () => {
  assert.equal(chooseLightReasoner([lr(0.30, { lr: 5e-4 }), lr(0.31, { lr: 2e-3, steps: 500, targets: 'all' })]).accuracy, 0.31);
  assert.equal(chooseLightReasoner([lr(0.30, { beta: 0.8 }), lr(0.30, { beta: 0.4, steps: 500 })]).c.beta, 0.4);
  assert.equal(chooseLightReasoner([lr(0.30, { steps: 500 }), lr(0.30, { steps: 300, lr: 2e-3 })]).c.steps, 300);
  assert.equal(chooseLightReasoner([lr(0.30, { lr: 2e-3 }), lr(0.30, { lr: 5e-4 })]).c.lr, 5e-4);
  assert.equal(chooseLightReasoner([lr(0.30, { targets: 'all' }), lr(0.30, { targets: 'qv' })]).c.targets, 'qv');
});

test('the SFT choice breaks ties by fewer steps then lower lr; contrastive decoding by the lower β_CD', () => {
  assert.deepEqual(chooseSft([{ accuracy: 0.2, c: { lr: 1e-3, steps: 500 } }, { accuracy: 0.2, c: { lr: 2e-3, steps: 100 } }, { accuracy: 0.2, c: { lr: 5e-4, steps: 100 } }]).c, { lr: 5e-4, steps: 100 });
  assert.equal(chooseSft([{ accuracy: 0.1, c: { lr: 1e-3, steps: 100 } }, { accuracy: 0.2, c: { lr: 2e-3, steps: 500 } }]).c.steps, 500);
  assert.equal(chooseCd([{ accuracy: 0.2, c: { cdAlpha: 0.1, cdBeta: 1 } }, { accuracy: 0.2, c: { cdAlpha: 0.1, cdBeta: 0.5 } }]).c.cdBeta, 0.5);
  assert.equal(chooseCd([{ accuracy: 0.1, c: { cdAlpha: 0.1, cdBeta: 0.5 } }, { accuracy: 0.2, c: { cdAlpha: 0.1, cdBeta: 1 } }]).c.cdBeta, 1);
});

const formats = { completions: 0, finishKnown: 0, boxed: { count: 0, of: 0, share: null }, stopsAfterAnswer: { count: 0, of: 0, share: null }, runsOn: { count: 0, of: 0, share: null }, hitsBudget: { count: 0, of: 0, share: null }, wellFormed: { count: 0, of: 0, share: null }, wellFormedAccuracy: { count: 0, of: 0, share: null }, firstAnswerCorrect: { count: 0, of: 0, share: null }, stopsAfterAnswerAt: {} };
const row = (label: string, accuracy: number, pValue?: number, seed?: number) => ({
  group: 'main' as const, label, eval: { accuracy, correct: 0, count: 500, wilson95: [0, 0] as [number, number], meanTokens: null, formats },
  ...(pValue !== undefined ? { vsExpert: { difference: 0, onlyExpert: 0, onlyThis: 0, pValue } } : {}), ...(seed !== undefined ? { seed } : {}),
});

test('the decision rule needs seed 0 ahead of the Expert with p < 0.05 and the seeds\' mean ahead; either failing is no gain', () => {
  const expert = row('Expert', 0.30);
  const gain = decide([expert, row('Expert + LightReasoner (seed 0)', 0.36, 0.01, 0), row('Expert + LightReasoner (seed 1)', 0.33, 0.2, 1), row('Expert + LightReasoner (seed 2)', 0.31, 0.6, 2)], null);
  assert.equal(gain.lightreasonerGains, true);
  assert.equal(gain.complete, true);
  assert.equal(gain.lightreasonerBeatsSft, null);
  // Significant seed 0, but the mean over seeds below the Expert.
  assert.equal(decide([expert, row('Expert + LightReasoner (seed 0)', 0.36, 0.01, 0), row('Expert + LightReasoner (seed 1)', 0.25, 0.01, 1), row('Expert + LightReasoner (seed 2)', 0.25, 0.01, 2)], null).lightreasonerGains, false);
  // Ahead on every seed but not significant.
  assert.equal(decide([expert, row('Expert + LightReasoner (seed 0)', 0.32, 0.3, 0)], null).lightreasonerGains, false);
  // A significant loss is not a gain.
  assert.equal(decide([expert, row('Expert + LightReasoner (seed 0)', 0.20, 0.001, 0)], null).lightreasonerGains, false);
  assert.equal(decide([expert, row('Expert + LightReasoner (seed 0)', 0.36, 0.01, 0)], null).complete, false);
  // Against SFT: the same rule on the paired LightReasoner–SFT comparison.
  const vsSft = { difference: 0.05, onlySft: 5, onlyLightReasoner: 30, pValue: 0.001 };
  const rows = [expert, row('Expert + LightReasoner (seed 0)', 0.36, 0.01, 0), row('Expert + SFT (seed 0)', 0.31, 0.5, 0)];
  assert.equal(decide(rows, vsSft).lightreasonerBeatsSft, true);
  assert.equal(decide(rows, { ...vsSft, pValue: 0.2 }).lightreasonerBeatsSft, false);
});

test('mean and sample standard deviation over seeds', () => {
  const m = meanSd([0.3, 0.4, 0.5]);
  assert.ok(Math.abs(m.mean - 0.4) < 1e-12);
  assert.ok(Math.abs(m.sd! - 0.1) < 1e-12);
  assert.equal(meanSd([0.3]).sd, null);
});

test('sharded stages: each shard runs its own items once, waits for the others, and both return every item\'s result in order', async () => {
  const out = testTempDir('program-shards');
  const world = { name: 't', expert: 'e', amateur: 'a', studyAmateurs: {}, devLimit: 1, evalMaxNewTokens: 1, evalBatchSize: 1, sftMaxNewTokens: 1, sampleBatchSize: 1 };
  const ran: string[] = [];
  const items = (who: string) => ['a', 'b', 'c'].map((name, k) => ({ name, run: async () => { if (!existsSync(join(out, 'units', `item-${name}.json`))) ran.push(`${who}:${name}`); await new Promise((r) => setTimeout(r, 5 * (3 - k))); return name.toUpperCase(); } }));
  const [r0, r1] = await Promise.all([new Program(out, world, { i: 0, n: 2 }, 5).parallel(items('s0')), new Program(out, world, { i: 1, n: 2 }, 5).parallel(items('s1'))]);
  assert.deepEqual(r0, ['A', 'B', 'C']);
  assert.deepEqual(r1, ['A', 'B', 'C']);
  assert.deepEqual(ran.sort(), ['s0:a', 's0:c', 's1:b'], 'items 0 and 2 on shard 0, item 1 on shard 1, each once');
  // Unsharded, a finished stage is read back without running anything new.
  ran.length = 0;
  assert.deepEqual(await new Program(out, world).parallel(items('all')), ['A', 'B', 'C']);
  assert.deepEqual(ran, []);
});

test('a tie the registered rule leaves (two stage-B settings, neither the reference) goes to the one listed first', () => {
  assert.equal(chooseLightReasoner([lr(0.0075, { beta: 0.4, alpha: 0.2 }), lr(0.01, { beta: 0.8 }), lr(0.01, { alpha: 0.1 })]).c.beta, 0.8);
  assert.equal(chooseLightReasoner([lr(0.0075, { beta: 0.4, alpha: 0.2 }), lr(0.01, { alpha: 0.1 }), lr(0.01, { beta: 0.8 })]).c.alpha, 0.1);
});
