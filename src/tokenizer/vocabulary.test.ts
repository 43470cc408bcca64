import { after, test } from 'node:test';
import { rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { HfTokenizer, loadTokenizer } from './hf-tokenizer.js';
import { tinyTokenizerDir } from './testing.js';
import { assertSameVocabulary, vocabularyFingerprint } from './vocabulary.js';
import { UserError } from '../util/errors.js';
import type { TrainedTokenizer } from './bpe-trainer.js';

const { dir, trained } = tinyTokenizerDir();
after(() => rmSync(dir, { recursive: true, force: true }));
const expert = loadTokenizer(dir);

/** A tokenizer built from an edited copy of the trained files. */
function edited(edit: (t: TrainedTokenizer) => void): HfTokenizer {
  const copy = structuredClone(trained);
  edit(copy);
  return HfTokenizer.fromFiles({ tokenizerJson: copy.tokenizerJson, tokenizerConfig: copy.tokenizerConfigJson }, '(edited)');
}

test('two loads of one tokenizer share a vocabulary and a fingerprint', () => {
  const amateur = loadTokenizer(dir);
  assert.doesNotThrow(() => assertSameVocabulary(expert, amateur, 'expert', 'amateur'));
  assert.equal(vocabularyFingerprint(expert), vocabularyFingerprint(amateur));
  assert.match(vocabularyFingerprint(expert), /^sha256:[0-9a-f]{64}$/);
});

test('a token spelled differently at one id is named with both tokenizers, the id and both tokens', () => {
  const vocab = trained.tokenizerJson.model.vocab;
  const [victim, id] = Object.entries(vocab).find(([t, i]) => i >= 256 && /^[a-z]+$/.test(t))!;
  const amateur = edited((t) => {
    delete t.tokenizerJson.model.vocab[victim];
    t.tokenizerJson.model.vocab[`${victim}X`] = id;
  });
  assert.notEqual(vocabularyFingerprint(amateur), vocabularyFingerprint(expert));
  assert.throws(() => assertSameVocabulary(expert, amateur, 'expert models/a', 'amateur models/b'), (e: unknown) => {
    assert.ok(e instanceof UserError);
    for (const part of ['expert models/a', 'amateur models/b', `id ${id}: ${JSON.stringify(victim)} vs ${JSON.stringify(`${victim}X`)}`, '1 id(s)']) {
      assert.ok(e.message.includes(part), `message lacks ${JSON.stringify(part)}: ${e.message}`);
    }
    assert.ok(!e.message.includes('sizes differ'), e.message);
    return true;
  });
});

test('an extra added token shows up as a size difference and as a special token only one side has', () => {
  const amateur = edited((t) => {
    t.tokenizerJson.added_tokens.push({ id: 320, content: '<think>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  });
  assert.equal(amateur.vocabSize, 321);
  assert.throws(() => assertSameVocabulary(expert, amateur, 'E', 'A'), (e: unknown) =>
    e instanceof UserError
    && e.message.includes('vocabulary sizes differ: E has 320 ids, A has 321')
    && e.message.includes('id 320: (no token) vs "<think>"')
    && e.message.includes('only A marks 320 "<think>"'));
});

test('the same tokens with a different special flag differ', () => {
  const amateur = edited((t) => { t.tokenizerJson.added_tokens[0]!.special = false; });
  assert.notEqual(vocabularyFingerprint(amateur), vocabularyFingerprint(expert));
  assert.throws(() => assertSameVocabulary(expert, amateur, 'E', 'A'), (e: unknown) =>
    e instanceof UserError && e.message.includes('special tokens differ: only E marks 317 "<|endoftext|>"') && !e.message.includes('only A'));
});
