import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addBackendOptions, backendSettings } from './backend-options.js';

function parse(args: string[]): Record<string, unknown> {
  const cmd = addBackendOptions(new Command('x').exitOverride(), [{ flag: 'expert-gguf', model: 'Expert' }]);
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
  assert.throws(() => backendSettings(parse(['--backend', 'vllm'])), /--backend must be engine or llama\.cpp, got "vllm"/);
  assert.throws(() => backendSettings(parse(['--gpu', 'cuda'])), /--gpu must be auto or off/);
  assert.throws(() => backendSettings(parse(['--kv-cache', 'q8'])), /--kv-cache must be f32 or f16/);
  assert.throws(() => parse(['--llama-parallel', '0']), /--llama-parallel must be a positive integer/);
});
