import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { loadTokenizer } from './hf-tokenizer.js';
import { tinyTokenizerDir } from './testing.js';

const { dir, trained } = tinyTokenizerDir();
const tok = loadTokenizer(dir);
const made = [dir];
after(() => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

function copyDir(edit: (d: string) => void): string {
  const d = mkdtempSync(join(tmpdir(), 'lr-tokenizer-edit-'));
  made.push(d);
  cpSync(dir, d, { recursive: true });
  edit(d);
  return d;
}

function editJson(d: string, file: string, f: (j: Record<string, unknown>) => void): void {
  const p = join(d, file);
  const j = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  f(j);
  writeFileSync(p, JSON.stringify(j));
}

test('decode(encode(text)) gives the text back for digits, unicode, whitespace runs and ChatML markers', () => {
  const texts = [
    'Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72',
    'Weng earns $12 an hour; 0.2 x 50 = $10.',
    '  leading and trailing spaces  ',
    'tabs\tand\r\nwindows newlines\n\n\nand blank lines',
    'Ünïcödé, 中文, emoji 😀👍🏽, combining e\u0301 → NFC é',
    "Don'T you'LL see it's 1,234,567.89",
    '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|><|endoftext|>',
    '',
  ];
  for (const t of texts) {
    // The normalizer is NFC, so text comes back NFC-normalised, as with Qwen's tokenizer.
    assert.equal(tok.decode(tok.encode(t)), t.normalize('NFC'), JSON.stringify(t));
  }
});

test('ChatML special tokens encode to one id each, are marked special, and lie inside vocabSize', () => {
  for (const s of ['<|endoftext|>', '<|im_start|>', '<|im_end|>']) {
    const ids = tok.encode(s);
    assert.equal(ids.length, 1, s);
    assert.equal(ids[0], tok.tokenToId(s));
    assert.equal(tok.idToToken(ids[0]!), s);
    assert.ok(ids[0]! < tok.vocabSize, `${s} id ${ids[0]} < vocabSize ${tok.vocabSize}`);
    assert.ok(tok.specialTokenIds.includes(ids[0]!), s);
  }
});

test('vocabSize is the model-facing size: BPE vocabulary plus the added special tokens', () => {
  const file = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> }; added_tokens: unknown[] };
  const base = Object.keys(file.model.vocab).length;
  assert.equal(file.added_tokens.length, 3);
  assert.equal(tok.vocabSize, base + 3);
  assert.equal(tok.vocabSize, 320, "the size tinyTokenizerDir asked for");
});

test('digits always come out one per token, even numbers the corpus repeats', () => {
  const text = 'Tom has 12 apples and 365 pages; 1234567890 + 48 = 1234567938.';
  const tokens = tok.encode(text).map((id) => tok.idToToken(id)!);
  for (const t of tokens) if (/\d/.test(t)) assert.match(t, /^\d$/, `token ${JSON.stringify(t)} holds a digit with something else`);
  assert.equal(tokens.filter((t) => /^\d$/.test(t)).length, text.replace(/\D/g, '').length);
});

test('the chat template renders system + user with a generation prompt as ChatML', () => {
  const rendered = tok.applyChatTemplate(
    [{ role: 'system', content: 'Please reason step by step.' }, { role: 'user', content: 'What is 2+2?' }],
    { addGenerationPrompt: true },
  );
  assert.equal(rendered, '<|im_start|>system\nPlease reason step by step.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n');
});

test('the chat template injects the default system prompt when only a user message is given', () => {
  assert.equal(
    tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }),
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  );
  assert.equal(
    tok.applyChatTemplate([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }], { addGenerationPrompt: false }),
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n',
  );
});

test('encodeChat encodes the rendered template without adding special tokens again', () => {
  const messages = [{ role: 'user', content: 'What is 12*4?' }];
  const ids = tok.encodeChat(messages, { addGenerationPrompt: true });
  assert.deepEqual(ids, tok.encode(tok.applyChatTemplate(messages, { addGenerationPrompt: true }), { addSpecialTokens: false }));
  assert.equal(ids[0], tok.tokenToId('<|im_start|>'));
  assert.equal(ids.filter((id) => id === tok.tokenToId('<|im_end|>')).length, 2);
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'system\nYou are a helpful assistant.\nuser\nWhat is 12*4?\nassistant\n');
});

