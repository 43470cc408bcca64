/** Tokenizers: Hugging Face directories in, our own byte-level BPE (Qwen2 format) out. */
export { HfTokenizer, loadTokenizer, type EncodeOptions, type DecodeOptions, type TokenizerFiles } from './hf-tokenizer.js';
export type { ChatMessage, ChatTemplateOptions } from './chat-template.js';
export { assertSameVocabulary, vocabularyFingerprint, type Vocabulary } from './vocabulary.js';
export { trainByteLevelBpe, type BpeTrainingOptions, type BpeTrainingStats, type TrainedTokenizer } from './bpe-trainer.js';
export { QWEN2_5_CHAT_TEMPLATE, QWEN2_5_DEFAULT_SYSTEM_PROMPT, QWEN2_PRETOKENIZER_REGEX, CHATML_SPECIAL_TOKENS, ENDOFTEXT, IM_START, IM_END } from './qwen2-format.js';
