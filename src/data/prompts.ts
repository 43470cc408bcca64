/**
 * Prompt presets for evaluation and the paper's system prompt, which the chat formats of training
 * data share (so they live here, below both). They return chat messages; the tokenizer layer applies
 * the model's chat template (ChatML for Qwen) and the generation prompt.
 *   qwen25-math-cot  the Qwen2.5-Math toolkit's zero-shot CoT prompt, as the paper evaluates with
 *   plain            the question alone, as the user message
 *   FILE             a text file whose `{question}` placeholders are replaced by the question (one
 *                    final newline, as editors add, is dropped)
 *
 * Example: buildMessages(resolvePrompt('plain'), 'What is 2+2?') → [{ role: 'user', content: 'What is 2+2?' }].
 */
import { existsSync } from 'node:fs';
import { UserError } from '../util/errors.js';
import { readTextFile } from '../util/fsx.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export const QWEN25_MATH_COT_SYSTEM = 'Please reason step by step, and put your final answer within \\boxed{}.';

export const PROMPT_PRESETS = ['qwen25-math-cot', 'plain'] as const;
export type PromptPresetName = (typeof PROMPT_PRESETS)[number];

export type PromptPreset =
  | { kind: 'preset'; name: PromptPresetName }
  | { kind: 'file'; path: string; template: string };

const PLACEHOLDER = '{question}';

/** A preset name, or else a path to a template file (which must contain `{question}`). */
export function resolvePrompt(spec: string): PromptPreset {
  if ((PROMPT_PRESETS as readonly string[]).includes(spec)) return { kind: 'preset', name: spec as PromptPresetName };
  if (!existsSync(spec)) {
    throw new UserError(`--prompt ${spec}: not a preset (${PROMPT_PRESETS.join(', ')}) and no such template file`);
  }
  // The newline an editor puts at the end of a file is not part of the prompt.
  const template = readTextFile(spec, 'prompt template').replace(/\r?\n$/, '');
  if (!template.includes(PLACEHOLDER)) {
    throw new UserError(`prompt template ${spec} has no ${PLACEHOLDER} placeholder; put it where the question goes`);
  }
  return { kind: 'file', path: spec, template };
}

/** The chat messages for one question under a preset. */
export function buildMessages(preset: PromptPreset, question: string): ChatMessage[] {
  if (preset.kind === 'file') {
    // split/join rather than replace(): a question containing `$&` must not be read as a pattern.
    return [{ role: 'user', content: preset.template.split(PLACEHOLDER).join(question) }];
  }
  switch (preset.name) {
    case 'qwen25-math-cot':
      return [{ role: 'system', content: QWEN25_MATH_COT_SYSTEM }, { role: 'user', content: question }];
    case 'plain':
      return [{ role: 'user', content: question }];
  }
}
