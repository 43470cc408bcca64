/**
 * Next-token targets on the assistant's part of a conversation (pretraining, SFT): the prompt
 * (system and user turns, and the assistant header) is context only; every token of the
 * assistant's reply and the end-of-turn token that closes it are predicted (one-hot targets of
 * the shared soft-target objective, i.e. token-level cross-entropy).
 */
import type { ChatMessage } from '../eval/prompts.js';
import type { HfTokenizer } from '../tokenizer/index.js';
import type { TrainSequence } from './trainer.js';
import { UserError } from '../util/errors.js';

export interface CompletionExample {
  /** Prompt ids (template applied, generation prompt included). */
  prompt: number[];
  /** Reply ids up to and including the end-of-turn token. */
  completion: number[];
}

/** Split a conversation whose last message is the assistant's reply into prompt and completion ids. */
export function completionExample(tok: HfTokenizer, messages: ChatMessage[], stopIds: readonly number[]): CompletionExample {
  const last = messages.at(-1);
  if (!last || last.role !== 'assistant') throw new UserError('a training conversation must end with the assistant reply');
  const prompt = tok.encodeChat(messages.slice(0, -1), { addGenerationPrompt: true });
  const full = tok.encodeChat(messages, { addGenerationPrompt: false });
  for (let i = 0; i < prompt.length; i++) {
    if (full[i] !== prompt[i]) throw new UserError(`the chat template of ${tok.source} does not render the prompt as a prefix of the conversation; cannot tell the reply's tokens apart`);
  }
  let end = full.length;
  const stops = new Set(stopIds);
  for (let i = prompt.length; i < full.length; i++) {
    if (stops.has(full[i]!)) { end = i + 1; break; }
  }
  return { prompt, completion: full.slice(prompt.length, end) };
}

/** The training sequence: prompt + completion with a target at every completion token (the last token is only a target). */
export function completionSequence(e: CompletionExample): TrainSequence {
  const ids = Int32Array.from([...e.prompt, ...e.completion.slice(0, -1)]);
  return {
    ids,
    targets: e.completion.map((tok, k) => ({ row: e.prompt.length + k - 1, ids: [tok], weights: [1] })),
  };
}
