/**
 * RMSNorm as Hugging Face's Qwen2RMSNorm / LlamaRMSNorm: y = w ⊙ x / sqrt(mean(x²) + eps),
 * row by row. Shapes: x, y [rows, dim]; w [dim]; rstd [rows]. Kernels in src/engine/kernels.ts.
 */
import { kernels } from '../kernels.js';

export function rmsnormForward(
  x: Float32Array, w: Float32Array, rows: number, dim: number, eps: number,
  y: Float32Array, rstd: Float32Array | null,
): void {
  kernels().rmsnormForward(x, w, rows, dim, eps, y, rstd);
}

/**
 * Backward of rmsnormForward. With x̂ = x·s: dx = s·(dx̂ − x̂·mean(dx̂ ⊙ x̂)), dx̂ = dy ⊙ w,
 * dw = Σ_rows dy ⊙ x̂. `dx` is accumulated into (it always feeds the residual stream);
 * `dw` is accumulated into when given (null when the norm is frozen).
 */
export function rmsnormBackward(
  dy: Float32Array, x: Float32Array, w: Float32Array, rstd: Float32Array, rows: number, dim: number,
  dx: Float32Array, dw: Float32Array | null,
): void {
  kernels().rmsnormBackward(dy, x, w, rstd, rows, dim, dx, dw);
}
