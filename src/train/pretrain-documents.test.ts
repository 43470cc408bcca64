import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tinyModelDir } from '../model/testing.js';
import { generateGeneralDocuments, generateMathDocuments, writeCorpusJsonl } from '../data/base-world/index.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { testTempDir } from '../testing/tmp.js';
import { UserError } from '../util/errors.js';
import { documentExamples, loadCompletionExamples, runPretrain } from './pretrain.js';
import { completionSequence } from './completion.js';
import { writeJsonl } from './testing.js';

const tokenizerDir = tinyModelDir({ hidden: 16, layers: 1 }, 5);
const tok = loadTokenizer(tokenizerDir);
const eot = tok.tokenToId('<|endoftext|>')!;
const dir = testTempDir('lr-pretrain-docs-');

test('a plain-text document is <|endoftext|> + its tokens + <|endoftext|>, every token after the first a target, ChatML markers as themselves', () => {
  const text = '<|im_start|>user\nHi there<|im_end|>\n';
  const [e, ...more] = documentExamples(tok, text, 1000, 'doc');
  assert.equal(more.length, 0);
  const all = [...Array.from(e!.prompt), ...Array.from(e!.completion)];
  assert.deepEqual(all, [eot, ...tok.encode(text, { addSpecialTokens: false }), eot]);
  assert.equal(all[1], tok.tokenToId('<|im_start|>'));
  assert.ok(all.includes(tok.tokenToId('<|im_end|>')!));
  // The training sequence predicts every token after the leading separator, from the one before it.
  const seq = completionSequence(e!);
  assert.deepEqual(seq.targets.map((t) => t.ids[0]), all.slice(1));
  assert.deepEqual(seq.targets.map((t) => seq.ids[t.row]), all.slice(0, -1));
});

test('a long document is cut into windows of at most maxTokens that overlap by one token, so each token is a target once', () => {
  const text = generateMathDocuments({ count: 1, seed: 2 })[0]!.text;
  const all = [eot, ...tok.encode(text, { addSpecialTokens: false }), eot];
  const windows = documentExamples(tok, text, 17, 'doc');
  assert.ok(windows.length > 3);
  const targets: number[] = [];
  for (const w of windows) {
    assert.equal(w.prompt.length, 1);
    assert.ok(w.prompt.length + w.completion.length <= 17);
    targets.push(...Array.from(w.completion));
  }
  assert.deepEqual(targets, all.slice(1));
  assert.throws(() => documentExamples(tok, '', 17, 'f.jsonl:3'), (e: unknown) => e instanceof UserError && e.message === 'f.jsonl:3: empty "text"');
});

test('a training file may hold plain-text documents and GSM8K records; a record with neither is refused naming its line', () => {
  const file = join(dir, 'mixed.jsonl');
  writeJsonl(file, [{ text: 'Ava has a cat.' }, { question: 'What is 2 + 3?', answer: '2 + 3 = 5\n#### 5' }]);
  const ex = loadCompletionExamples(file, tok, tok.eosTokenIds, 512);
  assert.equal(ex.length, 2);
  assert.equal(ex[0]!.prompt.length, 1);
  assert.ok(ex[1]!.prompt.length > 5, 'the GSM8K record keeps its chat prompt');
  const bad = join(dir, 'bad.jsonl');
  writeJsonl(bad, [{ text: 'ok' }, { txt: 'typo' }]);
  assert.throws(() => loadCompletionExamples(bad, tok, tok.eosTokenIds, 512), (e: unknown) => e instanceof UserError && e.message.startsWith(`${bad}:2: expected "question" and "answer" strings, or a "text" string`));
});

test('pretraining on a corpus file runs, and a stopped run resumes to the same weights', () => {
  const train = join(dir, 'corpus.jsonl');
  writeCorpusJsonl(train, [...generateGeneralDocuments({ count: 6, seed: 1 }), ...generateMathDocuments({ count: 2, seed: 1 })]);
  const arch = { hidden: 16, layers: 1, heads: 2, kvHeads: 1, intermediate: 32, maxPositions: 64, ropeTheta: 10000, tied: true };
  const base = { tokenizerDir, trainFile: train, batchSize: 2, lr: 1e-3, schedule: 'cosine' as const, warmupSteps: 1, weightDecay: 0, maxGradNorm: 1, seed: 0, saveSteps: 2, evalSteps: 0, evalCount: 0, exportSteps: [], arch, onWarning: () => {} };
  const whole = runPretrain({ ...base, out: join(dir, 'whole'), steps: 4 });
  assert.ok(whole.examples > 8, `windows of 64 tokens: ${whole.examples}`);
  assert.ok(whole.loop.steps.every((s) => Number.isFinite(s.loss)));
  // Stop the run after its third step (its checkpoint is at step 2), then start it again.
  const out = join(dir, 'stopped');
  assert.throws(() => runPretrain({ ...base, out, steps: 4, onProgress: (e) => { if (e.done === 3) throw new Error('stopped'); } }), /stopped/);
  const resumed = runPretrain({ ...base, out, steps: 4 });
  assert.equal(resumed.loop.resumedFrom, 2);
  const want = whole.loop.steps.slice(2).map((s) => s.loss);
  resumed.loop.steps.forEach((s, k) => assert.ok(Math.abs(s.loss - want[k]!) < 1e-6, `step ${s.step}: ${s.loss} vs ${want[k]}`));
});
