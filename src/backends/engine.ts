/**
 * Our own engine as a back end: a thin wrapper over generateGreedy (batched, KV caches; with
 * each step's logits kept when asked) and stepLogits (one causal pass). Results are exactly those of calling them directly.
 */
import type { Transformer } from '../model/transformer.js';
import { generateGreedy, type Generation } from '../model/generate.js';
import { stepLogits } from '../model/step-logits.js';
import type { GenerationWithLogits, GreedyOptions, LanguageModelBackend } from './backend.js';

export class EngineBackend implements LanguageModelBackend {
  readonly kind = 'engine' as const;
  readonly vocabSize: number;
  readonly contextSize: number;

  constructor(readonly model: Transformer, readonly description = 'engine') {
    this.vocabSize = model.config.vocabSize;
    this.contextSize = model.config.maxPositionEmbeddings;
  }

  generateGreedy(prompts: ReadonlyArray<ArrayLike<number>>, opts: GreedyOptions): Promise<Generation[]> {
    return Promise.resolve().then(() => generateGreedy(this.model, prompts, opts));
  }

  generateGreedyWithLogits(prompts: ReadonlyArray<ArrayLike<number>>, opts: GreedyOptions): Promise<GenerationWithLogits[]> {
    return Promise.resolve().then(() => generateGreedy(this.model, prompts, { ...opts, keepLogits: true }) as GenerationWithLogits[]);
  }

  stepLogits(promptIds: ArrayLike<number>, generated: ArrayLike<number>): Promise<Float32Array> {
    return Promise.resolve().then(() => stepLogits(this.model, promptIds, generated));
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}
