/**
 * lightreasoner as a library: the same pieces the CLI uses.
 *
 *   import { loadLanguageModel, generateGreedy, runSample } from 'lightreasoner';
 */
export { engineInfo, sgemm, type EngineInfo } from './engine/blas.js';
export { parseConfig, parameterCount, type ModelConfig } from './model/config.js';
export { loadModelDir, saveModelDir, type LoadedModel } from './model/model-dir.js';
export { loadLanguageModel, modelFingerprint, type LanguageModel } from './model/load.js';
export { Transformer, packSequences, allocGrads, type PackedBatch, type ForwardOptions, type ModelGrads } from './model/transformer.js';
export { KVCache } from './model/kv-cache.js';
export { generate, generateGreedy, type Generation, type GenerateOptions, type TokenChooser } from './model/generate.js';
export { createLoraAdapter, type LoraAdapter, type LoraConfig } from './model/lora.js';
export { loadAdapter, saveAdapter, readAdapterRunInfo } from './model/adapter-dir.js';
export { readSafetensors, writeSafetensors, readSafetensorsHeader } from './model/safetensors.js';
export { loadTokenizer, HfTokenizer, assertSameVocabulary, trainByteLevelBpe } from './tokenizer/index.js';
export { contrastStep, ContrastScratch, klFromLogProbs, plausibleThreshold, type ContrastOptions, type StepContrast } from './method/contrast.js';
export { scoreTrajectory, contrastTrajectory, type ScoredStep } from './method/trajectory.js';
export { stepLogits } from './model/step-logits.js';
export { runSample, DEFAULT_SAMPLE_SETTINGS, validateSampleSettings, type SampleJob, type SampleSettings, type SampleStats } from './method/sample.js';
export { Trainer, type TrainSequence, type TrainTarget, type StepData } from './train/trainer.js';
export { AdamW, clipGradNorm } from './train/adamw.js';
export { learningRate } from './train/schedule.js';
export { runEval, evalPredictions, compareResultFiles, DEFAULT_EVAL_SETTINGS, validateEvalSettings, type EvalJob, type EvalSettings, type ModelEvalReport, type PredictionsReport, type CompareReport } from './eval/run.js';
export { extractAnswer } from './eval/extract.js';
export { isEquivalent } from './eval/equivalence.js';
export { wilsonInterval, mcnemarExact } from './eval/stats.js';
export { generateProblems } from './data/synthetic/index.js';
export type { ProgressCallback, ProgressEvent } from './util/progress.js';
