/**
 * The tokenizer of a Hugging Face directory as GGUF metadata, the way llama.cpp's
 * convert_hf_to_gguf.py writes a byte-level BPE vocabulary (`_set_vocab_gpt2` + gguf-py's SpecialVocab):
 *   tokenizer.ggml.model "gpt2", tokenizer.ggml.pre (the pre-tokenizer's name in llama.cpp),
 *   tokenizer.ggml.tokens / token_type for every id below config.json's vocab_size (ids without a
 *   token become "[PAD<id>]", type UNUSED), tokenizer.ggml.merges, the bos/eos/unk/sep/pad/cls/mask
 *   ids, add_bos/add_eos, and tokenizer.chat_template.
 * Only byte-level BPE tokenizers (Qwen2, Llama 3) have this form; others are refused by name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QWEN2_PRETOKENIZER_REGEX } from '../tokenizer/qwen2-format.js';
import { UserError } from '../util/errors.js';
import { readJsonFile } from '../util/fsx.js';
import type { GgufKv } from './gguf-writer.js';

/** gguf-py's TokenType. */
export const GGUF_TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** Llama 3's pre-tokenizer split (cl100k's pattern: numbers in groups of up to three digits). */
export const LLAMA3_PRETOKENIZER_REGEX = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

/**
 * llama.cpp names pre-tokenizers, not regexes (convert_hf_to_gguf.py recognises them by hashing a
 * test string's tokens). We recognise the split regex itself, which is what those names stand for.
 */
const PRE_TOKENIZERS: ReadonlyArray<{ regex: string; name: string; who: string }> = [
  { regex: QWEN2_PRETOKENIZER_REGEX, name: 'qwen2', who: 'Qwen2' },
  { regex: LLAMA3_PRETOKENIZER_REGEX, name: 'llama-bpe', who: 'Llama 3' },
];

const SPECIAL_TYPES = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask'] as const;
type SpecialType = (typeof SPECIAL_TYPES)[number];
/** gguf-py's key for each special token id (sic: "seperator"). */
const SPECIAL_KEYS: Record<SpecialType, string> = {
  bos: 'tokenizer.ggml.bos_token_id', eos: 'tokenizer.ggml.eos_token_id', unk: 'tokenizer.ggml.unknown_token_id',
  sep: 'tokenizer.ggml.seperator_token_id', pad: 'tokenizer.ggml.padding_token_id', cls: 'tokenizer.ggml.cls_token_id',
  mask: 'tokenizer.ggml.mask_token_id',
};

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

/** The Split regex of a byte-level pre-tokenizer (Sequence[Split, ByteLevel(use_regex=false)]), or null. */
function splitRegex(pre: unknown): string | null {
  if (!isObject(pre)) return null;
  const steps = pre.type === 'Sequence' && Array.isArray(pre.pretokenizers) ? pre.pretokenizers : [pre];
  for (const s of steps) {
    if (isObject(s) && s.type === 'Split' && isObject(s.pattern) && typeof s.pattern.Regex === 'string') return s.pattern.Regex;
  }
  return null;
}

function hasByteLevel(pre: unknown): boolean {
  if (!isObject(pre)) return false;
  const steps = pre.type === 'Sequence' && Array.isArray(pre.pretokenizers) ? pre.pretokenizers : [pre];
  return steps.some((s) => isObject(s) && s.type === 'ByteLevel');
}

/** tokenizer.json merges ("a b" strings, or [a, b] pairs since transformers 4.45) as gguf-py writes them. */
function mergeStrings(merges: unknown, file: string): string[] {
  if (!Array.isArray(merges)) throw new UserError(`${file}: field "model.merges" is missing (expected the BPE merge list)`);
  return merges.map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      // A space inside a pair half would split wrongly; gguf-py encodes it as U+0120, as byte-level BPE does.
      const enc = (s: string): string => s.replace(/ /g, '\u0120');
      return `${enc(m[0])} ${enc(m[1])}`;
    }
    throw new UserError(`${file}: model.merges[${i}] is ${JSON.stringify(m)}, expected "left right" or ["left", "right"]`);
  });
}

/** gguf-py's does_token_look_special: added tokens some models forget to mark special. */
function looksSpecial(token: string): boolean {
  return ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(token)
    || (token.startsWith('<|') && token.endsWith('|>'))
    || (token.startsWith('<\uff5c') && token.endsWith('\uff5c>'))
    || (token.startsWith('<unused') && token.endsWith('>'));
}

