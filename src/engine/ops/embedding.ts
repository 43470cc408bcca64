/** Token embedding lookup. Shapes: table [vocab, dim], ids [rows], out [rows, dim]. */

export function embeddingForward(table: Float32Array, dim: number, ids: ArrayLike<number>, out: Float32Array): void {
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r]!;
    out.set(table.subarray(id * dim, id * dim + dim), r * dim);
  }
}

/** dTable[id] += dOut[row] for every row. */
export function embeddingBackward(dOut: Float32Array, dim: number, ids: ArrayLike<number>, dTable: Float32Array): void {
  for (let r = 0; r < ids.length; r++) {
    const t = ids[r]! * dim, o = r * dim;
    for (let i = 0; i < dim; i++) dTable[t + i]! += dOut[o + i]!;
  }
}
