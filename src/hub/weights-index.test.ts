import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testTempDir } from '../testing/tmp.js';
import { readWeightsIndex, weightsIndexShards } from './weights-index.js';

test('a weights index maps tensors to shard files beside it; its distinct shards come back sorted', () => {
  const dir = testTempDir('weights-index-');
  const path = join(dir, 'model.safetensors.index.json');
  writeFileSync(path, JSON.stringify({ metadata: { total_size: 1 }, weight_map: { b: 'model-00002-of-00002.safetensors', a: 'model-00001-of-00002.safetensors', c: 'model-00001-of-00002.safetensors' } }));
  assert.deepEqual([...readWeightsIndex(path)], [['b', 'model-00002-of-00002.safetensors'], ['a', 'model-00001-of-00002.safetensors'], ['c', 'model-00001-of-00002.safetensors']]);
  assert.deepEqual(weightsIndexShards(path), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
});

test('a shard outside the index\'s directory, an empty or non-string shard, or no weight_map is refused, naming the file', () => {
  const dir = testTempDir('weights-index-bad-');
  const path = join(dir, 'model.safetensors.index.json');
  for (const shard of ['../model.safetensors', 'sub/model.safetensors', '/etc/passwd', '', '..', 5, null]) {
    writeFileSync(path, JSON.stringify({ weight_map: { 'model.norm.weight': shard } }));
    assert.throws(() => readWeightsIndex(path), (e: Error) => e.message.startsWith(`${path}: weight_map entry "model.norm.weight" is`) && e.message.endsWith('expected a file name beside the index'), JSON.stringify(shard));
  }
  for (const index of [{}, { weight_map: [] }, { weight_map: 'x' }, []]) {
    writeFileSync(path, JSON.stringify(index));
    assert.throws(() => weightsIndexShards(path), new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: field "weight_map" is missing`), JSON.stringify(index));
  }
  writeFileSync(path, '{"weight_map": {');
  assert.throws(() => readWeightsIndex(path), /model\.safetensors\.index\.json/);
});
