/**
 * Full-parameter training of a small Qwen2 model from scratch on worked solutions (GSM8K-format
 * JSONL), as chat conversations with the loss on the assistant's reply, or on plain-text documents
 * ({"text"} records, every token predicted: the base-regime world's corpora). This is how the bundled
 * Expert and Amateur are made; it runs through the same engine, trainer and checkpoints as
 * LightReasoner's Stage 2.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, parameterCount, type ModelConfig } from '../model/config.js';
import { initParams } from '../model/init.js';
import { Transformer } from '../model/transformer.js';
import { loadModelDir, saveModelDir, saveModelFilesInto } from '../model/model-dir.js';
import { modelFingerprint } from '../model/load.js';
import { ENDOFTEXT, assertSameVocabulary, loadTokenizer, type HfTokenizer } from '../tokenizer/index.js';
import { WORLD_SYSTEM_PROMPTS, trainingConversation } from '../data/chat-format.js';
import { CompletionStore, completionExample, completionSequence, type CompletionExample } from './completion.js';
import { Trainer } from './trainer.js';
import { epochBatches } from './epoch-batches.js';
import { HF_ADAMW_DEFAULTS } from './adamw.js';
import { checkTrainingOutDir, runTraining, type LoopResult } from './loop.js';
import type { ScheduleKind } from './schedule.js';
import { greedyAccuracy, type AccuracyReport } from './accuracy.js';
import { readJsonl, tornInputMessage } from '../util/jsonl.js';
import { openAppendLog, withRunLock, type RunLock } from '../util/run-dir.js';
import { UserError } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';

export interface Architecture {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  maxPositions: number;
  ropeTheta: number;
  tied: boolean;
}

export interface PretrainOptions {
  tokenizerDir: string;
  trainFile: string;
  devFile?: string;
  out: string;
  arch: Architecture;
  steps: number;
  batchSize: number;
  lr: number;
  schedule: ScheduleKind;
  warmupSteps: number;
  weightDecay: number;
  maxGradNorm: number;
  seed: number;
  saveSteps: number;
  evalSteps: number;
  evalCount: number;
  /** Steps at which to keep a standalone copy of the model (out/step-N), e.g. to serve as an Amateur. */
  exportSteps: number[];
  /** Start from this model's weights (continued pretraining) instead of a fresh initialisation; its architecture is used and --hidden etc. are ignored. */
  initFrom?: string;
  /** Accepted for compatibility: a matching run in `out` is always continued. */
  resume?: boolean;
  onProgress?: ProgressCallback;
  log?: (line: string) => void;
  /** Notices (a repaired log, an extended run); default stderr. */
  onWarning?: (message: string) => void;
  /** The lock on `out` when the caller took it already. */
  lock?: RunLock;
}

/** The defaults of `lightreasoner pretrain` (the bundled Expert's architecture; its model card gives the flags it was made with). */
export const DEFAULT_PRETRAIN_SETTINGS: Readonly<Pick<PretrainOptions, 'arch' | 'steps' | 'batchSize' | 'lr' | 'schedule' | 'warmupSteps' | 'weightDecay' | 'maxGradNorm' | 'seed' | 'saveSteps' | 'evalSteps' | 'evalCount'>> = {
  arch: { hidden: 256, layers: 6, heads: 8, kvHeads: 4, intermediate: 768, maxPositions: 512, ropeTheta: 10000, tied: true },
  steps: 4000, batchSize: 16, lr: 2e-3, schedule: 'cosine', warmupSteps: 200, weightDecay: 0.01, maxGradNorm: 1.0,
  seed: 0, saveSteps: 500, evalSteps: 1000, evalCount: 200,
};

export interface PretrainResult {
  config: ModelConfig;
  parameters: number;
  examples: number;
  loop: LoopResult;
  evals: Array<{ step: number } & AccuracyReport>;
}

export function pretrainConfig(arch: Architecture, tok: HfTokenizer): ModelConfig {
  const eos = tok.eosTokenIds;
  return parseConfig({
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    vocab_size: tok.vocabSize,
    hidden_size: arch.hidden,
    intermediate_size: arch.intermediate,
    num_hidden_layers: arch.layers,
    num_attention_heads: arch.heads,
    num_key_value_heads: arch.kvHeads,
    max_position_embeddings: arch.maxPositions,
    rope_theta: arch.ropeTheta,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: arch.tied,
    hidden_act: 'silu',
    initializer_range: 0.02,
    use_sliding_window: false,
    torch_dtype: 'float32',
    bos_token_id: tok.padTokenId ?? eos[0] ?? 0,
    eos_token_id: eos.length === 1 ? eos[0] : [...eos],
  }, 'pretrain config');
}

