/** A float32 tensor: row-major data with its shape. Weights of every dtype are held as float32. */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

/** Tensors by their Hugging Face names (e.g. "model.layers.0.self_attn.q_proj.weight"). */
export type TensorMap = Map<string, Tensor>;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeEquals(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
