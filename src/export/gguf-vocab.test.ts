import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainByteLevelBpe } from '../tokenizer/bpe-trainer.js';
import { tinyCorpus, writeTokenizerDir } from '../tokenizer/testing.js';
import { loadTokenizer } from '../tokenizer/hf-tokenizer.js';
import { QWEN2_5_CHAT_TEMPLATE } from '../tokenizer/qwen2-format.js';
import type { GgufKv, GgufValue } from './gguf-writer.js';
import { GGUF_TOKEN_TYPE, LLAMA3_PRETOKENIZER_REGEX, ggufVocabulary } from './gguf-vocab.js';

const work = mkdtempSync(join(tmpdir(), 'lr-gguf-vocab-'));
after(() => rmSync(work, { recursive: true, force: true }));
const trained = trainByteLevelBpe(tinyCorpus(), { vocabSize: 300 });
let n = 0;

/** A tokenizer directory from the trained one, with `edit` applied to its JSON files. */
function tokenizerDir(edit: (tj: Record<string, any>, cfg: Record<string, any>, modelCfg: Record<string, any>) => void = () => {}): string {
  const dir = join(work, `tok${n++}`);
  const tj = structuredClone(trained.tokenizerJson) as unknown as Record<string, any>;
  const cfg = structuredClone(trained.tokenizerConfigJson) as unknown as Record<string, any>;
  const modelCfg: Record<string, any> = {};
  edit(tj, cfg, modelCfg);
  writeTokenizerDir(dir, { ...trained, tokenizerJson: tj as never, tokenizerConfigJson: cfg as never });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(modelCfg));
  return dir;
}

function get(kvs: GgufKv[], key: string): GgufValue['value'] | undefined {
  return kvs.find((k) => k.key === key)?.value.value;
}

test('a Qwen2-format tokenizer becomes gpt2 / qwen2 metadata: every id\'s token, ChatML tokens CONTROL, padding ids UNUSED, merges, eos/pad, template', () => {
  const dir = tokenizerDir();
  const tok = loadTokenizer(dir);
  const vocabSize = tok.vocabSize + 5; // config.json vocab_size is often rounded up past the tokenizer
  const { kvs, tokens, pre } = ggufVocabulary(dir, vocabSize);
  assert.equal(pre, 'qwen2');
  assert.equal(get(kvs, 'tokenizer.ggml.model'), 'gpt2');
  assert.equal(get(kvs, 'tokenizer.ggml.pre'), 'qwen2');
  assert.equal(tokens.length, vocabSize);
  for (let id = 0; id < tok.vocabSize; id++) assert.equal(tokens[id], tok.idToToken(id), `id ${id}`);
  assert.deepEqual(tokens.slice(tok.vocabSize), [0, 1, 2, 3, 4].map((k) => `[PAD${tok.vocabSize + k}]`));
  const types = Array.from(get(kvs, 'tokenizer.ggml.token_type') as Int32Array);
  const imEnd = tok.tokenToId('<|im_end|>')!, endoftext = tok.tokenToId('<|endoftext|>')!;
  assert.equal(types[0], GGUF_TOKEN_TYPE.NORMAL);
  assert.equal(types[imEnd], GGUF_TOKEN_TYPE.CONTROL);
  assert.equal(types[tok.vocabSize], GGUF_TOKEN_TYPE.UNUSED);
  assert.deepEqual(get(kvs, 'tokenizer.ggml.merges'), trained.tokenizerJson.model.merges);
  assert.equal(get(kvs, 'tokenizer.ggml.eos_token_id'), imEnd);
  assert.equal(get(kvs, 'tokenizer.ggml.padding_token_id'), endoftext);
  assert.equal(get(kvs, 'tokenizer.ggml.bos_token_id'), undefined);
  assert.equal(get(kvs, 'tokenizer.ggml.add_bos_token'), false);
  assert.equal(get(kvs, 'tokenizer.chat_template'), QWEN2_5_CHAT_TEMPLATE);
});

test('a Llama 3 style tokenizer is "llama-bpe" with its BOS added by the post-processor; config.json fills ids the tokenizer config lacks', () => {
  const dir = tokenizerDir((tj, cfg, modelCfg) => {
    tj.pre_tokenizer.pretokenizers[0].pattern.Regex = LLAMA3_PRETOKENIZER_REGEX;
    const bosId = (tj.added_tokens as Array<{ id: number; content: string }>).find((t) => t.content === '<|im_start|>')!.id;
    tj.post_processor = {
      type: 'Sequence', processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<|im_start|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: { '<|im_start|>': { id: '<|im_start|>', ids: [bosId], tokens: ['<|im_start|>'] } } },
      ],
    };
    cfg.bos_token = '<|im_start|>';
    delete cfg.add_bos_token;
    delete cfg.pad_token;
    modelCfg.pad_token_id = 5;
  });
  const tok = loadTokenizer(dir);
  const { kvs, pre } = ggufVocabulary(dir, tok.vocabSize);
  assert.equal(pre, 'llama-bpe');
  assert.equal(get(kvs, 'tokenizer.ggml.bos_token_id'), tok.tokenToId('<|im_start|>'));
  assert.equal(get(kvs, 'tokenizer.ggml.add_bos_token'), true);
  assert.equal(get(kvs, 'tokenizer.ggml.padding_token_id'), 5);
});

test('merges stored as [left, right] pairs are written as "left right" strings', () => {
  const dir = tokenizerDir((tj) => { tj.model.merges = (tj.model.merges as string[]).map((m) => m.split(' ')); });
  const { kvs } = ggufVocabulary(dir, 400);
  assert.deepEqual(get(kvs, 'tokenizer.ggml.merges'), trained.tokenizerJson.model.merges);
});

test('tokenizers llama.cpp cannot take as gpt2 are refused by name: SentencePiece-style BPE, unknown pre-tokenizer splits, ids past vocab_size', () => {
  assert.throws(() => ggufVocabulary(tokenizerDir((tj) => { tj.model.byte_fallback = true; }), 400), /only byte-level BPE tokenizers .* byte_fallback/);
  assert.throws(() => ggufVocabulary(tokenizerDir((tj) => { tj.pre_tokenizer.pretokenizers[0].pattern.Regex = '\\s+'; }), 400), /pre-tokenizer split "\\\\s\+" is not one llama\.cpp knows by name; supported: Qwen2's \("qwen2"\)/);
  assert.throws(() => ggufVocabulary(tokenizerDir(), 100), /has id \d+, but config\.json's vocab_size is 100/);
});
