/**
 * `lightreasoner train-tokenizer`: learn a byte-level BPE tokenizer in Qwen2's format from the
 * `question` and `answer` fields of GSM8K-style JSONL files, for the bundled tiny models.
 *
 *   lightreasoner train-tokenizer --input data/train.jsonl --vocab-size 2048 --out models/tiny
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../tokenizer/hf-tokenizer.js';
import { CHATML_SPECIAL_TOKENS } from '../tokenizer/qwen2-format.js';
import { DEFAULT_BPE_TRAINING, trainByteLevelBpe, type BpeTrainingStats } from '../tokenizer/bpe-trainer.js';
import { vocabularyFingerprint } from '../tokenizer/vocabulary.js';
import { solutionToAssistant, WORLD_SYSTEM_PROMPTS } from '../data/chat-format.js';
import { UserError } from '../util/errors.js';
import { JSON_HELP, nonEmptyList, positiveInt, printSummary } from './flags.js';
import { writeJsonAtomic } from '../util/fsx.js';
import { readJsonl } from '../util/jsonl.js';
import { cliProgressCallback } from '../util/progress.js';

/** The `question` and `answer` text of every record, in file order; any bad line is an error. */
export function readQuestionAnswerTexts(paths: readonly string[]): string[] {
  const texts: string[] = [];
  for (const path of paths) {
    const { records, problems, tornTail } = readJsonl<unknown>(path, 'training data');
    if (problems.length > 0) {
      throw new UserError(`${path}: ${problems.length} line(s) are not valid JSON, e.g. ${problems.slice(0, 3).map((p) => `line ${p.line}: ${p.message}`).join('; ')}`);
    }
    if (tornTail) throw new UserError(`${path}: the last line is cut off (not valid JSON and no final newline)`);
    if (records.length === 0) throw new UserError(`${path}: no records (expected JSONL with "question" and "answer" strings)`);
    for (const { line, value } of records) {
      for (const field of ['question', 'answer'] as const) {
        const v = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;
        if (typeof v !== 'string') throw new UserError(`${path}: line ${line}: field "${field}" is ${v === undefined ? 'missing' : JSON.stringify(v)}, expected a string`);
        texts.push(v);
      }
    }
  }
  return texts;
}

/**
 * The texts of records that are either GSM8K pairs ({"question", "answer"}: both texts) or plain-text
 * documents ({"text"}, as the base-regime corpora write them). A document is cut at the ChatML special
 * tokens it contains: they are added tokens, encoded whole, so BPE must not spend merges on them.
 */
export function readTrainingTexts(paths: readonly string[]): string[] {
  const texts: string[] = [];
  const specials = new RegExp(CHATML_SPECIAL_TOKENS.map((t) => t.replace(/[|]/g, '\\|')).join('|'));
  for (const path of paths) {
    const { records, problems, tornTail } = readJsonl<unknown>(path, 'training data');
    if (problems.length > 0) {
      throw new UserError(`${path}: ${problems.length} line(s) are not valid JSON, e.g. ${problems.slice(0, 3).map((p) => `line ${p.line}: ${p.message}`).join('; ')}`);
    }
    if (tornTail) throw new UserError(`${path}: the last line is cut off (not valid JSON and no final newline)`);
    if (records.length === 0) throw new UserError(`${path}: no records (expected JSONL with "question" and "answer" strings, or "text" strings)`);
    for (const { line, value } of records) {
      const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
      if (typeof r.text === 'string' && r.question === undefined && r.answer === undefined) {
        texts.push(...r.text.split(specials).filter((t) => t.length > 0));
        continue;
      }
      for (const field of ['question', 'answer'] as const) {
        const v = r[field];
        if (typeof v !== 'string') throw new UserError(`${path}: line ${line}: field "${field}" is ${v === undefined ? 'missing' : JSON.stringify(v)}, expected a string (or a record with only a "text" string)`);
        texts.push(v);
      }
    }
  }
  return texts;
}

/** The end-of-run summary. */
export interface TrainTokenizerSummary {
  inputs: string[];
  out: string;
  /** The two files written. */
  tokenizerJson: string;
  tokenizerConfigJson: string;
  /** The vocabulary reached (as loaded back), and the --vocab-size asked for. */
  vocabSize: number;
  requestedVocabSize: number;
  specialTokens: number;
  fingerprint: string;
  seconds: number;
  stats: BpeTrainingStats;
}

