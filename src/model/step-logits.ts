/**
 * Next-token logits at every step of a teacher-forced continuation, from one causal pass.
 *
 * The reference implementation re-runs the Amateur once per step on a re-tokenised prefix
 * (O(T²) work, and re-tokenising decoded text can change the ids). Causal attention makes one
 * teacher-forced pass over prompt + generated tokens give every next-token distribution at
 * once, on the exact ids: the distribution for step t (predicting generated[t]) is the output at
 * row promptLength − 1 + t. The engine back end (src/backends/engine.ts) serves this.
 */
import { packSequences, type Transformer } from './transformer.js';

/** Next-token logits [T, vocab] at the T generated steps of one trajectory, from one causal pass. */
export function stepLogits(model: Transformer, promptIds: ArrayLike<number>, generated: ArrayLike<number>): Float32Array {
  const T = generated.length;
  if (T === 0) return new Float32Array(0);
  const seq = new Int32Array(promptIds.length + T - 1); // the last generated token predicts nothing we score
  seq.set(Array.from(promptIds), 0);
  seq.set(Array.from(generated).slice(0, T - 1), promptIds.length);
  const rows = Int32Array.from({ length: T }, (_, t) => promptIds.length - 1 + t);
  return model.forward(packSequences([seq]), { logitRows: rows }).logits;
}
