/**
 * `--weights-dtype f32|bf16` of `sample` and `eval`: the dtype the engine holds the models' weights
 * in (src/model/bf16-weights.ts says what bf16 changes). It travels with the back end's settings
 * (OpenModelOptions.weightsDtype) to every model the command opens, and into its manifest's
 * fingerprints; openModel refuses bf16 for a back end that is not the engine.
 */
import { Option, type Command } from 'commander';
import { parseWeightsDtype, type WeightsDtype } from '../model/bf16-weights.js';

export function addWeightsDtypeOption(cmd: Command): void {
  cmd.addOption(new Option('--weights-dtype <dtype>', 'engine back end: hold the weights as "f32" or as "bf16" (half the memory; decoding about 2-3x faster on CPUs with AVX512-BF16; logits differ from f32 by bf16 rounding, and results may change slightly — inference only)')
    .choices(['f32', 'bf16']).default('f32'));
}

/** --weights-dtype's value (default f32). */
export function weightsDtypeOption(value: string | undefined): WeightsDtype {
  return parseWeightsDtype(value ?? 'f32');
}
