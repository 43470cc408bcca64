/**
 * A Hugging Face tokenizer directory (`tokenizer.json` + `tokenizer_config.json`, optionally
 * `generation_config.json` / `config.json` for EOS ids and `chat_template.jinja`), wrapped around
 * @huggingface/tokenizers with the few operations the pipeline needs.
 *
 *   const tok = loadTokenizer('models/expert');
 *   const ids = tok.encodeChat([{ role: 'user', content: q }], { addGenerationPrompt: true });
 *
 * Conventions follow transformers' fast tokenizers: `encode` adds the post-processor's special
 * tokens unless told not to (Qwen2 adds none, Llama a BOS); `encodeChat` renders the template and
 * encodes it without adding them again (as `apply_chat_template(tokenize=True)` does); `decode`
 * keeps special tokens unless asked to skip them and, like the Rust tokenizer, skips ids that have
 * no token (rows a model pads its embedding with).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, describeValue, errorMessage } from '../util/errors.js';
import { readJsonFile } from '../util/fsx.js';
import { ChatTemplate, type ChatMessage, type ChatTemplateOptions, type SpecialTokenVariables } from './chat-template.js';
import { IM_END } from './qwen2-format.js';

export interface EncodeOptions {
  /** Add the special tokens of the tokenizer's post-processor (e.g. Llama's BOS). Default true, as in transformers. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (ChatML markers, EOS, ...) from the text. Default false, as in transformers. */
  skipSpecialTokens?: boolean;
}

type Json = Record<string, unknown>;

/** The parsed files of a tokenizer directory; only `tokenizerJson` and `tokenizerConfig` are required. */
export interface TokenizerFiles {
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
  generationConfig?: unknown;
  modelConfig?: unknown;
  /** Text of chat_template.jinja, used when tokenizer_config.json has no `chat_template`. */
  chatTemplateFile?: string;
}

const TOKEN_FIELDS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A special token as tokenizer_config.json spells it: a string or an AddedToken object `{content, ...}`. */
function tokenContent(v: unknown, label: string, file: string): string {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  throw new UserError(`${file}: ${label} is ${describeValue(v)}, expected a token string or {"content": string}`);
}

/** A special-token field (`eos_token`, ...): its token, or null when absent or null. */
function tokenField(cfg: Json, key: string, file: string): string | null {
  const v = cfg[key];
  return v === undefined || v === null ? null : tokenContent(v, `field "${key}"`, file);
}

function additionalSpecialTokens(cfg: Json, file: string): string[] {
  const v = cfg.additional_special_tokens;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new UserError(`${file}: field "additional_special_tokens" must be a list of tokens`);
  return v.map((t, i) => tokenContent(t, `additional_special_tokens[${i}]`, file));
}

/** `eos_token_id` / `pad_token_id` in config.json or generation_config.json: an id, a list of ids, or null. */
function idField(cfg: Json | undefined, key: string, file: string): number[] {
  if (cfg === undefined) return [];
  const v = cfg[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (!Number.isInteger(id) || (id as number) < 0) throw new UserError(`${file}: field "${key}" is ${describeValue(v)}, expected a token id or a list of token ids`);
  }
  return list as number[];
}

/** tokenizer_config.json's `chat_template`: a string, or a list of {name, template} of which "default" is used. */
function chatTemplateField(cfg: Json, file: string): string | null {
  const v = cfg.chat_template;
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v.find((t): t is { name: string; template: string } => isObject(t) && t.name === 'default' && typeof t.template === 'string');
    if (named) return named.template;
  }
  throw new UserError(`${file}: field "chat_template" must be a Jinja string or a list of {"name", "template"} with a "default" entry`);
}