test('eos ids: tokenizer_config eos_token, generation_config eos_token_id (int or list) and <|im_end|>; pad from pad_token', () => {
  const imEnd = tok.tokenToId('<|im_end|>')!, eot = tok.tokenToId('<|endoftext|>')!;
  assert.deepEqual(tok.eosTokenIds, [imEnd]);
  assert.equal(tok.padTokenId, eot);

  // A base model's files: eos <|endoftext|> everywhere; the ChatML template still ends turns with <|im_end|>.
  const base = loadTokenizer(copyDir((d) => {
    editJson(d, 'tokenizer_config.json', (j) => { j.eos_token = '<|endoftext|>'; });
    writeFileSync(join(d, 'generation_config.json'), JSON.stringify({ eos_token_id: eot }));
  }));
  assert.deepEqual(base.eosTokenIds, [eot, imEnd].sort((a, b) => a - b));

  const listed = loadTokenizer(copyDir((d) => {
    editJson(d, 'tokenizer_config.json', (j) => { delete j.pad_token; j.chat_template = '{{ messages[0].content }}'; });
    writeFileSync(join(d, 'generation_config.json'), JSON.stringify({ eos_token_id: [7, 9], pad_token_id: 5 }));
  }));
  assert.deepEqual(listed.eosTokenIds, [7, 9, imEnd].sort((a, b) => a - b), 'eos_token from tokenizer_config joins the list; no ChatML template, but <|im_end|> is eos_token');
  assert.equal(listed.padTokenId, 5);

  // config.json is the fallback when generation_config.json is absent.
  const fromModel = loadTokenizer(copyDir((d) => {
    editJson(d, 'tokenizer_config.json', (j) => { j.eos_token = null; j.chat_template = 'plain'; });
    writeFileSync(join(d, 'config.json'), JSON.stringify({ eos_token_id: 3 }));
  }));
  assert.deepEqual(fromModel.eosTokenIds, [3]);
});

test('decode skips ids that have no token (padded embedding rows) and accepts an empty list', () => {
  const ids = tok.encode('5 apples');
  assert.equal(tok.decode([...ids, tok.vocabSize + 10]), '5 apples');
  assert.equal(tok.decode([]), '');
  assert.throws(() => tok.decode([-1]), RangeError);
});

test('a Llama-style post-processor adds BOS only when special tokens are requested', () => {
  const d = copyDir((dd) => {
    editJson(dd, 'tokenizer.json', (j) => {
      const added = j.added_tokens as { id: number; content: string }[];
      const bos = '<|begin_of_text|>';
      const id = added[added.length - 1]!.id + 1;
      added.push({ id, content: bos, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true } as never);
      j.post_processor = {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { [bos]: { id: bos, ids: [id], tokens: [bos] } },
      };
    });
    editJson(dd, 'tokenizer_config.json', (j) => { j.bos_token = '<|begin_of_text|>'; j.chat_template = '{{ bos_token }}{{ messages[0].content }}'; });
  });
  const llama = loadTokenizer(d);
  const bosId = llama.tokenToId('<|begin_of_text|>')!;
  assert.equal(llama.vocabSize, tok.vocabSize + 1);
  assert.deepEqual(llama.encode('Hi 5'), [bosId, ...tok.encode('Hi 5')]);
  assert.deepEqual(llama.encode('Hi 5', { addSpecialTokens: false }), tok.encode('Hi 5'));
  // The template writes BOS itself; encodeChat must not add a second one.
  assert.deepEqual(llama.encodeChat([{ role: 'user', content: 'Hi 5' }], { addGenerationPrompt: true }), [bosId, ...tok.encode('Hi 5')]);
});

test('missing or unreadable files give a UserError naming the file', () => {
  const isUserError = (pattern: RegExp) => (e: unknown): boolean => e instanceof UserError && pattern.test(e.message);
  assert.throws(() => loadTokenizer(join(dir, 'nope')), isUserError(/tokenizer directory not found: .*nope/));
  const noTok = copyDir((d) => rmSync(join(d, 'tokenizer.json')));
  assert.throws(() => loadTokenizer(noTok), isUserError(new RegExp(`not found: ${join(noTok, 'tokenizer.json')}`)));
  const noCfg = copyDir((d) => rmSync(join(d, 'tokenizer_config.json')));
  assert.throws(() => loadTokenizer(noCfg), isUserError(new RegExp(`not found: ${join(noCfg, 'tokenizer_config.json')}`)));
  const corrupt = copyDir((d) => writeFileSync(join(d, 'tokenizer_config.json'), '{"eos_token": '));
  assert.throws(() => loadTokenizer(corrupt), isUserError(new RegExp(`${join(corrupt, 'tokenizer_config.json')} is not valid JSON`)));
  const truncated = copyDir((d) => writeFileSync(join(d, 'tokenizer.json'), readFileSync(join(dir, 'tokenizer.json'), 'utf8').slice(0, 500)));
  assert.throws(() => loadTokenizer(truncated), isUserError(new RegExp(`${join(truncated, 'tokenizer.json')} is not valid JSON`)));
  const noModel = copyDir((d) => editJson(d, 'tokenizer.json', (j) => { delete j.model; }));
  assert.throws(() => loadTokenizer(noModel), isUserError(/tokenizer\.json: field "model" is missing/));
  const badModel = copyDir((d) => editJson(d, 'tokenizer.json', (j) => { j.model = { type: 'NoSuchModel' }; }));
  assert.throws(() => loadTokenizer(badModel), isUserError(/tokenizer\.json: could not build the tokenizer/));
  const badEos = copyDir((d) => editJson(d, 'tokenizer_config.json', (j) => { j.eos_token = '<|not_a_token|>'; }));
  assert.throws(() => loadTokenizer(badEos), isUserError(/tokenizer_config\.json: eos_token "<\|not_a_token\|>" is not in the vocabulary/));
  const badGen = copyDir((d) => writeFileSync(join(d, 'generation_config.json'), JSON.stringify({ eos_token_id: 'x' })));
  assert.throws(() => loadTokenizer(badGen), isUserError(/generation_config\.json: field "eos_token_id" is "x"/));
});

