/**
 * Dropout on the LoRA branch's input (PEFT's lora_dropout): x is kept, scaled by 1/(1 − p), where
 * the next draw of the training's Rng is ≥ p. Forward and backward side by side; the native kernels
 * (native/kernels.cc) draw the same stream and compute in double as the JavaScript below, so a run
 * is bit for bit the same with or without the addon.
 */
import { nativeKernels, type NativeKernels } from '../native.js';
import { Rng } from '../../util/rng.js';

/** JavaScript reference kernels: the fallback without the addon, and what native/kernels.cc is tested against. */
export const dropoutJs: Pick<NativeKernels, 'dropoutForward' | 'dropoutBackward'> = {
  dropoutForward(x, p, keep, state, xd, mask) {
    const rng = Rng.fromState(state);
    for (let i = 0; i < x.length; i++) {
      if (rng.next() >= p) {
        mask[i] = 1;
        xd[i] = x[i]! * keep;
      } else {
        mask[i] = 0;
        xd[i] = 0;
      }
    }
    return rng.state;
  },
  dropoutBackward(dxd, mask, keep, dx) {
    for (let i = 0; i < dxd.length; i++) if (mask[i]) dx[i]! += dxd[i]! * keep;
  },
};

const kern = (): Pick<NativeKernels, 'dropoutForward' | 'dropoutBackward'> => nativeKernels() ?? dropoutJs;

/** dropout(x) with rate p, drawing from (and advancing) `rng`: the scaled input and the kept mask. */
export function dropoutForward(x: Float32Array, p: number, rng: Rng): { xd: Float32Array; mask: Uint8Array } {
  const xd = new Float32Array(x.length), mask = new Uint8Array(x.length);
  rng.state = kern().dropoutForward(x, p, 1 / (1 - p), rng.state, xd, mask);
  return { xd, mask };
}

/** Through dropout: dx += dxd / (1 − p) where the mask kept the input. */
export function dropoutBackward(dxd: Float32Array, mask: Uint8Array, p: number, dx: Float32Array): void {
  kern().dropoutBackward(dxd, mask, 1 / (1 - p), dx);
}
