import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../util/errors.js';
import { trainByteLevelBpe, type TrainedTokenizer } from './bpe-trainer.js';
import { HfTokenizer, loadTokenizer } from './hf-tokenizer.js';
import { findGsm8kTrain, tinyCorpus, tinyTokenizerDir } from './testing.js';

// ---------------------------------------------------------------------------------------------
// An independent byte-level BPE encoder, written from the GPT-2 / Qwen2 definitions, to check that
// the merges we train are applied by the Hugging Face tokenizer exactly as ranked merges should be.

/** GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the rest get 256 + n. */
const BYTE_CHAR: string[] = (() => {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const table: string[] = [];
  bs.forEach((b, i) => { table[b] = String.fromCodePoint(cs[i]!); });
  return table;
})();

/** Qwen2's split with the case-insensitive contractions spelled out (Node 20 has no `(?i:...)`). */
const SPLIT = /'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** Merge the lowest-ranked adjacent pair everywhere in the word, again and again (GPT-2's bpe()). */
function applyMerges(symbols: string[], rank: Map<string, number>): string[] {
  let parts = symbols;
  for (;;) {
    let best = -1, bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = rank.get(`${parts[i]} ${parts[i + 1]}`);
      if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
    }
    if (best < 0) return parts;
    const a = parts[best]!, b = parts[best + 1]!;
    const next: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) { next.push(a + b); i++; } else next.push(parts[i]!);
    }
    parts = next;
  }
}

function referenceEncode(text: string, trained: TrainedTokenizer): number[] {
  const rank = new Map(trained.tokenizerJson.model.merges.map((m, i) => [m, i]));
  const vocab = trained.tokenizerJson.model.vocab;
  const ids: number[] = [];
  for (const piece of text.normalize('NFC').match(SPLIT) ?? []) {
    const symbols = Array.from(Buffer.from(piece, 'utf8'), (b) => BYTE_CHAR[b]!);
    for (const t of applyMerges(symbols, rank)) {
      const id = vocab[t];
      assert.ok(id !== undefined, `reference produced ${JSON.stringify(t)}, which is not in the vocabulary`);
      ids.push(id);
    }
  }
  return ids;
}

/** The text of a+b+c for every two merges a·b and b·c: words on which the merge order decides. */
function chainedMergeProbes(t: TrainedTokenizer): string[] {
  const byteOf = new Map(BYTE_CHAR.map((c, b) => [c, b]));
  const text = (s: string): string => Buffer.from(Array.from(s, (c) => byteOf.get(c)!)).toString('utf8');
  const merges = t.tokenizerJson.model.merges.map((m) => m.split(' ') as [string, string]);
  const probes: string[] = [];
  for (const [a, b] of merges) for (const [b2, c] of merges) if (b === b2) probes.push(text(a + b + c));
  return probes;
}

// ---------------------------------------------------------------------------------------------

const { dir, trained } = tinyTokenizerDir();
after(() => rmSync(dir, { recursive: true, force: true }));

test('written files have Qwen2\'s layout: 256 byte symbols first, merges, ChatML specials right after the vocabulary', () => {
  const tj = trained.tokenizerJson;
  const byId = Object.entries(tj.model.vocab).sort((a, b) => a[1] - b[1]);
  byId.forEach(([, id], i) => assert.equal(id, i, 'ids are 0..n-1 without gaps'));
  assert.deepEqual(byId.slice(0, 256).map(([t]) => t).sort(), [...BYTE_CHAR].sort());
  assert.equal(tj.model.vocab['!'], 0);
  assert.equal(tj.model.vocab['Ġ'], 220, 'space is id 220 as in Qwen2');
  assert.equal(tj.model.merges.length, byId.length - 256);
  for (const m of tj.model.merges) {
    const [a, b] = m.split(' ');
    assert.ok(tj.model.vocab[a!] !== undefined && tj.model.vocab[b!] !== undefined && tj.model.vocab[a! + b!] !== undefined, m);
  }
  assert.deepEqual(tj.added_tokens.map((t) => [t.id, t.content, t.special]), [
    [byId.length, '<|endoftext|>', true], [byId.length + 1, '<|im_start|>', true], [byId.length + 2, '<|im_end|>', true],
  ]);
  assert.deepEqual(tj.normalizer, { type: 'NFC' });
  assert.deepEqual(tj.pre_tokenizer.pretokenizers.map((p) => p.type), ['Split', 'ByteLevel']);
  assert.deepEqual(tj.pre_tokenizer.pretokenizers[1], { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false });
  assert.equal(tj.decoder.type, 'ByteLevel');
  const cfg = trained.tokenizerConfigJson;
  assert.equal(cfg.eos_token, '<|im_end|>');
  assert.equal(cfg.pad_token, '<|endoftext|>');
  assert.equal(cfg.bos_token, null);
  assert.equal(cfg.added_tokens_decoder[String(byId.length + 2)]?.content, '<|im_end|>');
});