test('a chat template that fails to render, or is missing, gives a UserError naming the directory', () => {
  const raising = copyDir((d) => editJson(d, 'tokenizer_config.json', (j) => { j.chat_template = "{{ raise_exception('roles must alternate') }}"; }));
  const t1 = loadTokenizer(raising);
  assert.equal(t1.encode('ok').length > 0, true, 'a broken template does not stop plain encoding');
  assert.throws(() => t1.applyChatTemplate([{ role: 'user', content: 'x' }], { addGenerationPrompt: true }),
    (e: unknown) => e instanceof UserError && e.message.includes(raising) && e.message.includes('roles must alternate'));
  const unparsable = copyDir((d) => editJson(d, 'tokenizer_config.json', (j) => { j.chat_template = '{% for m in messages %}'; }));
  assert.throws(() => loadTokenizer(unparsable).applyChatTemplate([], { addGenerationPrompt: true }),
    (e: unknown) => e instanceof UserError && e.message.includes(unparsable));
  const none = copyDir((d) => editJson(d, 'tokenizer_config.json', (j) => { delete j.chat_template; }));
  assert.equal(loadTokenizer(none).chatTemplate, null);
  assert.throws(() => loadTokenizer(none).encodeChat([{ role: 'user', content: 'x' }], { addGenerationPrompt: true }),
    (e: unknown) => e instanceof UserError && e.message.includes(none) && e.message.includes('no chat template'));
});

test('chat_template.jinja is used when tokenizer_config.json has no chat_template', () => {
  const d = copyDir((dd) => {
    editJson(dd, 'tokenizer_config.json', (j) => { delete j.chat_template; });
    writeFileSync(join(dd, 'chat_template.jinja'), trained.tokenizerConfigJson.chat_template);
  });
  mkdirSync(join(d, 'unrelated'), { recursive: true });
  const t = loadTokenizer(d);
  assert.equal(t.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }),
    tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }));
});

test('a malformed vocabulary says what is wrong with it: a list, string ids, an empty vocabulary, a shared id', () => {
  const isUserError = (pattern: RegExp) => (e: unknown): boolean => e instanceof UserError && pattern.test(e.message);
  type Vocab = Record<string, number>;
  const withVocab = (f: (v: Vocab) => unknown, added?: unknown[]): string => copyDir((d) => editJson(d, 'tokenizer.json', (j) => {
    const model = j.model as { vocab: Vocab; merges?: unknown };
    j.model = { ...model, vocab: f(model.vocab), ...(added ? { merges: [] } : {}) };
    if (added) j.added_tokens = added;
  }));
  assert.throws(() => loadTokenizer(withVocab((v) => Object.keys(v))), isUserError(/tokenizer\.json: model\.vocab is a list .* needs an object mapping each token to its integer id/));
  assert.throws(() => loadTokenizer(withVocab((v) => Object.fromEntries(Object.entries(v).map(([k, id]) => [k, String(id)])))), isUserError(/the id "\d+" \(a string; ids must be JSON numbers, without quotes\)/));
  assert.throws(() => loadTokenizer(withVocab(() => ({}), [])), isUserError(/tokenizer\.json: the vocabulary is empty/));
  assert.throws(() => loadTokenizer(withVocab((v) => ({ ...v, zzz: 3 }))), isUserError(/gives id 3 to both .* and "zzz"/));
  assert.throws(() => loadTokenizer(withVocab((v) => v, [{ id: 'x', content: 'a' }])), isUserError(/added_tokens\[0\] is \{"id": "x"/));
});

test('maxTokenBytes is the longest token in UTF-8 bytes', () => {
  let longest = 0;
  for (let id = 0; id < tok.vocabSize; id++) longest = Math.max(longest, Buffer.byteLength(tok.idToToken(id) ?? '', 'utf8'));
  assert.equal(tok.maxTokenBytes, longest);
});