function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return null;
}

/** The chat template: tokenizer_config.json's field, else chat_template.jinja. Named templates (a list) keep their names. */
function chatTemplateKvs(dir: string, cfg: Json, cfgFile: string): GgufKv[] {
  let tpl: unknown = cfg.chat_template;
  const jinja = join(dir, 'chat_template.jinja');
  if ((tpl === undefined || tpl === null) && existsSync(jinja)) tpl = readFileSync(jinja, 'utf8');
  if (tpl === undefined || tpl === null) return [];
  if (typeof tpl === 'string') return [{ key: 'tokenizer.chat_template', value: { type: 'string', value: tpl } }];
  if (!Array.isArray(tpl)) throw new UserError(`${cfgFile}: field "chat_template" must be a string or a list of {"name", "template"}`);
  const out: GgufKv[] = [];
  const names: string[] = [];
  let fallback: string | null = null;
  for (const t of tpl) {
    if (!isObject(t) || typeof t.name !== 'string' || typeof t.template !== 'string') continue;
    const name = t.name.replace(/[^A-Za-z0-9]/g, '_');
    if (name === 'default') fallback = t.template;
    else if (name) {
      names.push(name);
      out.push({ key: `tokenizer.chat_template.${name}`, value: { type: 'string', value: t.template } });
    }
  }
  if (names.length > 0) out.push({ key: 'tokenizer.chat_templates', value: { type: 'array', itemType: 'string', value: names } });
  if (fallback !== null) out.push({ key: 'tokenizer.chat_template', value: { type: 'string', value: fallback } });
  return out;
}

/** Whether the post-processor adds a BOS token (Llama 3's TemplateProcessing), as gguf-py's SpecialVocab reads it. */
function postProcessorAddsBos(post: unknown, bos: string | null): boolean | null {
  if (!isObject(post)) return null;
  const processors = Array.isArray(post.processors) ? post.processors : [post];
  for (const p of processors) {
    if (!isObject(p) || p.type !== 'TemplateProcessing' || !Array.isArray(p.single) || p.single.length < 2) continue;
    const first = p.single[0];
    const id = isObject(first) && isObject(first.SpecialToken) ? first.SpecialToken.id : undefined;
    if (typeof id === 'string') return bos === null || id === bos;
  }
  return null;
}

export interface GgufVocabulary {
  kvs: GgufKv[];
  /** Token strings by id, as written to tokenizer.ggml.tokens. */
  tokens: string[];
  pre: string;
}

/**
 * GGUF tokenizer metadata for the tokenizer in `dir`, padded to `vocabSize` ids (config.json's
 * vocab_size: the rows of the embedding, which llama.cpp requires to equal the token count).
 */
