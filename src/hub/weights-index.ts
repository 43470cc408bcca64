/**
 * `model.safetensors.index.json`, as transformers writes a sharded checkpoint: `weight_map` maps
 * every tensor name to the shard file that holds it, a plain file name beside the index. One reader
 * for the three places that need it — the loader (which tensors are in which shard), the model
 * fingerprint (which files to hash) and the Hub download (which files a snapshot still lacks) — so
 * they agree on what a valid index is.
 */
import { basename } from 'node:path';
import { UserError, describeValue } from '../util/errors.js';
import { readJsonFile } from '../util/fsx.js';

export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

/** Tensor name → shard file name, from the index at `indexPath`; a UserError naming the file for anything else. */
export function readWeightsIndex(indexPath: string): Map<string, string> {
  const index = readJsonFile(indexPath, 'weights index');
  const weightMap = typeof index === 'object' && index !== null && !Array.isArray(index) ? (index as { weight_map?: unknown }).weight_map : undefined;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new UserError(`${indexPath}: field "weight_map" is missing or not an object of tensor name to shard file`);
  }
  const shardOf = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    // A shard is a file beside the index: a path elsewhere (../, a subdirectory, an absolute path)
    // is refused, as it would make a download or a load reach outside the model's directory.
    if (typeof shard !== 'string' || shard === '' || basename(shard) !== shard || shard === '.' || shard === '..') {
      throw new UserError(`${indexPath}: weight_map entry ${describeValue(name)} is ${describeValue(shard)}, expected a file name beside the index`);
    }
    shardOf.set(name, shard);
  }
  return shardOf;
}

/** The distinct shard files of the index at `indexPath`, sorted. */
export function weightsIndexShards(indexPath: string): string[] {
  return [...new Set(readWeightsIndex(indexPath).values())].sort();
}
