/**
 * The Hugging Face file format of Qwen2 / Qwen2.5 tokenizers, written out for tokenizers we train
 * ourselves so that every tool that reads a Qwen2.5 directory (transformers, tokenizers,
 * transformers.js, llama.cpp's converter) reads ours the same way:
 *   normalizer NFC → Split(QWEN2_PRETOKENIZER_REGEX, Isolated) → ByteLevel(no regex) → BPE, decoder
 *   ByteLevel; ChatML special tokens appended after the BPE vocabulary; tokenizer_config.json with
 *   Qwen2.5's chat template.
 */

/**
 * Qwen2's pre-tokenizer split (GPT-4's cl100k pattern with `\p{N}` instead of `\p{N}{1,3}`): every
 * digit is its own pre-token, so numbers are always spelled digit by digit.
 */
export const QWEN2_PRETOKENIZER_REGEX = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

export const ENDOFTEXT = '<|endoftext|>';
export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';
/** ChatML's special tokens in Qwen2's id order (151643, 151644, 151645 in Qwen2.5). */
export const CHATML_SPECIAL_TOKENS: readonly string[] = [ENDOFTEXT, IM_START, IM_END];

/** Qwen2.5's default system prompt, injected by its chat template when the messages have none. */
export const QWEN2_5_DEFAULT_SYSTEM_PROMPT = 'You are a helpful assistant.';

/**
 * Qwen2.5's chat template (the base models' and Qwen2.5-Math's: ChatML, a default system prompt
 * when none is given, tool calls in <tool_call> tags). It must stay byte-identical to Qwen's so that
 * prompts for our models and for Qwen2.5 checkpoints are built the same way.
 */
export const QWEN2_5_CHAT_TEMPLATE = String.raw`{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
`;

/** One entry of tokenizer.json's `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

const BYTE_LEVEL_OPTIONS = { add_prefix_space: false, trim_offsets: false, use_regex: false } as const;

/** tokenizer.json as Qwen2 writes it (fields in Qwen's order). */
export interface Qwen2TokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: { type: 'NFC' };
  pre_tokenizer: {
    type: 'Sequence';
    pretokenizers: [
      { type: 'Split'; pattern: { Regex: string }; behavior: 'Isolated'; invert: false },
      { type: 'ByteLevel' } & typeof BYTE_LEVEL_OPTIONS,
    ];
  };
  post_processor: { type: 'ByteLevel' } & typeof BYTE_LEVEL_OPTIONS;
  decoder: { type: 'ByteLevel' } & typeof BYTE_LEVEL_OPTIONS;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: null;
    continuing_subword_prefix: '';
    end_of_word_suffix: '';
    fuse_unk: false;
    byte_fallback: false;
    /** token → id; ids 0..vocab.length-1, the 256 byte symbols first. */
    vocab: Record<string, number>;
    /** "left right" pairs (both halves are byte-level strings, which never contain a space), by rank. */
    merges: string[];
  };
}

/**
 * The tokenizer.json for a byte-level BPE with the given vocabulary (index = id) and merges (by
 * rank); `specialTokens` get the ids right after the vocabulary.
 */
export function qwen2TokenizerJson(vocab: readonly string[], merges: readonly (readonly [string, string])[], specialTokens: readonly string[]): Qwen2TokenizerJson {
  const vocabObj: Record<string, number> = {};
  vocab.forEach((token, id) => { vocabObj[token] = id; });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialTokens.map((content, i) => ({
      id: vocab.length + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_PRETOKENIZER_REGEX }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', ...BYTE_LEVEL_OPTIONS },
      ],
    },
    post_processor: { type: 'ByteLevel', ...BYTE_LEVEL_OPTIONS },
    decoder: { type: 'ByteLevel', ...BYTE_LEVEL_OPTIONS },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab: vocabObj,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** tokenizer_config.json as Qwen2.5-Instruct writes it (eos `<|im_end|>`, pad `<|endoftext|>`). */
export interface Qwen2TokenizerConfigJson {
  add_bos_token: false;
  add_prefix_space: false;
  added_tokens_decoder: Record<string, Omit<AddedTokenJson, 'id'>>;
  additional_special_tokens: string[];
  bos_token: null;
  chat_template: string;
  clean_up_tokenization_spaces: false;
  eos_token: string;
  errors: 'replace';
  model_max_length: number;
  pad_token: string;
  split_special_tokens: false;
  tokenizer_class: 'Qwen2Tokenizer';
  unk_token: null;
}

export function qwen2TokenizerConfigJson(tokenizerJson: Qwen2TokenizerJson, modelMaxLength: number): Qwen2TokenizerConfigJson {
  const decoder: Record<string, Omit<AddedTokenJson, 'id'>> = {};
  for (const { id, ...rest } of tokenizerJson.added_tokens) decoder[String(id)] = rest;
  const contents = tokenizerJson.added_tokens.map((t) => t.content);
  return {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: decoder,
    additional_special_tokens: contents.filter((c) => c !== ENDOFTEXT),
    bos_token: null,
    chat_template: QWEN2_5_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: IM_END,
    errors: 'replace',
    model_max_length: modelMaxLength,
    pad_token: ENDOFTEXT,
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
}