export function ggufVocabulary(dir: string, vocabSize: number): GgufVocabulary {
  const tjFile = join(dir, 'tokenizer.json');
  const cfgFile = join(dir, 'tokenizer_config.json');
  const tj = readJsonFile<unknown>(tjFile, 'tokenizer file');
  if (!isObject(tj) || !isObject(tj.model)) throw new UserError(`${tjFile}: field "model" is missing (expected the tokenizer model object)`);
  const cfgRaw = existsSync(cfgFile) ? readJsonFile<unknown>(cfgFile, 'tokenizer config') : {};
  if (!isObject(cfgRaw)) throw new UserError(`${cfgFile}: expected a JSON object`);
  const cfg: Json = cfgRaw;
  const model = tj.model;
  if (model.type !== 'BPE' || !hasByteLevel(tj.pre_tokenizer) || model.byte_fallback === true) {
    throw new UserError(`${tjFile}: only byte-level BPE tokenizers (Qwen2, Llama 3) can be exported to GGUF (tokenizer.ggml.model "gpt2"); this one is ${JSON.stringify(model.type)}${model.byte_fallback === true ? ' with byte_fallback (SentencePiece-style)' : ''}${hasByteLevel(tj.pre_tokenizer) ? '' : ' without a ByteLevel pre-tokenizer'}`);
  }
  const regex = splitRegex(tj.pre_tokenizer);
  const pre = PRE_TOKENIZERS.find((p) => p.regex === regex);
  if (!pre) {
    throw new UserError(`${tjFile}: the pre-tokenizer split ${regex === null ? '(none)' : JSON.stringify(regex)} is not one llama.cpp knows by name; supported: ${PRE_TOKENIZERS.map((p) => `${p.who}'s ("${p.name}")`).join(', ')}`);
  }

  if (!isObject(model.vocab)) throw new UserError(`${tjFile}: field "model.vocab" is missing (expected token → id)`);
  const tokens: Array<string | undefined> = new Array(vocabSize);
  const types = new Int32Array(vocabSize);
  const place = (token: string, id: unknown, type: number, where: string): void => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new UserError(`${tjFile}: ${where} has id ${JSON.stringify(id)}, expected a non-negative integer`);
    if (id >= vocabSize) throw new UserError(`${tjFile}: ${where} has id ${id}, but config.json's vocab_size is ${vocabSize}; the tokenizer does not belong to this model`);
    tokens[id] = token;
    types[id] = type;
  };
  for (const [token, id] of Object.entries(model.vocab)) place(token, id, GGUF_TOKEN_TYPE.NORMAL, `token ${JSON.stringify(token)}`);
  const added: AddedToken[] = [];
  if (tj.added_tokens !== undefined && !Array.isArray(tj.added_tokens)) throw new UserError(`${tjFile}: field "added_tokens" must be a list`);
  for (const t of (tj.added_tokens ?? []) as unknown[]) {
    if (!isObject(t) || typeof t.content !== 'string') throw new UserError(`${tjFile}: an entry of "added_tokens" has no "content" string`);
    const special = t.special === true || looksSpecial(t.content);
    place(t.content, t.id, special ? GGUF_TOKEN_TYPE.CONTROL : GGUF_TOKEN_TYPE.USER_DEFINED, `added token ${JSON.stringify(t.content)}`);
    added.push({ id: t.id as number, content: t.content, special });
  }
  const list: string[] = [];
  for (let id = 0; id < vocabSize; id++) {
    if (tokens[id] === undefined) {
      list.push(`[PAD${id}]`);
      types[id] = GGUF_TOKEN_TYPE.UNUSED;
    } else list.push(tokens[id]!);
  }

  const kvs: GgufKv[] = [
    { key: 'tokenizer.ggml.model', value: { type: 'string', value: 'gpt2' } },
    { key: 'tokenizer.ggml.pre', value: { type: 'string', value: pre.name } },
    { key: 'tokenizer.ggml.tokens', value: { type: 'array', itemType: 'string', value: list } },
    { key: 'tokenizer.ggml.token_type', value: { type: 'array', itemType: 'int32', value: types } },
    { key: 'tokenizer.ggml.merges', value: { type: 'array', itemType: 'string', value: mergeStrings(model.merges, tjFile) } },
  ];

  // Special ids as SpecialVocab finds them: tokenizer_config.json's "<type>_token" matched against
  // the added tokens, then config.json's "<type>_token_id" for the types still unset.
  const ids = new Map<SpecialType, number>();
  const addFlags = new Map<'bos' | 'eos', boolean>();
  const bosContent = tokenContent(cfg.bos_token);
  const postBos = postProcessorAddsBos(tj.post_processor, bosContent);
  if (postBos !== null) addFlags.set('bos', postBos);
  for (const typ of SPECIAL_TYPES) {
    const flag = cfg[`add_${typ}_token`];
    if ((typ === 'bos' || typ === 'eos') && typeof flag === 'boolean') addFlags.set(typ, flag);
    const content = tokenContent(cfg[`${typ}_token`]);
    const id = content === null ? undefined : added.find((t) => t.content === content)?.id;
    if (id !== undefined && id < vocabSize) ids.set(typ, id);
  }
  const configFile = join(dir, 'config.json');
  const modelCfg = existsSync(configFile) ? readJsonFile<unknown>(configFile, 'model config') : {};
  if (isObject(modelCfg)) {
    for (const typ of SPECIAL_TYPES) {
      const id = modelCfg[`${typ}_token_id`];
      if (!ids.has(typ) && typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < vocabSize) ids.set(typ, id);
    }
  }
  for (const typ of SPECIAL_TYPES) {
    const id = ids.get(typ);
    if (id !== undefined) kvs.push({ key: SPECIAL_KEYS[typ], value: { type: 'uint32', value: id } });
  }
  for (const [typ, v] of addFlags) kvs.push({ key: `tokenizer.ggml.add_${typ}_token`, value: { type: 'bool', value: v } });
  kvs.push(...chatTemplateKvs(dir, cfg, cfgFile));
  return { kvs, tokens: list, pre: pre.name };
}
