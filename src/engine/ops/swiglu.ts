/**
 * The gated MLP activation of Qwen2/Llama: a = silu(g) ⊙ u, silu(g) = g·σ(g).
 * Shapes: g, u, a [rows·intermediate] (flat).
 */

export function swigluForward(g: Float32Array, u: Float32Array, a: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = g[i]!;
    a[i] = (x / (1 + Math.exp(-x))) * u[i]!;
  }
}

/** dg = da ⊙ u ⊙ σ(g)(1 + g(1 − σ(g))), du = da ⊙ silu(g). Both written, not accumulated. */
export function swigluBackward(da: Float32Array, g: Float32Array, u: Float32Array, dg: Float32Array, du: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = g[i]!;
    const s = 1 / (1 + Math.exp(-x));
    const d = da[i]!;
    du[i] = d * x * s;
    dg[i] = d * u[i]! * s * (1 + x * (1 - s));
  }
}
