/**
 * The demo's two worlds: each takes its own bundled pair and settings, and a demo directory holds
 * one world's run (continuing it with the other world's models would reuse stages of the wrong pair).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoSettings, requireSameWorld } from './run.js';
import { DEFAULT_DEMO_WORLD, WORLDS } from './worlds.js';
import { bundledModelPath } from '../util/bundled.js';
import { testTempDir } from '../testing/tmp.js';
import { runCli } from '../testing/cli.js';

test('each world takes its own bundled pair, evaluation budget and settings; base is the default', () => {
  assert.equal(DEFAULT_DEMO_WORLD, 'base');
  for (const world of ['base', 'instruct'] as const) {
    const w = WORLDS[world], s = demoSettings(false, undefined, world);
    assert.equal(s.world, world);
    assert.equal(s.expert, bundledModelPath(w.expert));
    assert.equal(s.amateur, bundledModelPath(w.amateur));
    assert.equal(s.evalMaxNewTokens, w.evalMaxNewTokens);
    assert.equal(s.train.lr, w.lightreasoner.lr);
    assert.equal(s.train.maxSteps, w.lightreasoner.steps);
    assert.deepEqual(s.train.lora.targets, w.lightreasoner.targets);
    assert.equal(s.sample.beta, w.lightreasoner.beta);
    assert.equal(s.sample.alpha, w.lightreasoner.alpha);
    assert.equal(s.sft.lr, w.sft.lr);
    assert.equal(s.sft.maxSteps, w.sft.steps);
    assert.deepEqual(s.cd, w.cd);
    assert.equal(s.out, w.out);
    const q = demoSettings(true, undefined, world);
    assert.equal(q.out, `${w.out}-quick`);
    assert.deepEqual([q.testCount, q.sampleCount, q.train.maxSteps, q.sft.maxSteps], [w.quick.testCount, w.quick.sampleCount, w.quick.steps, w.quick.sftSteps]);
    assert.deepEqual([q.sft.lr, q.train.lr, q.sample.beta, q.cd], [w.sft.lr, w.lightreasoner.lr, w.lightreasoner.beta, w.cd], '--quick runs fewer of the same steps, with the same settings');
  }
  assert.notEqual(WORLDS.base.expert, WORLDS.instruct.expert);
  assert.notEqual(WORLDS.base.out, WORLDS.instruct.out, 'the two worlds do not share a default directory');
  assert.deepEqual(demoSettings(false), demoSettings(false, undefined, 'base'));
});

test('a demo directory holds one world: the other world is refused, a directory from before the base world counts as instruct', () => {
  const root = testTempDir('demo-world');
  const fresh = join(root, 'fresh');
  mkdirSync(fresh);
  requireSameWorld(fresh, 'base');
  assert.deepEqual(JSON.parse(readFileSync(join(fresh, 'demo-world.json'), 'utf8')), { world: 'base' });
  requireSameWorld(fresh, 'base');
  assert.throws(() => requireSameWorld(fresh, 'instruct'), /holds a demo of the base world; continue it with --world base, start afresh with --fresh, or use another --out/);
  const old = join(root, 'old');
  mkdirSync(old);
  writeFileSync(join(old, 'demo-stages.json'), '{}');
  assert.throws(() => requireSameWorld(old, 'base'), /holds a demo of the instruct world; continue it with --world instruct/);
  requireSameWorld(old, 'instruct');
  assert.deepEqual(JSON.parse(readFileSync(join(old, 'demo-world.json'), 'utf8')), { world: 'instruct' });
});

test('demo --world takes base or instruct and refuses anything else, naming the flag', async () => {
  const r = await runCli(['demo', '--world', 'chat']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--world must be base or instruct, got "chat"/);
  const help = await runCli(['demo', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--world <name>/);
});
