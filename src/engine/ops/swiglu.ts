/**
 * The gated MLP activation of Qwen2/Llama: a = silu(g) ⊙ u, silu(g) = g·σ(g).
 * Shapes: g, u, a [rows·intermediate] (flat). Kernels in src/engine/kernels.ts.
 */
import { kernels } from '../kernels.js';

export function swigluForward(g: Float32Array, u: Float32Array, a: Float32Array, n: number): void {
  kernels().swigluForward(g, u, a, n);
}

/** dg = da ⊙ u ⊙ σ(g)(1 + g(1 − σ(g))), du = da ⊙ silu(g). Both written, not accumulated. */
export function swigluBackward(da: Float32Array, g: Float32Array, u: Float32Array, dg: Float32Array, du: Float32Array, n: number): void {
  kernels().swigluBackward(da, g, u, dg, du, n);
}
