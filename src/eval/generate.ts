/**
 * Completions from our engine for `eval --model`: each question is chat-formatted with the prompt
 * preset (raw `prompt` records are used as they are), the model decodes greedily until a stop id
 * or the token budget, and the completion is the decoded text without special tokens.
 *
 * Questions are generated in fixed chunks of `batchSize` aligned to their index, and a chunk is
 * always decoded whole (even when some of its questions were graded by an earlier, interrupted
 * run): the packed batch — and so every floating-point sum — is the same whether or not the run
 * was interrupted, so a resumed run writes exactly the completions an uninterrupted one would.
 */
import type { HfTokenizer } from '../tokenizer/index.js';
import type { LanguageModelBackend } from '../backends/backend.js';

/** What evaluation needs of a model: its tokenizer and a back end (engine or llama.cpp; src/backends/open.ts). */
export interface EvalModel {
  dir: string;
  tokenizer: HfTokenizer;
  backend: LanguageModelBackend;
}
import { generate, type TokenChooser } from '../model/generate.js';
import type { Transformer } from '../model/transformer.js';
import { formatProblems, promptTooLong, type QuestionProblem, type QuestionRecord } from '../data/questions.js';
import { UserError } from '../util/errors.js';
import type { Prediction } from './grade.js';
import { buildMessages, type PromptPreset } from '../data/prompts.js';

/**
 * Ids that end a completion: the model's own (its EOS ids, `<|im_end|>` for ChatML templates) and
 * also `<|im_end|>` and `<|endoftext|>` whenever the vocabulary has them — past either, a model
 * only writes a new turn or a new document, never more of its answer.
 */

/** The prompt ids of one question: the preset's chat messages with the generation prompt, or a raw prompt as is. */
export function evalPromptIds(lm: EvalModel, q: QuestionRecord, preset: PromptPreset): number[] {
  if (q.prompt !== undefined) return lm.tokenizer.encode(q.prompt, { addSpecialTokens: true });
  return lm.tokenizer.encodeChat(buildMessages(preset, q.question!), { addGenerationPrompt: true });
}

/**
 * Prompt ids of every question, or a UserError listing the questions whose prompt leaves no room to
 * generate in the context window (grading them as wrong, or dropping them, would change the
 * accuracy without saying so).
 */
export function evalPrompts(lm: EvalModel, questions: readonly QuestionRecord[], preset: PromptPreset, file: string): number[][] {
  const window = lm.backend.contextSize;
  const tooLong: QuestionProblem[] = [];
  // A problem far beyond the window is reported without tokenizing it (promptTooLong).
  const prompts = questions.map((q) => {
    const why = promptTooLong(q.prompt ?? q.question!, lm.tokenizer, window);
    if (why !== null) tooLong.push({ file, line: q.line, message: `problem "${q.id}": ${why}` });
    return why !== null ? null : evalPromptIds(lm, q, preset);
  });
  prompts.forEach((p, i) => {
    if (p !== null && p.length >= window) tooLong.push({ file, line: questions[i]!.line, message: `problem "${questions[i]!.id}": its prompt has ${p.length} tokens; the context window of ${lm.dir} is ${window}` });
  });
  if (tooLong.length > 0) {
    tooLong.sort((a, b) => a.line - b.line);
    throw new UserError(`${tooLong.length} problem(s) do not fit the model's context window:\n${formatProblems(tooLong)}\nleave them out of --input (or use a shorter --prompt)`);
  }
  return prompts as number[][];
}

export interface CompletionOptions {
  maxNewTokens: number;
  batchSize: number;
  stopIds: readonly number[];
  /** Ids already graded: not yielded (their chunk is still decoded whole when it has others). */
  done: ReadonlySet<string>;
  /** Contrastive decoding (engine only): Expert and Amateur decode in lock step and `choose` picks each token from both (src/baselines). */
  contrast?: { expert: Transformer; amateur: Transformer; choose: TokenChooser };
}

/**
 * Greedy completions for the questions not in `done`, in input order, one chunk at a time: a
 * consumer that writes each as it arrives loses at most one chunk when killed.
 */
export async function* generateCompletions(lm: EvalModel, questions: readonly QuestionRecord[], prompts: readonly number[][], o: CompletionOptions): AsyncGenerator<Prediction> {
  for (let c0 = 0; c0 < questions.length; c0 += o.batchSize) {
    const chunk = questions.slice(c0, c0 + o.batchSize);
    if (chunk.every((q) => o.done.has(q.id))) continue;
    const gopts = { maxNewTokens: o.maxNewTokens, stopIds: o.stopIds, batchSize: o.batchSize };
    const chunkPrompts = prompts.slice(c0, c0 + o.batchSize);
    const gens = o.contrast
      ? generate([o.contrast.expert, o.contrast.amateur], chunkPrompts, { ...gopts, choose: o.contrast.choose })
      : await lm.backend.generateGreedy(chunkPrompts, gopts);
    for (let k = 0; k < chunk.length; k++) {
      const q = chunk[k]!;
      if (o.done.has(q.id)) continue;
      const { tokens, finish } = gens[k]!;
      // completionTokens counts every generated token, the stop id included: what decoding cost.
      const stop = finish === 'stop' && tokens.length > 0 ? lm.tokenizer.idToToken(tokens[tokens.length - 1]!) : undefined;
      yield { id: q.id, completion: lm.tokenizer.decode(tokens, { skipSpecialTokens: true }), completionTokens: tokens.length, finish, ...(stop !== undefined ? { stop } : {}) };
    }
  }
}