/**
 * Tokenised training examples, one kind per record: a GSM8K record {"question", "answer"} becomes a
 * chat conversation with the loss on the reply (the system prompt alternates between the world's
 * prompts); a plain-text document {"text"} (a base-model corpus, src/data/base-world) is trained on
 * every token, see documentExamples.
 */
export function loadCompletionExamples(file: string, tok: HfTokenizer, stopIds: readonly number[], maxTokens = Infinity): CompletionExample[] {
  const read = readJsonl<{ question?: unknown; answer?: unknown; text?: unknown }>(file, 'training data');
  if (read.problems.length > 0) throw new UserError(`${file}:${read.problems[0]!.line}: not valid JSON (${read.problems[0]!.message})`);
  const torn = tornInputMessage(read);
  if (torn) throw new UserError(`${file}:${read.tornLine}: ${torn}`);
  if (read.records.length === 0) throw new UserError(`${file}: no training records`);
  return read.records.flatMap(({ line, value }, i) => {
    if (typeof value.text === 'string' && value.question === undefined && value.answer === undefined) {
      return documentExamples(tok, value.text, maxTokens, `${file}:${line}`);
    }
    if (typeof value.question !== 'string' || typeof value.answer !== 'string') {
      throw new UserError(`${file}:${line}: expected "question" and "answer" strings, or a "text" string (a plain-text document)`);
    }
    const messages = trainingConversation(value.question, value.answer, WORLD_SYSTEM_PROMPTS[i % WORLD_SYSTEM_PROMPTS.length]!);
    return [completionExample(tok, messages, stopIds)];
  });
}

/**
 * A plain-text document as base-model pretraining sees it: `<|endoftext|>` before and after (the
 * document separator of GPT-2 and Qwen pretraining), special tokens written in the text (ChatML
 * markers of a chat document) encoded as themselves, and every token after the first predicted. A
 * document longer than `maxTokens` is cut into windows that overlap by one token, so each token is a
 * target exactly once; the first token of a window is its context.
 */
export function documentExamples(tok: HfTokenizer, text: string, maxTokens: number, where: string): CompletionExample[] {
  const eot = tok.tokenToId(ENDOFTEXT);
  if (eot === undefined) throw new UserError(`${where}: a plain-text document needs the ${ENDOFTEXT} token, which the tokenizer (${tok.source}) lacks`);
  if (maxTokens < 2) throw new UserError(`${where}: windows of ${maxTokens} token(s) cannot hold a target`);
  if (text.length === 0) throw new UserError(`${where}: empty "text"`);
  const ids = [eot, ...tok.encode(text, { addSpecialTokens: false }), eot];
  const out: CompletionExample[] = [];
  for (let start = 0; start + 1 < ids.length; start += maxTokens - 1) {
    const window = ids.slice(start, start + maxTokens);
    out.push({ prompt: Int32Array.of(window[0]!), completion: Int32Array.from(window.slice(1)) });
  }
  return out;
}

/** Dev accuracy during training, one line per measurement. */
const DEV_LOG = 'dev_accuracy.jsonl';

export function runPretrain(o: PretrainOptions): PretrainResult {
  // One writer per output directory, checked before anything is loaded.
  return withRunLock(o.out, 'dir', o.lock, () => pretrainLocked(o), () => checkTrainingOutDir(o.out, { ours: (f) => f === DEV_LOG || /^step-\d+$/.test(f) }));
}

