/**
 * lightreasoner as a library: every job the CLI runs, and what each needs to run from a script.
 *
 *   import { bundledModel, loadModel, openModel, runSample, trainLora, mergeAdapterDir } from 'lightreasoner';
 *
 * Grouped in the order of a run: models in, Stage 1 (sample), Stage 2 (train), merge, eval, and
 * the baselines. The README's "Library" section runs verbatim against the packed package
 * (src/package.slow.test.ts). Public types must not need Node's types (@types/node): the same test
 * compiles a consumer project without them.
 */

// ── Bundled models: the tiny Expert and Amateur shipped in models/, as absolute paths ──
export { bundledModel, BUNDLED_MODELS, type BundledModelName } from './util/bundled.js';

// ── Engine: the matrix library in use (OpenBLAS, portable C++ or JavaScript) ──
export { engineInfo, sgemm, type EngineInfo } from './engine/blas.js';

// ── Models: Hugging Face directories, the decoder, generation, LoRA adapters ──
export { parseConfig, parameterCount, type ModelConfig } from './model/config.js';
export { saveModelDir, type LoadedModel } from './model/model-dir.js';
export { loadModel, modelFingerprint, type LanguageModel, type LoadModelOptions, type ModelInfo } from './model/load.js';
export { resolveModelDir } from './model/resolve.js';
export { Transformer, packSequences, allocGrads, type PackedBatch, type ForwardOptions, type ModelGrads } from './model/transformer.js';
export { KVCache } from './model/kv-cache.js';
export { generate, generateGreedy, type Generation, type GenerateOptions, type TokenChooser } from './model/generate.js';
export { createLoraAdapter, type LoraAdapter, type LoraConfig } from './model/lora.js';
export { loadAdapter, saveAdapter, readAdapterRunInfo } from './model/adapter-dir.js';
export { readSafetensors, writeSafetensors, readSafetensorsHeader } from './model/safetensors.js';

// ── Hugging Face Hub: ORG/NAME ids resolved from the cache Python's huggingface_hub shares, downloaded when absent ──
export { resolveModelRef, hubCacheDir, isHubId, type ResolveModelRefOptions, type ModelRefKind } from './hub/index.js';

// ── Tokenizer: tokenizer.json, chat templates, a byte-level BPE trainer ──
export { loadTokenizer, HfTokenizer, assertSameVocabulary, vocabularyFingerprint, trainByteLevelBpe, type ChatMessage, type EncodeOptions, type DecodeOptions } from './tokenizer/index.js';

// ── Back ends: one model directory (+ adapter) opened on the engine or llama.cpp, as runSample and eval take it ──
export { openModel, type OpenModelOptions, type OpenedModel } from './backends/open.js';
export { EngineBackend } from './backends/engine.js';
export { BACKEND_KINDS, type BackendKind, type GreedyOptions, type LanguageModelBackend } from './backends/backend.js';

// ── Serving: our engine behind vLLM's /v1/completions subset (what the openai back end talks to) ──
export { startServer, type ServeOptions, type RunningServer, type ServeStats } from './serve/server.js';

// ── Data: question files (GSM8K-style JSONL) and the synthetic word-problem world ──
export { readQuestions, requireValidQuestions, type QuestionRecord, type QuestionsRead } from './data/questions.js';
export { generateProblems, writeGsm8kJsonl, type SyntheticProblem, type Split } from './data/synthetic/index.js';

// ── Stage 1, sampling: Expert vs Amateur, KL-selected steps with contrastive soft labels ──
export { runSample, validateSampleSettings, DEFAULT_SAMPLE_SETTINGS, DEFAULT_SAMPLING_SYSTEM_PROMPT, type SampleJob, type SampleModel, type SampleSettings, type SampleStats } from './method/sample.js';
export { contrastStep, ContrastScratch, klFromLogProbs, plausibleThreshold, type ContrastOptions, type StepContrast } from './method/contrast.js';
export { scoreTrajectory, contrastTrajectory, type ScoredStep } from './method/trajectory.js';
export { stepLogits } from './model/step-logits.js';
// The samples file Stage 1 writes, and its trajectories file, read back with line-numbered problems.
export { readSamples, readTrajectories, trajectoriesPath, type SampleRecord, type TrajectoryRecord, type SamplesRead } from './method/samples.js';

// ── Stage 2, training: the LoRA job on a samples file, and the pieces under it ──
export { trainLora, DEFAULT_TRAIN_SETTINGS, type TrainJob, type TrainSettings, type TrainReport, type LoraRunSettings } from './train/train-lora.js';
export { loadTrainingSet, type TrainingSet, type TrainingSetOptions } from './train/training-set.js';
export { Trainer, type TrainSequence, type TrainTarget, type StepData } from './train/trainer.js';
export { AdamW, clipGradNorm } from './train/adamw.js';
export { learningRate, type ScheduleKind } from './train/schedule.js';
// Pretraining a small model from scratch (how the bundled models were made).
export { runPretrain, type PretrainOptions, type PretrainResult } from './train/pretrain.js';

// ── Merge: an adapter folded into the base weights, written as a model directory ──
export { mergeAdapterDir, mergeLora, type MergeJob, type MergeReport } from './model/merge.js';

// ── Eval: greedy accuracy on a question file (optionally with contrastive decoding), grading, statistics ──
export { runEval, evalPredictions, compareResultFiles, loadGoldQuestions, DEFAULT_EVAL_SETTINGS, validateEvalSettings, type EvalJob, type EvalSettings, type ModelEvalReport, type PredictionsReport, type CompareReport } from './eval/run.js';
export { extractAnswer, type Extraction } from './data/extract.js';
export { isEquivalent, explainEquivalence } from './data/equivalence.js';
export { readResults } from './eval/results.js';
export { type EvalResult, type EvalSummary, type Comparison } from './eval/grade.js';
export { summarizeFormats, completionFormat, type FormatSummary, type CompletionFormat, type Finish } from './eval/formats.js';
export { resolvePrompt, buildMessages, PROMPT_PRESETS, QWEN25_MATH_COT_SYSTEM, type PromptPreset } from './data/prompts.js';
export { wilsonInterval, mcnemarExact } from './eval/stats.js';

// ── Baselines: rejection-sampling SFT, and contrastive decoding (a TokenChooser for generate) ──
export { runRejectionSft, type SftJob, type SftSettings, type SftReport } from './baselines/rejection-sft.js';
export { contrastiveChooser, CD_DEFAULTS, type ContrastiveDecodingOptions } from './baselines/contrastive-decoding.js';

// ── GGUF export (for llama.cpp) ──
export { exportGguf, type ExportGgufOptions, type ExportedGguf, type GgufDtype } from './export/gguf-model.js';

// ── The demo: the whole method on the bundled models ──
export { runDemo, demoSettings, type DemoSettings, type DemoResult } from './demo/run.js';

// ── Progress and errors: one event shape for every job; UserError for input a user can fix ──
export { cliProgressCallback, type ProgressCallback, type ProgressEvent } from './util/progress.js';
export { UserError } from './util/errors.js';
