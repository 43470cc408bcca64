import { f32FromBf16 } from '../blas.js';

/**
 * Token embedding lookup. Shapes: table [vocab, dim], ids [rows], out [rows, dim]. A Uint16Array
 * table holds bfloat16 bits (inference only); its rows are widened exactly.
 */
export function embeddingForward(table: Float32Array | Uint16Array, dim: number, ids: ArrayLike<number>, out: Float32Array): void {
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r]!;
    if (table instanceof Uint16Array) f32FromBf16(table, out, dim, id * dim, r * dim);
    else out.set(table.subarray(id * dim, id * dim + dim), r * dim);
  }
}

/** dTable[id] += dOut[row] for every row. */
export function embeddingBackward(dOut: Float32Array, dim: number, ids: ArrayLike<number>, dTable: Float32Array): void {
  for (let r = 0; r < ids.length; r++) {
    const t = ids[r]! * dim, o = r * dim;
    for (let i = 0; i < dim; i++) dTable[t + i]! += dOut[o + i]!;
  }
}
