import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addBackendOptions, backendSettings, remoteFor } from './backend-options.js';

function parse(args: string[]): Record<string, unknown> {
  const cmd = addBackendOptions(new Command('x').exitOverride(), [{ flag: 'expert-gguf', model: 'Expert' }], [{ flag: 'expert-url', model: 'Expert' }, { flag: 'amateur-url', model: 'Amateur' }]);
  cmd.parse(['node', 'x', ...args]);
  return cmd.opts();
}

test('the defaults are the engine, GPU auto, f32 exports and an f32 KV cache', () => {
  assert.deepEqual(backendSettings(parse([])), { backend: 'engine', gpu: 'auto', ggufDtype: 'f32', kvCache: 'f32' });
});

test('llama.cpp settings and per-model GGUF files are read from their flags', () => {
  const o = parse(['--backend', 'llama.cpp', '--gpu', 'off', '--gguf-cache', '/c', '--llama-parallel', '4', '--llama-threads', '2', '--llama-context', '1024', '--kv-cache', 'f16', '--expert-gguf', 'e.gguf']);
  assert.deepEqual(backendSettings(o), { backend: 'llama.cpp', gpu: 'off', ggufDtype: 'f32', kvCache: 'f16', ggufCacheDir: '/c', parallel: 4, threads: 2, contextSize: 1024 });
  assert.equal(o.expertGguf, 'e.gguf');
});

test('unknown values are refused with the flag and what it accepts', () => {
  assert.throws(() => backendSettings(parse(['--backend', 'vllm'])), /--backend must be engine or llama\.cpp or openai, got "vllm"/);
  assert.throws(() => backendSettings(parse(['--gpu', 'cuda'])), /--gpu must be auto or off/);
  assert.throws(() => backendSettings(parse(['--kv-cache', 'q8'])), /--kv-cache must be f32 or f16/);
  assert.throws(() => parse(['--llama-parallel', '0']), /--llama-parallel must be a positive integer/);
});

test('a server URL selects the openai back end; repeated URLs are endpoints of one model; the key comes from the environment', () => {
  process.env.LR_TEST_KEY = 'k3y';
  const o = parse(['--expert-url', 'http://127.0.0.1:1', '--expert-url', 'http://127.0.0.1:2', '--amateur-url', 'http://127.0.0.1:3', '--server-logprobs', '20', '--api-key-env', 'LR_TEST_KEY', '--max-in-flight', '2', '--retries', '0']);
  const b = backendSettings(o);
  assert.equal(b.backend, 'openai');
  assert.deepEqual(b.server, { api: 'vllm', logprobs: 20, apiKey: 'k3y', maxInFlight: 2, timeoutMs: 600_000, retries: 0 });
  assert.deepEqual(remoteFor(b, o.expertUrl, '--expert-url').remote?.urls, ['http://127.0.0.1:1', 'http://127.0.0.1:2']);
  assert.throws(() => remoteFor(b, undefined, '--amateur-url'), /give --amateur-url <url>/);
  assert.throws(() => remoteFor(backendSettings(parse([])), ['http://x'], '--expert-url'), /--expert-url is for --backend openai/);
  assert.throws(() => backendSettings(parse(['--backend', 'openai', '--server-logprobs', '0'])), /--server-logprobs must be "full" or a positive integer/);
  assert.throws(() => backendSettings(parse(['--backend', 'openai', '--server-api', 'tgi'])), /--server-api must be vllm or sglang/);
  assert.throws(() => backendSettings(parse(['--backend', 'openai', '--api-key-env', 'LR_TEST_UNSET_VAR'])), /LR_TEST_UNSET_VAR: that environment variable is not set/);
  delete process.env.LR_TEST_KEY;
});