export class HfTokenizer {
  /**
   * The model-facing vocabulary size: largest id (BPE vocabulary and added tokens alike) + 1. Output
   * distributions must span all of it, special tokens included (METHOD.md, defect 3).
   */
  readonly vocabSize: number;
  /**
   * Ids that end generation, sorted: generation_config.json's `eos_token_id` (or config.json's when
   * generation_config.json has none), tokenizer_config.json's `eos_token`, and `<|im_end|>` when the
   * chat template is ChatML — a base model prompted in ChatML ends its turn with `<|im_end|>` even
   * though its configured EOS is `<|endoftext|>`.
   */
  readonly eosTokenIds: readonly number[];
  /** tokenizer_config.json's `pad_token`, else `pad_token_id` from generation_config.json / config.json, else null. */
  readonly padTokenId: number | null;
  /** Ids of the added tokens marked special, sorted. */
  readonly specialTokenIds: readonly number[];
  /** The Jinja chat template, or null when the directory has none. */
  readonly chatTemplate: string | null;

  private readonly template: ChatTemplate | null;

  private constructor(private readonly inner: Tokenizer, readonly source: string, files: TokenizerFiles) {
    const tj = files.tokenizerJson as Json;
    const cfg = files.tokenizerConfig as Json;
    const cfgFile = join(source, 'tokenizer_config.json');

    const addedTokens = Array.isArray(tj.added_tokens) ? (tj.added_tokens as Json[]) : [];
    let maxId = -1;
    for (const id of inner.get_vocab(true).values()) maxId = Math.max(maxId, id);
    for (const t of addedTokens) if (typeof t.id === 'number') maxId = Math.max(maxId, t.id);
    this.vocabSize = maxId + 1;
    this.specialTokenIds = addedTokens.filter((t) => t.special === true && typeof t.id === 'number').map((t) => t.id as number).sort((x, y) => x - y);

    const idOfField = (key: string): number | null => {
      const token = tokenField(cfg, key, cfgFile);
      if (token === null) return null;
      const id = inner.token_to_id(token);
      if (id === undefined) throw new UserError(`${cfgFile}: ${key} ${describeValue(token)} is not in the vocabulary of ${join(source, 'tokenizer.json')}`);
      return id;
    };

    this.chatTemplate = chatTemplateField(cfg, cfgFile) ?? files.chatTemplateFile ?? null;
    const genFile = join(source, 'generation_config.json');
    const modelFile = join(source, 'config.json');
    const gen = isObject(files.generationConfig) ? files.generationConfig : undefined;
    const model = isObject(files.modelConfig) ? files.modelConfig : undefined;
    const genEos = idField(gen, 'eos_token_id', genFile);
    const eos = new Set<number>(genEos.length > 0 ? genEos : idField(model, 'eos_token_id', modelFile));
    const eosToken = idOfField('eos_token');
    if (eosToken !== null) eos.add(eosToken);
    const imEnd = inner.token_to_id(IM_END);
    if (this.chatTemplate?.includes(IM_END) && imEnd !== undefined) eos.add(imEnd);
    this.eosTokenIds = [...eos].sort((x, y) => x - y);

    this.padTokenId = idOfField('pad_token') ?? idField(gen, 'pad_token_id', genFile)[0] ?? idField(model, 'pad_token_id', modelFile)[0] ?? null;

    const vars: SpecialTokenVariables = {};
    for (const key of TOKEN_FIELDS) {
      const token = tokenField(cfg, key, cfgFile);
      if (token !== null) vars[key] = token;
    }
    const extra = additionalSpecialTokens(cfg, cfgFile);
    if (extra.length > 0) vars.additional_special_tokens = extra;
    this.template = this.chatTemplate === null ? null : new ChatTemplate(this.chatTemplate, vars, source);
  }

