/**
 * Chat templates rendered as transformers' `apply_chat_template` renders them: Jinja with
 * trim_blocks and lstrip_blocks (which @huggingface/jinja's Template always applies), given
 * `messages`, `add_generation_prompt`, `tools` and `documents` (None here), and the tokenizer's
 * special tokens by name (`bos_token`, `eos_token`, ... — only those that are set, as transformers'
 * special_tokens_map omits unset ones).
 */
import { Template } from '@huggingface/jinja';
import { UserError, errorMessage } from '../util/errors.js';

export interface ChatMessage {
  /** 'system' | 'user' | 'assistant' for the templates this project uses; passed through as is. */
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** Append the header that opens the assistant's turn (`<|im_start|>assistant\n` in ChatML). */
  addGenerationPrompt: boolean;
}

/** Special-token variables a template sees, e.g. { eos_token: '<|im_end|>', additional_special_tokens: [...] }. */
export type SpecialTokenVariables = Record<string, string | string[]>;

export class ChatTemplate {
  private compiled: Template | null = null;

  /** `where` names the template's origin (a model directory) in error messages. */
  constructor(readonly source: string, private readonly specialTokens: SpecialTokenVariables, private readonly where: string) {}

  render(messages: readonly ChatMessage[], options: ChatTemplateOptions): string {
    if (this.compiled === null) {
      try {
        this.compiled = new Template(this.source);
      } catch (e) {
        throw new UserError(`the chat template of ${this.where} does not parse as Jinja: ${errorMessage(e)}`, { cause: e });
      }
    }
    let out: unknown;
    try {
      out = this.compiled.render({
        ...this.specialTokens,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: options.addGenerationPrompt,
        tools: null,
        documents: null,
      });
    } catch (e) {
      throw new UserError(`the chat template of ${this.where} failed to render ${messages.length} message(s) (roles: ${messages.map((m) => m.role).join(', ') || 'none'}): ${errorMessage(e)}`, { cause: e });
    }
    if (typeof out !== 'string') throw new UserError(`the chat template of ${this.where} rendered ${typeof out}, expected a string`);
    return out;
  }
}
