/**
 * End to end: `lightreasoner score --model ORG/NAME` from a Hub cache in the standard layout
 * (offline), and downloading through @huggingface/hub from a Hub on 127.0.0.1 into that layout.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildProgram } from './index.js';
import { saveAdapter } from '../model/adapter-dir.js';
import { loadModel } from '../model/load.js';
import { createLoraAdapter, type LoraWeights } from '../model/lora.js';
import { Rng } from '../util/rng.js';
import { runCli } from '../testing/cli.js';
import { testTempDir } from '../testing/tmp.js';
import { etagOf, startFakeHub, type FakeHub } from '../hub/testing.js';

const expertDir = new URL('../../../models/expert/', import.meta.url).pathname;
const files = new Map(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']
  .map((f) => [f, readFileSync(join(expertDir, f))] as [string, Buffer]));
const text = 'Ken has 12 apples and buys 5 more.';

// A LoRA adapter on the Expert with non-zero B, so that it changes the scores.
const adapterDir = testTempDir('hub-adapter-');
{
  const expert = await loadModel(expertDir);
  const adapter = createLoraAdapter(expert.model, { r: 4, loraAlpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] }, 7);
  const rng = new Rng(8);
  for (const L of adapter.layers) for (const w of Object.values(L) as LoraWeights[]) for (let i = 0; i < w.B.length; i++) w.B[i] = rng.normal() * 0.3;
  saveAdapter(adapterDir, adapter, { baseModel: 'test-org/tiny-expert' });
}
const adapterFiles = new Map(['adapter_config.json', 'adapter_model.safetensors'].map((f) => [f, readFileSync(join(adapterDir, f))] as [string, Buffer]));

let hub: FakeHub;
before(async () => {
  hub = await startFakeHub([{ id: 'test-org/tiny-expert', files }, { id: 'test-org/tiny-adapter', files: adapterFiles }]);
});
after(() => hub.close());

interface Report { model: string; tokens: unknown[]; totalLogprob: number }
const score = async (model: string, ...more: string[]): Promise<{ status: number; report: Report | null; stderr: string }> => {
  const r = await runCli(['score', '--model', model, '--text', text, '--json', ...more]);
  return { status: r.status, report: r.status === 0 ? JSON.parse(r.stdout) as Report : null, stderr: r.stderr };
};

test('score --model ORG/NAME downloads into the standard Hub cache layout and scores as the local directory does', async () => {
  const cache = testTempDir('hub-cli-');
  process.env.HF_HUB_CACHE = cache;
  process.env.HF_ENDPOINT = hub.url;
  delete process.env.HF_HUB_OFFLINE; // the test runner sets it
  const local = await score(expertDir);
  assert.equal(local.status, 0, local.stderr);
  const fromHub = await score('test-org/tiny-expert');
  assert.equal(fromHub.status, 0, fromHub.stderr);
  const commit = hub.commit('test-org/tiny-expert');
  const snapshot = join(cache, 'models--test-org--tiny-expert', 'snapshots', commit);
  assert.equal(fromHub.report!.model, snapshot);
  assert.deepEqual(fromHub.report!.tokens, local.report!.tokens);
  assert.equal(fromHub.report!.totalLogprob, local.report!.totalLogprob);
  assert.match(fromHub.stderr, /download test-org\/tiny-expert/);
  assert.equal(readFileSync(join(cache, 'models--test-org--tiny-expert', 'refs', 'main'), 'utf8'), commit);
  for (const [f, body] of files) {
    assert.ok(lstatSync(join(snapshot, f)).isSymbolicLink());
    assert.equal(readlinkSync(join(snapshot, f)), `../../blobs/${etagOf(f, body)}`);
  }
  // An adapter by Hub id scores as the same adapter on disk does, and differently from the bare model.
  const localAdapter = await score(expertDir, '--adapter', adapterDir);
  const hubAdapter = await score('test-org/tiny-expert', '--adapter', 'test-org/tiny-adapter');
  assert.equal(hubAdapter.status, 0, hubAdapter.stderr);
  assert.equal(hubAdapter.report!.totalLogprob, localAdapter.report!.totalLogprob);
  assert.notEqual(hubAdapter.report!.totalLogprob, local.report!.totalLogprob);
  assert.ok(lstatSync(join(cache, 'models--test-org--tiny-adapter', 'snapshots', hub.commit('test-org/tiny-adapter'), 'adapter_model.safetensors')).isSymbolicLink());
  // --revision with the commit: served from the cache.
  const n = hub.requests.length;
  const pinned = await score('test-org/tiny-expert', '--revision', commit);
  assert.equal(pinned.status, 0, pinned.stderr);
  assert.equal(hub.requests.length, n);
  // Unknown revision: exit 2 and a message naming the id and the revision.
  const bad = await score('test-org/tiny-expert', '--revision', 'v9');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /test-org\/tiny-expert has no revision "v9"/);
});

test('score --model ORG/NAME works offline from a cache written in Python\'s layout, and says so when the id is not cached', async () => {
  const cache = testTempDir('hub-cli-py-');
  const storage = join(cache, 'models--Qwen--Qwen2.5-Math-1.5B');
  const commit = '4a4f2c0d3b1e5f6a7b8c9d0e1f2a3b4c5d6e7f80';
  mkdirSync(join(storage, 'blobs'), { recursive: true });
  mkdirSync(join(storage, 'snapshots', commit), { recursive: true });
  mkdirSync(join(storage, 'refs'));
  for (const [f, body] of files) {
    writeFileSync(join(storage, 'blobs', etagOf(f, body)), body);
    symlinkSync(`../../blobs/${etagOf(f, body)}`, join(storage, 'snapshots', commit, f));
  }
  writeFileSync(join(storage, 'refs', 'main'), commit);
  process.env.HF_HUB_CACHE = cache;
  process.env.HF_HUB_OFFLINE = '1';
  process.env.HF_ENDPOINT = 'http://127.0.0.1:1'; // never asked
  const local = await score(expertDir);
  const r = await score('Qwen/Qwen2.5-Math-1.5B');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.report!.model, join(storage, 'snapshots', commit));
  assert.equal(r.report!.totalLogprob, local.report!.totalLogprob);
  const missing = await score('Qwen/Qwen2.5-0.5B');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /model 'Qwen\/Qwen2\.5-0\.5B' not found: no such directory; as a Hugging Face id .* not in the Hub cache .*HF_HUB_OFFLINE=1/);
  assert.doesNotMatch(missing.stderr, /tokenizer directory/);
});

test('every command that takes a model documents Hub ids and --revision in its help', () => {
  const program = buildProgram();
  for (const name of ['sample', 'train', 'merge', 'eval', 'sft', 'score', 'export-gguf']) {
    const help = program.commands.find((c) => c.name() === name)!.helpInformation();
    assert.match(help, /--revision <rev>/, name);
    assert.match(help, /ORG\/NAME/, name);
  }
});
