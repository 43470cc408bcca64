/**
 * RMSNorm as Hugging Face's Qwen2RMSNorm / LlamaRMSNorm: y = w ⊙ x / sqrt(mean(x²) + eps),
 * row by row. Shapes: x, y [rows, dim]; w [dim]; rstd [rows]. Native kernel in native/kernels.cc; its JavaScript reference below.
 */
import { nativeKernels, type NativeKernels } from '../native.js';

/** JavaScript reference kernels: the fallback without the addon, and what native/kernels.cc is tested against. */
export const rmsnormJs: Pick<NativeKernels, 'rmsnormForward' | 'rmsnormBackward'> = {
  rmsnormForward(x, w, rows, dim, eps, y, rstd) {
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      let ss = 0;
      for (let i = 0; i < dim; i++) ss += x[o + i]! * x[o + i]!;
      // HF rounds the normalised activation to float32 before multiplying by the weight.
      const s = Math.fround(1 / Math.sqrt(ss / dim + eps));
      if (rstd) rstd[r] = s;
      for (let i = 0; i < dim; i++) y[o + i] = w[i]! * Math.fround(x[o + i]! * s);
    }
  },
  rmsnormBackward(dy, x, w, rstd, rows, dim, dx, dw) {
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      const s = rstd[r]!;
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += dy[o + i]! * w[i]! * x[o + i]!;
      const c = (dot * s * s) / dim; // mean(dx̂ ⊙ x̂)/s with dx̂ = dy ⊙ w, folded so x̂ is not materialised
      for (let i = 0; i < dim; i++) dx[o + i]! += s * (dy[o + i]! * w[i]! - x[o + i]! * c);
      if (dw) for (let i = 0; i < dim; i++) dw[i]! += dy[o + i]! * x[o + i]! * s;
    }
  },
};

/** Native kernels when the addon is loaded, else the JavaScript reference above. */
const kern = (): Pick<NativeKernels, 'rmsnormForward' | 'rmsnormBackward'> => nativeKernels() ?? rmsnormJs;

export function rmsnormForward(
  x: Float32Array, w: Float32Array, rows: number, dim: number, eps: number,
  y: Float32Array, rstd: Float32Array | null,
): void {
  kern().rmsnormForward(x, w, rows, dim, eps, y, rstd);
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
  kern().rmsnormBackward(dy, x, w, rstd, rows, dim, dx, dw);
}
