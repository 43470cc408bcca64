/**
 * Key/value cache for incremental decoding: per sequence slot and layer, the rotated keys and the
 * values of every position seen so far, [length, kvHeads·headDim], grown by doubling. The keys are
 * kept a second time in the tiled layout decoding attention reads (KEY_TILE in
 * engine/ops/attention.ts): transposing them once when written instead of at every later step
 * cut an evaluation of the bundled base Expert (64 problems, 400 tokens, 2 cores) from 9.0 s to
 * 7.8 s, for half again the cache's memory.
 */
import type { ModelConfig } from './config.js';
import { keyTileFloats, writeKeyTiles } from '../engine/ops/attention.js';

export class KVCache {
  readonly kvDim: number;
  readonly k: Float32Array[][]; // [slot][layer]
  readonly v: Float32Array[][];
  /** The keys again, tiled: what attentionDecode reads. */
  readonly kTiles: Float32Array[][];
  readonly length: Int32Array; // [slot]
  private readonly capacity: Int32Array;

  constructor(readonly config: ModelConfig, readonly slots: number, initialCapacity = 64) {
    this.kvDim = config.numKvHeads * config.headDim;
    this.k = [];
    this.v = [];
    this.kTiles = [];
    this.length = new Int32Array(slots);
    this.capacity = new Int32Array(slots).fill(initialCapacity);
    for (let s = 0; s < slots; s++) {
      this.k.push(Array.from({ length: config.numLayers }, () => new Float32Array(initialCapacity * this.kvDim)));
      this.v.push(Array.from({ length: config.numLayers }, () => new Float32Array(initialCapacity * this.kvDim)));
      this.kTiles.push(Array.from({ length: config.numLayers }, () => new Float32Array(keyTileFloats(initialCapacity, this.kvDim))));
    }
  }

  /** Make room for `rows` positions in `slot`, keeping what is there. */
  ensure(slot: number, rows: number): void {
    if (rows <= this.capacity[slot]!) return;
    const cap = Math.max(rows, this.capacity[slot]! * 2);
    const used = this.length[slot]! * this.kvDim;
    for (let l = 0; l < this.config.numLayers; l++) {
      const k = new Float32Array(cap * this.kvDim), v = new Float32Array(cap * this.kvDim), kt = new Float32Array(keyTileFloats(cap, this.kvDim));
      k.set(this.k[slot]![l]!.subarray(0, used));
      v.set(this.v[slot]![l]!.subarray(0, used));
      kt.set(this.kTiles[slot]![l]!.subarray(0, keyTileFloats(this.length[slot]!, this.kvDim)));
      this.k[slot]![l] = k;
      this.v[slot]![l] = v;
      this.kTiles[slot]![l] = kt;
    }
    this.capacity[slot] = cap;
  }

  /** Store rows [row, row + count) of k and v [*, kvDim] for `layer` at positions at, at + 1, … of `slot` (room made by ensure). */
  write(slot: number, layer: number, k: Float32Array, v: Float32Array, row: number, count: number, at: number): void {
    const d = this.kvDim;
    this.k[slot]![layer]!.set(k.subarray(row * d, (row + count) * d), at * d);
    this.v[slot]![layer]!.set(v.subarray(row * d, (row + count) * d), at * d);
    writeKeyTiles(k, row, count, d, this.kTiles[slot]![layer]!, at);
  }

  reset(slot: number): void {
    this.length[slot] = 0;
  }

  /** Drop positions beyond `length` (e.g. to re-score from a shared prefix). */
  truncate(slot: number, length: number): void {
    this.length[slot] = Math.min(this.length[slot]!, length);
  }
}
