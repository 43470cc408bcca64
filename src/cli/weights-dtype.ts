/**
 * `--weights-dtype f32|bf16` of `sample` and `eval`: the dtype the engine holds the models' weights
 * in (src/model/bf16-weights.ts says what bf16 changes). The choice is applied once, through
 * loadModel's default, so every model the command's back end opens gets it.
 */
import { Option, type Command } from 'commander';
import { setDefaultWeightsDtype } from '../model/load.js';
import { parseWeightsDtype, type WeightsDtype } from '../model/bf16-weights.js';
import { UserError } from '../util/errors.js';

export function addWeightsDtypeOption(cmd: Command): void {
  cmd.addOption(new Option('--weights-dtype <dtype>', 'engine back end: hold the weights as "f32" or as "bf16" (half the memory; decoding about 2-3x faster on CPUs with AVX512-BF16; logits differ from f32 by bf16 rounding, and results may change slightly — inference only)')
    .choices(['f32', 'bf16']).default('f32'));
}

/** Apply --weights-dtype; bf16 is refused for back ends that do not run our engine. */
export function applyWeightsDtype(value: string | undefined, backend: string): WeightsDtype {
  const dtype = parseWeightsDtype(value ?? 'f32');
  if (dtype === 'bf16' && backend !== 'engine') {
    throw new UserError(`--weights-dtype bf16 applies to the engine back end only; --backend ${backend} runs its own copy of the weights (for llama.cpp choose the GGUF's dtype with its own option)`);
  }
  setDefaultWeightsDtype(dtype);
  return dtype;
}