  /**
   * Build from parsed files. `source` (the directory) names the files in error messages. Throws
   * UserError when a file is not what a Hugging Face tokenizer directory holds.
   */
  static fromFiles(files: TokenizerFiles, source: string): HfTokenizer {
    const tjFile = join(source, 'tokenizer.json');
    const cfgFile = join(source, 'tokenizer_config.json');
    if (!isObject(files.tokenizerJson)) throw new UserError(`${tjFile}: expected a JSON object`);
    if (!isObject(files.tokenizerJson.model)) throw new UserError(`${tjFile}: field "model" is missing (expected the tokenizer model object, e.g. {"type": "BPE", ...})`);
    if (files.tokenizerJson.added_tokens !== undefined && !Array.isArray(files.tokenizerJson.added_tokens)) throw new UserError(`${tjFile}: field "added_tokens" must be a list`);
    checkVocabulary(files.tokenizerJson, tjFile);
    if (!isObject(files.tokenizerConfig)) throw new UserError(`${cfgFile}: expected a JSON object`);
    for (const [v, f] of [[files.generationConfig, 'generation_config.json'], [files.modelConfig, 'config.json']] as const) {
      if (v !== undefined && !isObject(v)) throw new UserError(`${join(source, f)}: expected a JSON object`);
    }
    const cfg = files.tokenizerConfig;
    // Missing pipeline stages mean "none" in tokenizer.json; the library wants them spelled out.
    const tokenizerJson = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...files.tokenizerJson };
    const libConfig = {
      ...cfg,
      additional_special_tokens: additionalSpecialTokens(cfg, cfgFile),
      // Off unless the config asks: Qwen2.5 and Llama 3 set false, and cleaning would alter decoded math ("3 ." → "3.").
      clean_up_tokenization_spaces: cfg.clean_up_tokenization_spaces === true,
    };
    let inner: Tokenizer;
    try {
      inner = new Tokenizer(tokenizerJson, libConfig);
    } catch (e) {
      throw new UserError(`${tjFile}: could not build the tokenizer: ${errorMessage(e)}`, { cause: e });
    }
    return new HfTokenizer(inner, source, files);
  }

  private maxBytes: number | undefined;

  /**
   * UTF-8 length of the longest token string in the vocabulary (added tokens included): no token
   * covers more text than this, so a text of n bytes needs at least about n / maxTokenBytes tokens
   * — enough to refuse a huge input without tokenizing it (see data/questions.ts promptTooLong).
   */
  get maxTokenBytes(): number {
    if (this.maxBytes === undefined) {
      let m = 1;
      for (const token of this.inner.get_vocab(true).keys()) m = Math.max(m, Buffer.byteLength(token, 'utf8'));
      this.maxBytes = m;
    }
    return this.maxBytes;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.inner.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    for (const id of ids) if (!Number.isInteger(id) || id < 0) throw new RangeError(`decode: ${id} is not a token id`);
    const known = ids.filter((id) => this.inner.id_to_token(id) !== undefined);
    if (known.length === 0) return '';
    return this.inner.decode(known, { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /** The prompt text for `messages`, as transformers' `apply_chat_template(tokenize=False)` renders it. */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions): string {
    if (this.template === null) {
      throw new UserError(`${this.source} has no chat template (neither "chat_template" in tokenizer_config.json nor chat_template.jinja)`);
    }
    return this.template.render(messages, options);
  }

  /** Token ids of the rendered chat; the template already holds every special token it needs. */
  encodeChat(messages: readonly ChatMessage[], options: ChatTemplateOptions): number[] {
    return this.encode(this.applyChatTemplate(messages, options), { addSpecialTokens: false });
  }
}

/** Largest token id accepted: far above any real vocabulary (~256k), far below what would exhaust memory. */
const MAX_TOKEN_ID = (1 << 24) - 1;

/**
 * The vocabulary as tokenizer.json must spell it, checked before the tokenizer library sees it:
 * the library accepts a list or string ids without complaint and then returns tokens as "ids",
 * which surfaced much later as "token id 1 is outside the vocabulary". BPE, WordPiece and
 * WordLevel models map token → integer id; Unigram models list [token, score] pairs.
 */
function checkVocabulary(tj: Json, file: string): void {
  const model = tj.model as Json;
  const type = model.type ?? 'BPE';
  const vocab = model.vocab;
  const added = Array.isArray(tj.added_tokens) ? (tj.added_tokens as unknown[]) : [];
  added.forEach((t, i) => {
    if (!isObject(t) || typeof t.content !== 'string' || !Number.isInteger(t.id) || (t.id as number) < 0 || (t.id as number) > MAX_TOKEN_ID) {
      throw new UserError(`${file}: added_tokens[${i}] is ${describeValue(t)}, expected {"id": integer 0..${MAX_TOKEN_ID}, "content": string, ...}`);
    }
  });
  if (type === 'Unigram') {
    if (!Array.isArray(vocab)) throw new UserError(`${file}: model.vocab of a Unigram tokenizer is ${describeValue(vocab)}, expected a list of [token, score] pairs`);
    if (vocab.length + added.length === 0) throw new UserError(`${file}: the vocabulary is empty (model.vocab has no tokens and there are no added_tokens)`);
    vocab.forEach((e, i) => {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'number') throw new UserError(`${file}: model.vocab[${i}] is ${describeValue(e)}, expected a [token, score] pair`);
    });
    return;
  }
  if (type !== 'BPE' && type !== 'WordPiece' && type !== 'WordLevel') return; // the library names an unknown model type
  if (Array.isArray(vocab)) {
    throw new UserError(`${file}: model.vocab is a list (${describeValue(vocab, 80)}), but a ${describeValue(type)} tokenizer needs an object mapping each token to its integer id, e.g. {"hello": 0, "world": 1}`);
  }
  if (!isObject(vocab)) throw new UserError(`${file}: model.vocab is ${describeValue(vocab)}, expected an object mapping each token to its integer id`);
  const owner = new Map<number, string>();
  let count = 0;
  for (const token in vocab) {
    const id = vocab[token];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_TOKEN_ID) {
      const hint = typeof id === 'string' && /^\d+$/.test(id) ? ' (a string; ids must be JSON numbers, without quotes)' : '';
      throw new UserError(`${file}: model.vocab gives token ${describeValue(token)} the id ${describeValue(id)}${hint}; expected an integer id from 0 to ${MAX_TOKEN_ID}`);
    }
    const other = owner.get(id);
    if (other !== undefined) throw new UserError(`${file}: model.vocab gives id ${id} to both ${describeValue(other)} and ${describeValue(token)}; each id must name one token`);
    owner.set(id, token);
    count++;
  }
  if (count + added.length === 0) throw new UserError(`${file}: the vocabulary is empty (model.vocab has no tokens and there are no added_tokens)`);
}

function readOptionalJson(path: string): unknown {
  return existsSync(path) ? readJsonFile(path) : undefined;
}

/** Load the tokenizer of a Hugging Face model directory. */
export function loadTokenizer(dir: string): HfTokenizer {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`tokenizer directory not found: ${dir}`);
  const jinjaPath = join(dir, 'chat_template.jinja');
  let chatTemplateFile: string | undefined;
  if (existsSync(jinjaPath)) {
    if (!statSync(jinjaPath).isFile()) throw new UserError(`${jinjaPath} is not a regular file`);
    try {
      chatTemplateFile = readFileSync(jinjaPath, 'utf8');
    } catch (e) {
      throw new UserError(`could not read ${jinjaPath}: ${errorMessage(e)}`);
    }
  }
  return HfTokenizer.fromFiles({
    tokenizerJson: readJsonFile(join(dir, 'tokenizer.json'), 'tokenizer file'),
    tokenizerConfig: readJsonFile(join(dir, 'tokenizer_config.json'), 'tokenizer config'),
    generationConfig: readOptionalJson(join(dir, 'generation_config.json')),
    modelConfig: readOptionalJson(join(dir, 'config.json')),
    chatTemplateFile,
  }, dir);
}
