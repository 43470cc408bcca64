/**
 * Rotary position embeddings exactly as Hugging Face applies them to Qwen2 and Llama
 * ("rotate half"): for a head vector x of size d and position p, with θ_i the inverse
 * frequencies, x'[i] = x[i]·cos(pθ_i) − x[i+d/2]·sin(pθ_i) and
 * x'[i+d/2] = x[i+d/2]·cos(pθ_i) + x[i]·sin(pθ_i), for i < d/2.
 * The table mimics transformers' float32 arithmetic (inverse frequencies, angle products and
 * cos/sin rounded to float32) so long positions agree with PyTorch, not only short ones.
 */
/** rope_scaling of type "llama3" (config.json's rope_scaling, parsed by src/model/config.ts). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

const f = Math.fround;

/** transformers' default inverse frequencies, plus the llama3 rescaling when configured. */
export function inverseFrequencies(headDim: number, theta: number, scaling: Llama3RopeScaling | null): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(theta ** f((2 * i) / headDim)));
  if (!scaling) return inv;
  // transformers' _compute_llama3_parameters
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: old } = scaling;
  const lowFreqWavelen = old / lowFreqFactor;
  const highFreqWavelen = old / highFreqFactor;
  for (let i = 0; i < half; i++) {
    const freq = inv[i]!;
    const wavelen = f((2 * Math.PI) / freq);
    let llama = wavelen > lowFreqWavelen ? f(freq / factor) : freq;
    if (!(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen)) {
      const smooth = f((f(old / wavelen) - lowFreqFactor) / (highFreqFactor - lowFreqFactor));
      llama = f(f(f((1 - smooth) * llama) / factor) + f(smooth * llama));
    }
    inv[i] = llama;
  }
  return inv;
}

/** cos/sin of pθ_i for positions 0..capacity-1, grown on demand. Shapes: [capacity, d/2]. */
export class RotaryTable {
  readonly half: number;
  readonly invFreq: Float32Array;
  cos = new Float32Array(0);
  sin = new Float32Array(0);
  capacity = 0;

  constructor(readonly headDim: number, theta: number, scaling: Llama3RopeScaling | null) {
    this.half = headDim / 2;
    this.invFreq = inverseFrequencies(headDim, theta, scaling);
  }

  ensure(positions: number): void {
    if (positions <= this.capacity) return;
    const cap = Math.max(positions, this.capacity * 2, 64);
    const cos = new Float32Array(cap * this.half), sin = new Float32Array(cap * this.half);
    cos.set(this.cos);
    sin.set(this.sin);
    for (let p = this.capacity; p < cap; p++) {
      for (let i = 0; i < this.half; i++) {
        const angle = f(p * this.invFreq[i]!);
        cos[p * this.half + i] = Math.cos(angle);
        sin[p * this.half + i] = Math.sin(angle);
      }
    }
    this.cos = cos;
    this.sin = sin;
    this.capacity = cap;
  }
}

/**
 * Rotate every head of x [rows, heads, d] in place by its row's position. `inverse` rotates by
 * −pθ (the transpose of the rotation), which is the backward pass.
 */
export function applyRotary(x: Float32Array, rows: number, heads: number, positions: ArrayLike<number>, table: RotaryTable, inverse = false): void {
  const d = table.headDim, half = table.half;
  let maxPos = 0;
  for (let r = 0; r < rows; r++) maxPos = Math.max(maxPos, positions[r]!);
  table.ensure(maxPos + 1);
  const { cos, sin } = table;
  const sign = inverse ? -1 : 1;
  for (let r = 0; r < rows; r++) {
    const t = positions[r]! * half;
    for (let h = 0; h < heads; h++) {
      const o = (r * heads + h) * d;
      for (let i = 0; i < half; i++) {
        const c = cos[t + i]!, s = sign * sin[t + i]!;
        const a = x[o + i]!, b = x[o + i + half]!;
        x[o + i] = a * c - b * s;
        x[o + i + half] = b * c + a * s;
      }
    }
  }
}
