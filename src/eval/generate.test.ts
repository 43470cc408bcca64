import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tinyModelDir } from '../model/testing.js';
import { openModel } from '../backends/open.js';
import { generateGreedy } from '../model/generate.js';
import type { QuestionRecord } from '../data/questions.js';
import { UserError } from '../util/errors.js';
import { evalPrompts, generateCompletions } from './generate.js';
import { resolvePrompt } from '../data/prompts.js';

const dir = tinyModelDir({ hidden: 32, layers: 2, maxPositions: 160 }, 41);
after(() => rmSync(dir, { recursive: true, force: true }));
const lm = await openModel({ backend: 'engine', modelDir: dir });
const model = lm.engine!.model;
const preset = resolvePrompt('qwen25-math-cot');
const questions: QuestionRecord[] = [
  ...['Ken has 12 apples. How many apples?', 'Julie buys 24 books.', 'Betty has 3 clips. How many clips?', 'Mark has 48 pages.'].map((question, i) => ({ id: `q${i}`, line: i + 1, question })),
  { id: 'raw', line: 5, prompt: 'Natalia has 12 apples.\n' },
];

test('generation stops at the model\'s stop ids and at <|im_end|> and <|endoftext|>', () => {
  const stop = lm.stopIds;
  for (const t of ['<|im_end|>', '<|endoftext|>']) assert.ok(stop.includes(lm.tokenizer.tokenToId(t)!), t);
  for (const id of lm.stopIds) assert.ok(stop.includes(id));
  assert.ok(!stop.includes(lm.tokenizer.tokenToId('<|im_start|>')!));
});

test('questions get the preset\'s chat prompt, raw prompts are used as they are, and prompts that leave no room are refused by line', () => {
  const prompts = evalPrompts(lm, questions, preset, 'in.jsonl');
  assert.equal(lm.tokenizer.decode(prompts[0]!), '<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n<|im_start|>user\nKen has 12 apples. How many apples?<|im_end|>\n<|im_start|>assistant\n');
  assert.deepEqual(prompts[4], lm.tokenizer.encode('Natalia has 12 apples.\n'));
  const long: QuestionRecord = { id: 'long', line: 9, question: 'Ken has 12 apples. '.repeat(20) };
  assert.throws(() => evalPrompts(lm, [questions[0]!, long], preset, 'in.jsonl'), (e: unknown) => e instanceof UserError
    && /1 problem\(s\) do not fit the model's context window:\n  in\.jsonl:9: problem "long": its prompt has \d+ tokens; the context window of .* is 160/.test(e.message));
});

async function collect<T>(g: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of g) out.push(x);
  return out;
}

test('completions are greedy continuations decoded without special tokens, and skipping done questions does not change the others', async () => {
  const prompts = evalPrompts(lm, questions, preset, 'in.jsonl');
  const o = { maxNewTokens: 12, batchSize: 2, stopIds: lm.stopIds };
  const all = await collect(generateCompletions(lm, questions, prompts, { ...o, done: new Set() }));
  assert.deepEqual(all.map((p) => p.id), questions.map((q) => q.id));
  // One chunk of two, decoded as the generator decodes it.
  const gens = generateGreedy(model, prompts.slice(2, 4), { maxNewTokens: 12, stopIds: o.stopIds, batchSize: 2 });
  gens.forEach((g, k) => {
    assert.equal(all[2 + k]!.completion, lm.tokenizer.decode(g.tokens, { skipSpecialTokens: true }));
    assert.equal(all[2 + k]!.completionTokens, g.tokens.length);
    assert.equal(all[2 + k]!.finish, g.finish);
    // The stop token that ended it, by name; none when the budget did.
    assert.equal(all[2 + k]!.stop, g.finish === 'stop' ? lm.tokenizer.idToToken(g.tokens.at(-1)!) : undefined);
  });
  // Every completion says why it ended: a stop id, or the 12-token budget.
  for (const p of all) assert.ok(p.finish === 'stop' || (p.finish === 'length' && p.completionTokens === 12), JSON.stringify(p));
  // q0 and q1 (a whole chunk) and q2 (half of one) were done by an earlier run.
  const rest = await collect(generateCompletions(lm, questions, prompts, { ...o, done: new Set(['q0', 'q1', 'q2']) }));
  assert.deepEqual(rest, all.slice(3));
});
