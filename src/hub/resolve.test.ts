import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { testTempDir } from '../testing/tmp.js';
import { UserError } from '../util/errors.js';
import type { ProgressEvent } from '../util/progress.js';
import { hubCacheDir, isHubId } from './cache.js';
import { resolveModelRef } from './resolve.js';
import { etagOf, gitBlobSha1, sha256, startFakeHub, type FakeHub } from './testing.js';

// The bundled tiny Expert, served as a Hub repo (README.md is in the repo but not needed by a model).
const expertDir = new URL('../../../models/expert/', import.meta.url).pathname;
const expertFiles = new Map(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'README.md']
  .map((f) => [f, readFileSync(join(expertDir, f))] as [string, Buffer]));
const shardFiles = new Map<string, Buffer>([
  ['config.json', Buffer.from('{}')], ['tokenizer.json', Buffer.from('{"t":1}')],
  ['model.safetensors.index.json', Buffer.from(JSON.stringify({ metadata: {}, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors', c: 'model-00001-of-00002.safetensors' } }))],
  ['model-00001-of-00002.safetensors', Buffer.alloc(3000, 1)], ['model-00002-of-00002.safetensors', Buffer.alloc(2000, 2)],
  ['model-00003-of-00003.safetensors', Buffer.alloc(10, 3)], // not named by the index: not fetched
]);

let hub: FakeHub;
before(async () => {
  hub = await startFakeHub([
    { id: 'test-org/tiny-expert', files: expertFiles, tags: ['v1'] },
    { id: 'test-org/gated', files: expertFiles, gatedToken: 'hf_good' },
    { id: 'test-org/sharded', files: shardFiles },
    { id: 'test-org/bin-only', files: new Map([['config.json', Buffer.from('{}')], ['tokenizer.json', Buffer.from('{}')], ['pytorch_model.bin', Buffer.alloc(8)]]) },
    { id: 'test-org/resume', files: expertFiles },
    { id: 'test-org/hung', files: expertFiles, stallApi: true },
  ]);
});
after(() => hub.close());

const envFor = (cache: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, HF_HOME: join(cache, 'no-home'), ...extra });

async function rejects(p: Promise<unknown>, ...parts: Array<string | RegExp>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    for (const part of parts) {
      if (typeof part === 'string') assert.ok(e.message.includes(part), `"${e.message}" lacks "${part}"`);
      else assert.match(e.message, part);
    }
    assert.doesNotMatch(e.message, /tokenizer directory/);
    return e.message;
  }
  assert.fail('expected a rejection');
}

test('the cache location follows HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub', () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: '/a/b', HF_HOME: '/c' }), '/a/b');
  assert.equal(hubCacheDir({ HF_HOME: '/c' }), '/c/hub');
  assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/huggingface/hub');
  assert.match(hubCacheDir({}), /\/\.cache\/huggingface\/hub$/);
  assert.equal(isHubId('Qwen/Qwen2.5-Math-1.5B'), true);
  for (const notId of ['./a/b', '/abs/x', 'a/b/c', 'a', 'a--b/c', 'a/..', 'a/b.']) assert.equal(isHubId(notId), false, notId);
});

test('a download writes exactly the layout huggingface_hub writes: blobs by etag, relative snapshot symlinks, refs/main', async () => {
  const cache = testTempDir('hub-cache-');
  const events: ProgressEvent[] = [];
  const before = hub.requests.length;
  const dir = await resolveModelRef('test-org/tiny-expert', { env: envFor(cache), onProgress: (e) => events.push(e) });
  const commit = hub.commit('test-org/tiny-expert');
  const storage = join(cache, 'models--test-org--tiny-expert');
  assert.equal(dir, join(storage, 'snapshots', commit));
  assert.equal(readFileSync(join(storage, 'refs', 'main'), 'utf8'), commit); // no newline, as Python writes it
  const wanted = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
  assert.deepEqual(readdirSync(dir).sort(), wanted);
  for (const f of wanted) {
    const body = expertFiles.get(f)!;
    const etag = etagOf(f, body);
    assert.equal(etag, f === 'model.safetensors' ? sha256(body) : gitBlobSha1(body));
    assert.ok(lstatSync(join(dir, f)).isSymbolicLink(), f);
    assert.equal(readlinkSync(join(dir, f)), `../../blobs/${etag}`);
    assert.deepEqual(readFileSync(join(storage, 'blobs', etag)), body);
  }
  assert.deepEqual(readdirSync(join(storage, 'blobs')).sort(), wanted.map((f) => etagOf(f, expertFiles.get(f)!)).sort(), 'no .incomplete left, README.md not fetched');
  // The client's requests: revision -> commit, the listing at that commit, then files at that commit.
  const paths = hub.requests.slice(before).map((r) => r.path);
  assert.ok(paths.includes('/api/models/test-org/tiny-expert/revision/main'));
  assert.ok(paths.includes(`/api/models/test-org/tiny-expert/tree/${commit}`));
  assert.ok(paths.includes(`/test-org/tiny-expert/resolve/${commit}/model.safetensors`));
  assert.ok(!paths.some((p) => p.endsWith('README.md')));
  const last = events.at(-1)!;
  assert.equal(last.stage, 'download test-org/tiny-expert');
  assert.equal(last.unit, 'MiB');
  assert.equal(last.done, last.total);
  assert.ok(Math.abs(last.total - 20_000_000 / 2 ** 20) < 0.2, `total ${last.total} MiB`);

  // Offline, the same snapshot comes from the cache without a request.
  const n = hub.requests.length;
  assert.equal(await resolveModelRef('test-org/tiny-expert', { env: envFor(cache, { HF_HUB_OFFLINE: '1' }) }), dir);
  assert.equal(hub.requests.length, n);
  // Online again: the revision is checked, but no finished file is fetched again.
  assert.equal(await resolveModelRef('test-org/tiny-expert', { env: envFor(cache) }), dir);
  assert.ok(!hub.requests.slice(n).some((r) => r.path.includes('/resolve/')), 'no file refetched');
  // A tag gets its own ref; a commit hash already cached needs no request at all.
  assert.equal(await resolveModelRef('test-org/tiny-expert', { revision: 'v1', env: envFor(cache) }), dir);
  assert.equal(readFileSync(join(storage, 'refs', 'v1'), 'utf8'), commit);
  const m = hub.requests.length;
  assert.equal(await resolveModelRef('test-org/tiny-expert', { revision: commit, env: envFor(cache) }), dir);
  assert.equal(hub.requests.length, m);
});