test('the tokenizer applies our merges exactly as ranked byte-level BPE does (independent re-implementation)', () => {
  const tok = loadTokenizer(dir);
  assert.ok(chainedMergeProbes(trained).length >= 10, 'enough competing merges to make the comparison mean something');
  const texts = [
    ...tinyCorpus().slice(0, 60),
    'Betty buys 365 marbles for $12.50 each; she pays 4,562.50 in total.',
    "They're sure it'S what you'd WANT, isn't it?",
    'Ünïcödé, 中文 数学 and emoji 😀 — “quoted”.\n\n  indented\tline\r\n',
    'cookiescookies marblesmarbles   pages',
    // Where merges a·b and b·c compete for the middle symbol, only the lower rank may win.
    ...chainedMergeProbes(trained),
  ];
  for (const t of texts) assert.deepEqual(tok.encode(t, { addSpecialTokens: false }), referenceEncode(t, trained), JSON.stringify(t));
});

test('merges are learned most frequent pair first, ties to the smaller (left id, right id)', () => {
  // Pre-tokens: "ab", " ab" x3, " cd" x2. Pair counts: a·b 4, Ġ·a 3, Ġ·c 2, c·d 2. After a·b, Ġ·ab
  // has 3. Then Ġ·c and c·d tie at 2: c (id 66) < Ġ (id 220), so c·d goes first, then Ġ·cd.
  const r = trainByteLevelBpe(['ab ab ab ab cd cd'], { vocabSize: 256 + 4 + 3 });
  assert.deepEqual(r.tokenizerJson.model.merges, ['a b', 'Ġ ab', 'c d', 'Ġ cd']);
  assert.equal(r.stats.vocabSize, 263);
  assert.equal(r.stats.stoppedEarly, null);
  assert.deepEqual(trainByteLevelBpe(['ab ab ab ab cd cd'], { vocabSize: 300 }).stats.stoppedEarly, 'every word is a single token');
  const rare = trainByteLevelBpe(['ab ab ab ab cd cd'], { vocabSize: 300, minFrequency: 3 });
  assert.deepEqual(rare.tokenizerJson.model.merges, ['a b', 'Ġ ab']);
  assert.match(rare.stats.stoppedEarly ?? '', /no pair occurs 3 or more times/);
});

test('training is deterministic', () => {
  const again = trainByteLevelBpe(tinyCorpus(), { vocabSize: 320 });
  assert.deepEqual(again.tokenizerJson, trained.tokenizerJson);
});

test('bad training options are refused with a UserError saying what was expected', () => {
  assert.throws(() => trainByteLevelBpe(['x'], { vocabSize: 258 }), (e: unknown) => e instanceof UserError && /from 259 \(256 byte symbols \+ 3 special tokens\)/.test(e.message));
  assert.throws(() => trainByteLevelBpe(['x'], { vocabSize: 300, specialTokens: ['<|endoftext|>'] }), (e: unknown) => e instanceof UserError && /<\|im_start\|>, <\|im_end\|>/.test(e.message));
  assert.throws(() => trainByteLevelBpe(['x'], { vocabSize: 300, minFrequency: 0 }), UserError);
});

test('extra special tokens follow the ChatML ones and encode to single ids', () => {
  const r = trainByteLevelBpe(tinyCorpus(), { vocabSize: 300, specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<think>'] });
  const tok = HfTokenizer.fromFiles({ tokenizerJson: r.tokenizerJson, tokenizerConfig: r.tokenizerConfigJson }, '(memory)');
  assert.equal(tok.vocabSize, 300);
  assert.deepEqual(tok.encode('<think>'), [299]);
  assert.deepEqual(tok.specialTokenIds, [296, 297, 298, 299]);
});

test('GSM8K: a 2048-token tokenizer trains in seconds, round-trips the test split and matches the reference encoder', (t) => {
  const trainPath = findGsm8kTrain();
  if (trainPath === null) {
    t.skip('no shared/data/gsm8k/train.jsonl at or above the repository root; the inline-corpus tests above still ran');
    return;
  }
  const records = (path: string): { question: string; answer: string }[] =>
    readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { question: string; answer: string });
  const texts = records(trainPath).flatMap((r) => [r.question, r.answer]);
  const t0 = performance.now();
  const r = trainByteLevelBpe(texts, { vocabSize: 2048 });
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(seconds < 30, `training took ${seconds.toFixed(1)} s`);
  assert.equal(r.stats.vocabSize, 2048);
  const tok = HfTokenizer.fromFiles({ tokenizerJson: r.tokenizerJson, tokenizerConfig: r.tokenizerConfigJson }, '(memory)');
  const testTexts = records(join(dirname(trainPath), 'test.jsonl')).slice(0, 150).flatMap((x) => [x.question, x.answer]);
  let chars = 0, tokens = 0;
  for (const text of testTexts) {
    const ids = tok.encode(text);
    assert.equal(tok.decode(ids), text.normalize('NFC'));
    assert.deepEqual(ids, referenceEncode(text, r), text);
    chars += text.length;
    tokens += ids.length;
  }
  assert.ok(chars / tokens > 2.5, `a GSM8K-trained vocabulary should compress GSM8K text (got ${(chars / tokens).toFixed(2)} chars/token)`);
});
