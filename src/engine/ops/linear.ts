/**
 * Linear layer y = x Wᵀ + b as torch.nn.Linear, W stored [out, in]. Shapes: x [rows, in],
 * y [rows, out]. Matrix products go through sgemm (OpenBLAS when present).
 */
import { gemmBf16, sgemm } from '../blas.js';

export function linearForward(
  x: Float32Array, rows: number, inF: number, W: Float32Array | Uint16Array, b: Float32Array | null, outF: number, y: Float32Array,
): void {
  // Start from the bias in every row and let the product accumulate onto it (beta = 1): one pass less.
  if (b) for (let r = 0; r < rows; r++) y.set(b, r * outF);
  const beta = b ? 1 : 0;
  // A Uint16Array is a weight held as bfloat16 bits (inference only: src/model/bf16-weights.ts).
  if (W instanceof Uint16Array) gemmBf16(rows, outF, inF, x, 0, inF, W, 0, inF, beta, y, 0, outF);
  else sgemm(false, true, rows, outF, inF, 1, x, 0, inF, W, 0, inF, beta, y, 0, outF);
}

/**
 * Backward of linearForward. dx = dy W (written, or accumulated when accumulate is true);
 * dW += dyᵀ x and db += Σ_rows dy when those buffers are given (null: frozen).
 */
export function linearBackward(
  dy: Float32Array, x: Float32Array, rows: number, inF: number, W: Float32Array, outF: number,
  dx: Float32Array | null, accumulate: boolean, dW: Float32Array | null, db: Float32Array | null,
): void {
  if (dx) sgemm(false, false, rows, inF, outF, 1, dy, 0, outF, W, 0, inF, accumulate ? 1 : 0, dx, 0, inF);
  if (dW) sgemm(true, false, outF, inF, rows, 1, dy, 0, outF, x, 0, inF, 1, dW, 0, inF);
  if (db) {
    for (let r = 0; r < rows; r++) {
      const o = r * outF;
      for (let j = 0; j < outF; j++) db[j]! += dy[o + j]!;
    }
  }
}