test('a cache written by hand in Python\'s layout is read, offline', async () => {
  const home = testTempDir('hub-py-');
  const cache = join(home, 'hub');
  const storage = join(cache, 'models--Qwen--Handmade');
  const commit = 'c0ffee'.padEnd(40, '0');
  mkdirSync(join(storage, 'blobs'), { recursive: true });
  mkdirSync(join(storage, 'snapshots', commit), { recursive: true });
  mkdirSync(join(storage, 'refs'));
  for (const [f, body] of expertFiles) {
    writeFileSync(join(storage, 'blobs', etagOf(f, body)), body);
    symlinkSync(`../../blobs/${etagOf(f, body)}`, join(storage, 'snapshots', commit, f));
  }
  writeFileSync(join(storage, 'refs', 'main'), commit);
  const dir = await resolveModelRef('Qwen/Handmade', { env: { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' } });
  assert.equal(dir, join(storage, 'snapshots', commit));
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), expertFiles.get('model.safetensors'));
  // HF_HOME/hub is the cache when HF_HUB_CACHE is unset.
  assert.equal(await resolveModelRef('Qwen/Handmade', { env: { HF_HOME: home, HF_HUB_OFFLINE: '1' } }), dir);
  // A snapshot without its weights is named, not silently used.
  const partial = join(cache, 'models--Qwen--Partial', 'snapshots', commit);
  mkdirSync(partial, { recursive: true });
  mkdirSync(join(cache, 'models--Qwen--Partial', 'refs'));
  writeFileSync(join(cache, 'models--Qwen--Partial', 'refs', 'main'), commit);
  writeFileSync(join(partial, 'config.json'), '{}');
  writeFileSync(join(partial, 'tokenizer.json'), '{}');
  await rejects(resolveModelRef('Qwen/Partial', { env: { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' } }), 'Qwen/Partial@main', 'lacks model.safetensors', 'HF_HUB_OFFLINE=1');
});

test('errors name the id and the cause: offline and not cached, 404 repo, 404 revision, 401 gated, no safetensors', async () => {
  const cache = testTempDir('hub-err-');
  await rejects(resolveModelRef('test-org/tiny-expert', { env: envFor(cache, { HF_HUB_OFFLINE: '1' }) }),
    "model 'test-org/tiny-expert' not found: no such directory", `not in the Hub cache ${cache}`, 'HF_HUB_OFFLINE=1');
  await rejects(resolveModelRef('test-org/nothing', { env: envFor(cache) }), "model 'test-org/nothing' not found: no such directory", 'has no model repo test-org/nothing (404)');
  await rejects(resolveModelRef('test-org/tiny-expert', { revision: 'no-such-branch', env: envFor(cache) }), 'test-org/tiny-expert has no revision "no-such-branch"', '(404)');
  await rejects(resolveModelRef('test-org/gated', { env: envFor(cache) }), 'test-org/gated', 'gated', '(401)', 'HF_TOKEN');
  await rejects(resolveModelRef('test-org/gated', { env: envFor(cache, { HF_TOKEN: 'hf_wrong' }) }), 'test-org/gated', '(401)', 'the token given');
  await rejects(resolveModelRef('test-org/gated', { env: envFor(cache, { HF_TOKEN: 'not-a-token' }) }), 'HF_TOKEN', 'start with "hf_"');
  await rejects(resolveModelRef('test-org/bin-only', { env: envFor(cache) }), 'test-org/bin-only@main', 'no model.safetensors', 'pytorch_model.bin', 'safetensors weights only');
  await rejects(resolveModelRef('test-org/tiny-expert', { kind: 'adapter', env: envFor(cache) }), 'test-org/tiny-expert@main: the repo has no adapter_config.json');
  await rejects(resolveModelRef('test-org/x', { revision: '../../etc', env: envFor(cache) }), 'revision', 'not usable');
  // Nothing reachable: the message says so (a loopback port that was just closed).
  const closed = createServer();
  await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((ok) => closed.close(() => ok()));
  await rejects(resolveModelRef('test-org/tiny-expert', { env: envFor(cache, { HF_ENDPOINT: `http://127.0.0.1:${port}` }) }), "model 'test-org/tiny-expert' not found: no such directory", 'could not be reached', 'ECONNREFUSED');
  // A Hub that does not answer: metadata requests give up after HF_HUB_ETAG_TIMEOUT seconds.
  const t0 = performance.now();
  await rejects(resolveModelRef('test-org/hung', { env: envFor(cache, { HF_HUB_ETAG_TIMEOUT: '0.3' }) }), "model 'test-org/hung' not found: no such directory", 'could not be reached', 'timeout');
  assert.ok(performance.now() - t0 < 5000);
  // With HF_TOKEN the gated model comes; so it does with the token file `huggingface-cli login` writes.
  const dir = await resolveModelRef('test-org/gated', { env: envFor(cache, { HF_TOKEN: 'hf_good' }) });
  assert.ok(existsSync(join(dir, 'model.safetensors')));
  const home = testTempDir('hub-home-');
  writeFileSync(join(home, 'token'), 'hf_good\n');
  assert.equal(await resolveModelRef('test-org/gated', { env: envFor(testTempDir('hub-err2-'), { HF_HOME: home }) }).then((d) => existsSync(join(d, 'config.json'))), true);
  // A local path is itself; a revision makes no sense for it; a path that is not an id is reported as before.
  assert.equal(await resolveModelRef(expertDir), expertDir);
  await rejects(resolveModelRef(expertDir, { revision: 'main' }), 'is a local path');
  await rejects(resolveModelRef('./no/such/dir'), "model './no/such/dir' not found: no such directory");
  await rejects(resolveModelRef('/no/such/adapter', { kind: 'adapter' }), "adapter '/no/such/adapter' not found: no such directory");
});

test('a sharded model fetches its index and exactly the shards it names', async () => {
  const cache = testTempDir('hub-shard-');
  const dir = await resolveModelRef('test-org/sharded', { env: envFor(cache) });
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json']);
  assert.deepEqual(readFileSync(join(dir, 'model-00002-of-00002.safetensors')), shardFiles.get('model-00002-of-00002.safetensors'));
});

test('an interrupted download resumes from its .incomplete file with a range request', async () => {
  const cache = testTempDir('hub-resume-');
  const body = expertFiles.get('model.safetensors')!;
  const blob = join(cache, 'models--test-org--resume', 'blobs', sha256(body));
  hub.cutAfter.set('test-org/resume/model.safetensors', 6_000_000);
  await rejects(resolveModelRef('test-org/resume', { env: envFor(cache) }), 'test-org/resume@main: the download of model.safetensors', 'broke off', 'next run resumes');
  const have = statSync(`${blob}.incomplete`).size;
  assert.ok(have > 0 && have <= 6_000_000, `kept ${have} bytes`);
  assert.equal(existsSync(blob), false);
  const n = hub.requests.length;
  const dir = await resolveModelRef('test-org/resume', { env: envFor(cache) });
  const gets = hub.requests.slice(n).filter((r) => r.path.endsWith('/model.safetensors') && r.range !== 'bytes=0-0');
  assert.deepEqual(gets.map((r) => r.range), [`bytes=${have}-${body.length - 1}`], 'only the rest was asked for');
  assert.ok(!hub.requests.slice(n).some((r) => r.path.endsWith('/config.json')), 'finished files are not fetched again');
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), body);
  assert.equal(existsSync(`${blob}.incomplete`), false);

  // A transfer that stalls is given up after HF_HUB_DOWNLOAD_TIMEOUT seconds and resumed the same way.
  const cache2 = testTempDir('hub-stall-');
  hub.stallAfter.set('test-org/resume/model.safetensors', 3_000_000);
  await rejects(resolveModelRef('test-org/resume', { env: envFor(cache2, { HF_HUB_DOWNLOAD_TIMEOUT: '0.5' }) }), 'the download of model.safetensors', 'broke off', 'no data for 0.5 s');
  const blob2 = join(cache2, 'models--test-org--resume', 'blobs', sha256(body));
  const kept = statSync(`${blob2}.incomplete`).size;
  assert.ok(kept > 0 && kept <= 3_000_000, `kept ${kept}`);
  const dir2 = await resolveModelRef('test-org/resume', { env: envFor(cache2) });
  assert.deepEqual(readFileSync(join(dir2, 'model.safetensors')), body);
});
