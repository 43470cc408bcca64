/**
 * How worked solutions become chat conversations a model is trained on (pretraining the bundled
 * models, SFT). A GSM8K answer "step lines\n#### 18" becomes the assistant message
 * "step lines\nThe answer is \boxed{18}.", the form the evaluation prompt asks for (Qwen2.5-Math's
 * "put your final answer within \boxed{}") and the first thing answer extraction looks for.
 *
 *   solutionToAssistant("He has 3 + 4 = 7 pens.\n#### 7") === "He has 3 + 4 = 7 pens.\nThe answer is \\boxed{7}."
 */
import { QWEN25_MATH_COT_SYSTEM, type ChatMessage } from './prompts.js';
import { stripCalculatorAnnotations } from './extract.js';
import { UserError } from '../util/errors.js';

export const SAMPLING_SYSTEM_PROMPT = 'Please reason step by step.';

/** The system prompts the bundled models see in training: the evaluation prompt and the paper's sampling prompt. */
export const WORLD_SYSTEM_PROMPTS = [QWEN25_MATH_COT_SYSTEM, SAMPLING_SYSTEM_PROMPT] as const;

export function solutionToAssistant(answer: string): string {
  const at = answer.lastIndexOf('####');
  if (at < 0) throw new UserError(`answer has no "#### <final answer>" line: ${JSON.stringify(answer.slice(0, 80))}`);
  const steps = stripCalculatorAnnotations(answer.slice(0, at)).trim();
  const final = answer.slice(at + 4).trim().replace(/,/g, '');
  return `${steps}${steps ? '\n' : ''}The answer is \\boxed{${final}}.`;
}

export function trainingConversation(question: string, answer: string, systemPrompt: string | null): ChatMessage[] {
  return [
    ...(systemPrompt ? [{ role: 'system' as const, content: systemPrompt }] : []),
    { role: 'user', content: question },
    { role: 'assistant', content: solutionToAssistant(answer) },
  ];
}
