/**
 * lightreasoner as a library: the same pieces the CLI uses.
 *
 *   import { loadModel, generateGreedy, runSample } from 'lightreasoner';
 */
export { engineInfo, sgemm, type EngineInfo } from './engine/blas.js';
export { parseConfig, parameterCount, type ModelConfig } from './model/config.js';
export { saveModelDir, type LoadedModel } from './model/model-dir.js';
export { loadModel, modelFingerprint, type LanguageModel, type LoadModelOptions, type ModelInfo } from './model/load.js';
export { resolveModelDir } from './model/resolve.js';
export { Transformer, packSequences, allocGrads, type PackedBatch, type ForwardOptions, type ModelGrads } from './model/transformer.js';
export { KVCache } from './model/kv-cache.js';
export { generate, generateGreedy, type Generation, type GenerateOptions, type TokenChooser } from './model/generate.js';
export { createLoraAdapter, type LoraAdapter, type LoraConfig } from './model/lora.js';
export { loadAdapter, saveAdapter } from './model/adapter-dir.js';
export { readSafetensors, writeSafetensors, readSafetensorsHeader } from './model/safetensors.js';
export { loadTokenizer, HfTokenizer, assertSameVocabulary, trainByteLevelBpe } from './tokenizer/index.js';
export { contrastStep, ContrastScratch, klFromLogProbs, type ContrastOptions, type StepContrast } from './method/contrast.js';
export { scoreTrajectory, stepLogits } from './method/trajectory.js';
export { runSample, type SampleJob, type SampleSettings, type SampleStats } from './method/sample.js';
export { Trainer, type TrainSequence, type TrainTarget, type StepData } from './train/trainer.js';
export { AdamW, clipGradNorm } from './train/adamw.js';
export { learningRate } from './train/schedule.js';
export { extractAnswer } from './eval/extract.js';
export { isEquivalent } from './eval/equivalence.js';
export { wilsonInterval, mcnemarExact } from './eval/stats.js';
export { generateProblems } from './data/synthetic/index.js';
export type { ProgressCallback, ProgressEvent } from './util/progress.js';