function pretrainLocked(o: PretrainOptions): PretrainResult {
  const tok = loadTokenizer(o.tokenizerDir);
  const init = o.initFrom ? loadModelDir(o.initFrom) : null;
  if (init) assertSameVocabulary(loadTokenizer(o.initFrom!), tok, `the --init model's tokenizer (${o.initFrom})`, `--tokenizer ${o.tokenizerDir}`);
  const config = init ? init.config : pretrainConfig(o.arch, tok);
  const stopIds = tok.eosTokenIds;
  const examples = new CompletionStore(loadCompletionExamples(o.trainFile, tok, stopIds, config.maxPositionEmbeddings));
  for (let i = 0; i < examples.length; i++) {
    if (examples.tokens(i) > config.maxPositionEmbeddings) throw new UserError(`${o.trainFile}: record ${i + 1} needs ${examples.tokens(i)} tokens; raise --max-positions`);
  }
  const model = new Transformer(config, init ? init.params : initParams(config, o.seed));
  const trainer = new Trainer(model, {
    what: 'full', lr: o.lr, schedule: o.schedule, warmupSteps: o.warmupSteps, maxSteps: o.steps,
    maxGradNorm: o.maxGradNorm, adam: { ...HF_ADAMW_DEFAULTS, weightDecay: o.weightDecay }, seed: o.seed,
  });
  // Step s trains on examples [s·B, (s+1)·B) of an endless stream of seeded epoch permutations.
  const n = examples.length;
  const data = epochBatches({
    count: n, batchSize: o.batchSize, gradAccum: 1, epochSeed: (epoch) => (o.seed * 31 + epoch * 7919) >>> 0, sequence: (i) => completionSequence(examples.get(i)),
  });

  const devRead = o.devFile ? readJsonl<{ id?: string; question: string; answer: string }>(o.devFile, 'dev data') : null;
  const devTorn = devRead && tornInputMessage(devRead);
  if (devTorn) throw new UserError(`${o.devFile}:${devRead!.tornLine}: ${devTorn}`);
  const devRecords = devRead ? devRead.records.map((r) => r.value).slice(0, o.evalCount) : [];
  const evals: PretrainResult['evals'] = [];
  mkdirSync(o.out, { recursive: true });
  const evalLog = devRecords.length > 0 ? openAppendLog(join(o.out, DEV_LOG), o.onWarning) : null;
  const evaluate = (step: number): void => {
    if (devRecords.length === 0) return;
    const r = greedyAccuracy(model, tok, stopIds, devRecords, { maxNewTokens: 160, batchSize: 64 });
    evals.push({ step, ...r });
    evalLog?.append({ step, accuracy: r.accuracy, correct: r.correct, count: r.count, mean_tokens: r.meanCompletionTokens });
    o.log?.(`step ${step}: dev accuracy ${(100 * r.accuracy).toFixed(1)}% (${r.correct}/${r.count})`);
  };

  const exportSet = new Set(o.exportSteps);
  const fingerprint = { arch: init ? { init: modelFingerprint(o.initFrom!) } : o.arch, batchSize: o.batchSize, lr: o.lr, schedule: o.schedule, warmup: o.warmupSteps, weightDecay: o.weightDecay, seed: o.seed, train: o.trainFile, examples: n, vocab: tok.vocabSize };
  let firstStep: number | null = null;
  const loop = runTraining(trainer, (s) => {
    // Hooks between steps: dev evaluation and exports of the model as it is before step s. The first
    // step of a resumed run was already evaluated before its checkpoint was written.
    firstStep ??= s;
    if (s > 0 && s !== firstStep && o.evalSteps > 0 && s % o.evalSteps === 0) evaluate(s);
    if (exportSet.has(s)) {
      const dir = join(o.out, `step-${s}`);
      if (!existsSync(dir)) saveModelDir(dir, config, model.params, { copyFrom: o.tokenizerDir });
    }
    return data(s);
  }, {
    outDir: o.out, maxSteps: o.steps, saveSteps: o.saveSteps, fingerprint, schedule: o.schedule, maxStepsFlag: '--steps', stage: 'pretrain',
    ...(o.onWarning ? { onWarning: o.onWarning } : {}),
    writeArtifact: (dir) => { saveModelFilesInto(dir, config, model.params, { copyFrom: o.tokenizerDir }); },
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  if (exportSet.has(o.steps) && !existsSync(join(o.out, `step-${o.steps}`))) saveModelDir(join(o.out, `step-${o.steps}`), config, model.params, { copyFrom: o.tokenizerDir });
  // A run that was already finished was evaluated at its end then: not again (the log would double).
  if (loop.steps.length > 0) evaluate(o.steps);
  evalLog?.close();
  return { config, parameters: parameterCount(config), examples: n, loop, evals };
}