export function formatTrainTokenizerSummary(r: TrainTokenizerSummary): string {
  const s = r.stats;
  return [
    `trained on ${s.texts} texts from ${r.inputs.join(', ')} (${s.distinctWords} distinct pre-tokens) in ${r.seconds.toFixed(1)} s`,
    `vocabulary ${r.vocabSize} = 256 byte symbols + ${r.vocabSize - 256 - r.specialTokens} merged tokens + ${r.specialTokens} special (${s.merges} merges)`,
    ...(s.stoppedEarly ? [`stopped before --vocab-size ${r.requestedVocabSize}: ${s.stoppedEarly}`] : []),
    `wrote ${r.tokenizerJson} and ${r.tokenizerConfigJson}`,
    `fingerprint ${r.fingerprint}`,
  ].join('\n');
}

interface TrainTokenizerFlags {
  input: string;
  vocabSize: string;
  out: string;
  minFrequency: string;
  modelMaxLength: string;
  force?: boolean;
  chat?: boolean;
  json?: boolean;
}

export function registerTrainTokenizer(program: Command): void {
  program
    .command('train-tokenizer')
    .description('Train a byte-level BPE tokenizer (Qwen2 format: digits split one by one, ChatML special tokens, Qwen2.5 chat template) on the "question" and "answer" fields of GSM8K-style JSONL, and write tokenizer.json and tokenizer_config.json.')
    .requiredOption('--input <files>', 'JSONL training data, one or more files separated by commas; every line needs "question" and "answer" strings, or (without --chat) a "text" string: a plain-text document')
    .requiredOption('--vocab-size <n>', 'vocabulary size the model will see: 256 byte symbols + learned merges + 3 special tokens (fewer when the data runs out of pairs seen --min-frequency times)')
    .requiredOption('--out <dir>', 'directory to write tokenizer.json and tokenizer_config.json to (created if missing)')
    .option('--min-frequency <n>', 'never merge a pair seen fewer times than this in the data', String(DEFAULT_BPE_TRAINING.minFrequency))
    .option('--model-max-length <n>', 'model_max_length written to tokenizer_config.json (the longest input, in tokens, the model is meant for)', String(DEFAULT_BPE_TRAINING.modelMaxLength))
    .option('--chat', 'train on the texts as the models will see them in chat form: the answer as the reply ("...The answer is \\boxed{N}."), and the system prompts of the synthetic world, so frequent scaffolding gets short encodings')
    .option('--force', 'overwrite a tokenizer.json already in --out (by default that is refused, so a model\'s tokenizer is not replaced by accident)')
    .option('--json', JSON_HELP)
    .action((flags: TrainTokenizerFlags) => {
      const vocabSize = positiveInt(flags.vocabSize, '--vocab-size');
      const minFrequency = positiveInt(flags.minFrequency, '--min-frequency');
      const modelMaxLength = positiveInt(flags.modelMaxLength, '--model-max-length');
      const inputs = nonEmptyList(flags.input, '--input');
      const tokenizerPath = join(flags.out, 'tokenizer.json');
      if (existsSync(tokenizerPath) && !flags.force) throw new UserError(`${tokenizerPath} already exists; pass --force to overwrite it`);

      // --chat pairs questions with answers; without it, plain-text documents ({"text"}) are read too.
      const raw = flags.chat ? readQuestionAnswerTexts(inputs) : readTrainingTexts(inputs);
      // Pairs (question, answer) → chat texts: the reply form of each answer, and the system prompts as often as they occur.
      const texts = flags.chat
        ? raw.flatMap((t, i) => (i % 2 === 0 ? [t, 'system user assistant'] : [solutionToAssistant(t), WORLD_SYSTEM_PROMPTS[(i >> 1) % WORLD_SYSTEM_PROMPTS.length]!]))
        : raw;
      const progress = cliProgressCallback();
      const t0 = performance.now();
      let trained;
      try {
        trained = trainByteLevelBpe(texts, { vocabSize, minFrequency, modelMaxLength, onProgress: progress });
      } finally {
        progress.stopAll();
      }
      const seconds = (performance.now() - t0) / 1000;
      writeJsonAtomic(tokenizerPath, trained.tokenizerJson);
      writeJsonAtomic(join(flags.out, 'tokenizer_config.json'), trained.tokenizerConfigJson);
      // Read back through the same loader the pipeline uses, so a file it cannot load never ships.
      const tok = loadTokenizer(flags.out);
      printSummary({
        inputs, out: flags.out, tokenizerJson: tokenizerPath, tokenizerConfigJson: join(flags.out, 'tokenizer_config.json'),
        vocabSize: tok.vocabSize, requestedVocabSize: vocabSize, specialTokens: tok.specialTokenIds.length,
        fingerprint: vocabularyFingerprint(tok), seconds, stats: trained.stats,
      }, flags.json, formatTrainTokenizerSummary);
    });
}
