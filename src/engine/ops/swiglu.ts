/**
 * The gated MLP activation of Qwen2/Llama: a = silu(g) ⊙ u, silu(g) = g·σ(g).
 * Shapes: g, u, a [rows·intermediate] (flat). Native kernel in native/kernels.cc; its JavaScript reference below.
 */
import { nativeKernels, type NativeKernels } from '../native.js';

/** JavaScript reference kernels: the fallback without the addon, and what native/kernels.cc is tested against. */
export const swigluJs: Pick<NativeKernels, 'swigluForward' | 'swigluBackward'> = {
  swigluForward(g, u, a, n) {
    for (let i = 0; i < n; i++) {
      const x = g[i]!;
      a[i] = (x / (1 + Math.exp(-x))) * u[i]!;
    }
  },
  swigluBackward(da, g, u, dg, du, n) {
    for (let i = 0; i < n; i++) {
      const x = g[i]!;
      const s = 1 / (1 + Math.exp(-x));
      const d = da[i]!;
      du[i] = d * x * s;
      dg[i] = d * u[i]! * s * (1 + x * (1 - s));
    }
  },
};

/** Native kernels when the addon is loaded, else the JavaScript reference above. */
const kern = (): Pick<NativeKernels, 'swigluForward' | 'swigluBackward'> => nativeKernels() ?? swigluJs;

export function swigluForward(g: Float32Array, u: Float32Array, a: Float32Array, n: number): void {
  kern().swigluForward(g, u, a, n);
}

/** dg = da ⊙ u ⊙ σ(g)(1 + g(1 − σ(g))), du = da ⊙ silu(g). Both written, not accumulated. */
export function swigluBackward(da: Float32Array, g: Float32Array, u: Float32Array, dg: Float32Array, du: Float32Array, n: number): void {
  kern().swigluBackward(da, g, u, dg, du, n);
}
