/**
 * Generators for config.json objects, tokenizer files and JSONL lines (questions and samples):
 * a valid base with one field replaced by a hostile value.
 */
import type { Rng } from '../../src/util/rng.js';
import type { TokenizerFiles } from '../../src/tokenizer/hf-tokenizer.js';
import type { Expect } from './outcome.js';

const pick = <T>(rng: Rng, a: readonly T[]): T => a[rng.int(a.length)]!;

function deepArray(n: number, inner: unknown = 1): unknown {
  let v = inner;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

function deepObject(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

/** Values no field should take, each as JSON.parse would produce it. */
function hostileValue(rng: Rng): unknown {
  return pick(rng, [
    () => 0, () => -1, () => 1.5, () => 1e8, () => 1e300, () => Infinity, () => -0, () => 2 ** 53 + 2, () => '8', () => 'NaN', () => '', () => null, () => true,
    () => [8], () => [], () => ({}), () => deepArray(50_000 + rng.int(100_000)), () => deepObject(20_000 + rng.int(50_000)),
    () => new Array(1_000_000).fill(1), () => 'x'.repeat(1_000_000), () => ({ __proto__: 1 }),
  ])();
}

const BASE_CONFIG = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 512, rms_norm_eps: 1e-6, rope_theta: 10000,
  max_position_embeddings: 512, tie_word_embeddings: true, torch_dtype: 'bfloat16', bos_token_id: 1, eos_token_id: [2, 3],
  hidden_act: 'silu', use_sliding_window: false,
};
const CONFIG_FIELDS = [...Object.keys(BASE_CONFIG), 'head_dim', 'rope_scaling', 'attention_bias', 'mlp_bias', 'dtype'];

export interface ConfigCase { mutation: string; config: unknown; expect: Expect }

export function configCase(rng: Rng): ConfigCase {
  const r = rng.next();
  if (r < 0.05) return { mutation: 'valid', config: { ...BASE_CONFIG }, expect: 'accept' };
  if (r < 0.1) return { mutation: 'not an object', config: pick(rng, [[], 'x', 5, null, deepArray(100_000)]), expect: 'reject' };
  if (r < 0.2) {
    const rs = pick(rng, [
      { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      { rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      { rope_type: 'llama3', factor: -1, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      { rope_type: 'llama3', factor: 8 }, { type: 'linear', factor: 2 }, { rope_type: 'default' }, 'llama3', [1], deepObject(10_000),
      { rope_type: deepArray(80_000) },
    ]);
    const o = (typeof rs === 'object' && rs !== null && !Array.isArray(rs) ? rs : {}) as Record<string, unknown>;
    const valid = o.rope_type === 'default' || (o.rope_type === 'llama3' && o.factor === 8 && o.low_freq_factor === 1 && o.original_max_position_embeddings === 8192);
    return { mutation: 'rope_scaling', config: { ...BASE_CONFIG, architectures: ['LlamaForCausalLM'], model_type: 'llama', rope_scaling: rs }, expect: valid ? 'accept' : 'reject' };
  }
  const field = pick(rng, CONFIG_FIELDS);
  if (r < 0.3) {
    const { [field]: _, ...rest } = BASE_CONFIG as Record<string, unknown>;
    return { mutation: `without ${field}`, config: rest, expect: 'either' };
  }
  return { mutation: `${field} hostile`, config: { ...BASE_CONFIG, [field]: hostileValue(rng) }, expect: 'either' };
}

export interface TokenizerBase {
  dir: string;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

export interface TokenizerCase { mutation: string; files: TokenizerFiles; expect: Expect }

export function tokenizerCase(rng: Rng, base: TokenizerBase): TokenizerCase {
  const tj = structuredClone(base.tokenizerJson);
  const cfg = structuredClone(base.tokenizerConfig);
  const model = tj.model as Record<string, unknown>;
  const vocab = model.vocab as Record<string, number>;
  const mutations: Array<[string, () => Expect]> = [
    ['valid', () => 'accept'],
    ['vocab as a list', () => { model.vocab = Object.keys(vocab); return 'reject'; }],
    ['vocab as pairs', () => { model.vocab = Object.entries(vocab); return 'reject'; }],
    ['vocab with string ids', () => { model.vocab = Object.fromEntries(Object.entries(vocab).map(([k, v]) => [k, String(v)])); return 'reject'; }],
    ['empty vocab', () => { model.vocab = {}; model.merges = []; tj.added_tokens = []; return 'reject'; }],
    ['vocab id negative', () => { vocab[`neg${rng.int(9)}`] = -1 - rng.int(5); return 'reject'; }],
    ['vocab id huge', () => { vocab.huge = pick(rng, [2 ** 31, 1e300, 2 ** 24, Infinity]); return 'reject'; }],
    ['vocab id shared', () => { vocab.dup = 5; return 'reject'; }],
    // {} is a vocabulary of the added tokens alone: accepted.
    ['vocab hostile', () => { model.vocab = hostileValue(rng); return 'either'; }],
    ['merges hostile', () => { model.merges = hostileValue(rng); return 'either'; }],
    ['merges unknown tokens', () => { model.merges = [['zzz', 'qqq'], 'a b c', ['Ġ']]; return 'either'; }],
    ['added_tokens hostile', () => { tj.added_tokens = hostileValue(rng); return 'either'; }],
    ['added token bad', () => { (tj.added_tokens as unknown[]).push(pick(rng, [{ id: 'x', content: 'a' }, { id: -1, content: 'a' }, { id: 3, content: 5 }, 'tok', null, { id: 2 ** 30, content: 'big' }])); return 'reject'; }],
    ['model type', () => { model.type = pick(rng, ['Unigram', 'WordPiece', 'WordLevel', 'NoSuchModel', 5, null]); return 'either'; }],
    ['model hostile', () => { tj.model = hostileValue(rng); return 'reject'; }],
    ['pipeline hostile', () => { tj[pick(rng, ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'])] = pick(rng, [hostileValue(rng), { type: 'NoSuch' }, { type: 'Sequence', pretokenizers: [hostileValue(rng)] }]); return 'either'; }],
    ['eos_token hostile', () => { cfg.eos_token = pick(rng, [hostileValue(rng), '<|not_a_token|>', { content: 5 }]); return 'either'; }],
    ['chat_template hostile', () => { cfg.chat_template = pick(rng, [hostileValue(rng), '{% for %}', '{{ raise_exception("x") }}', [{ name: 'x', template: 1 }]]); return 'either'; }],
    ['additional_special_tokens hostile', () => { cfg.additional_special_tokens = hostileValue(rng); return 'either'; }],
    ['tokenizer.json hostile', () => { return 'reject'; }],
  ];
  const [mutation, apply] = pick(rng, mutations);
  const expect = apply();
  const tokenizerJson = mutation === 'tokenizer.json hostile' ? pick(rng, [[], 'x', null, deepArray(100_000)]) : tj;
  return { mutation, files: { tokenizerJson, tokenizerConfig: cfg }, expect };
}

/** hostileValue as JSON text, built without a serializer (JSON.stringify overflows on the deep ones). */
function hostileText(rng: Rng): string {
  return pick(rng, [
    () => '0', () => '-1', () => '1.5', () => '1e8', () => '1e300', () => '1e400', () => '-0', () => '9007199254740994', () => '"8"', () => '"NaN"',
    () => '""', () => 'null', () => 'true', () => '[8]', () => '[]', () => '{}', () => '{"__proto__": 1}',
    () => { const n = 50_000 + rng.int(150_000); return '['.repeat(n) + ']'.repeat(n); },
    () => { const n = 20_000 + rng.int(80_000); return '{"a":'.repeat(n) + '1' + '}'.repeat(n); },
    () => `[${new Array(1_000_000).fill(1).join(',')}]`, () => `"${'x'.repeat(1_000_000)}"`,
  ])();
}

export interface JsonlCase { mutation: string; text: string; expect: Expect }

/** A questions or samples file: valid lines and, usually, a few hostile ones. */
export function jsonlLines(rng: Rng, kind: 'questions' | 'samples'): JsonlCase {
  const good = (i: number): unknown => (kind === 'questions'
    ? { id: `q${i}`, question: `What is ${i} + 1?`, answer: String(i + 1) }
    : { prompt_id: `q${i}`, step: i, prefix: 'So', tokens: ['a', 'b'], token_ids: [3, 7], weights: [0.25, 0.75], kl_divergence: 0.5, id: `q${i}`, trajectory: i });
  const lines = Array.from({ length: 1 + rng.int(5) }, (_, i) => JSON.stringify(good(i)));
  const field = kind === 'questions' ? pick(rng, ['id', 'question', 'answer', 'prompt']) : pick(rng, ['step', 'token_ids', 'weights', 'prompt_id', 'prefix', 'trajectory', 'id']);
  const mutations: Array<[string, () => Expect]> = [
    ['valid', () => 'accept'],
    [`${field} hostile`, () => { lines.splice(rng.int(lines.length + 1), 0, JSON.stringify({ ...(good(99) as object), [field]: '@@H@@' }).replace('"@@H@@"', hostileText(rng))); return 'either'; }],
    ['not JSON', () => { lines.splice(rng.int(lines.length + 1), 0, pick(rng, ['{', '{"a":}', 'NaN', '\u0000', '[1,]'])); return 'reject'; }],
    ['not an object', () => { lines.push(pick(rng, ['[]', '5', '"x"', 'null', '[{"question": "q"}]'])); return 'reject'; }],
    ['deeply nested line', () => { lines.push(`{"${field}": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`); return 'reject'; }],
    ['huge line', () => { lines.push(JSON.stringify({ ...(good(98) as object), [field === 'id' ? 'id' : 'prefix']: 'y'.repeat(5_000_000) })); return 'either'; }],
    // An empty samples file is a run that kept no step (train reports it); an empty questions file is an error.
    ['empty file', () => { lines.length = 0; return kind === 'questions' ? 'reject' : 'either'; }],
    ['blank lines and CRLF', () => { lines.splice(1, 0, '', '   ', '\r'); return 'either'; }],
    // samples: readSamples still drops a torn last line (torn-tail handling of inputs is issue 16 item 6, not this suite's).
    ['torn last line', () => { lines.push('{"question": "cut'); return kind === 'questions' ? 'reject' : 'either'; }],
    ['duplicate id', () => { lines.push(lines[0]!); return kind === 'questions' ? 'reject' : 'either'; }],
  ];
  const [mutation, apply] = pick(rng, mutations);
  const expect = apply();
  const torn = mutation === 'torn last line';
  return { mutation, text: lines.join('\n') + (torn || lines.length === 0 ? '' : '\n'), expect };
}
