/**
 * Fresh parameters for pretraining, as transformers initialises Qwen2/Llama: linear and embedding
 * weights ~ N(0, initializer_range²) (default 0.02), biases 0, norm weights 1.
 */
import type { ModelConfig } from './config.js';
import type { ModelParams } from './params.js';
import { expectedTensors, paramsFromTensors } from './params.js';
import type { TensorMap } from './tensor.js';
import { numel } from './tensor.js';
import { Rng } from '../util/rng.js';

export function initParams(config: ModelConfig, seed: number, std?: number): ModelParams {
  const sigma = std ?? (typeof config.raw.initializer_range === 'number' ? config.raw.initializer_range : 0.02);
  const rng = new Rng(seed);
  const tensors: TensorMap = new Map();
  for (const spec of expectedTensors(config)) {
    const data = new Float32Array(numel(spec.shape));
    if (spec.name.endsWith('norm.weight')) data.fill(1);
    else if (!spec.name.endsWith('.bias')) for (let i = 0; i < data.length; i++) data[i] = rng.normal() * sigma;
    tensors.set(spec.name, { data, shape: spec.shape });
  }
  return paramsFromTensors(config, tensors, 'initParams');
}
