import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatTemplate } from '../../tokenizer/chat-template.js';
import { QWEN2_5_CHAT_TEMPLATE } from '../../tokenizer/index.js';
import { UserError } from '../../util/errors.js';
import { GENERAL_KINDS, generateGeneralDocuments, renderChatMl } from './general.js';
import type { ChatMessage } from '../prompts.js';

const docs = generateGeneralDocuments({ count: 2000, seed: 3 });

test('the same seed gives the same general documents, a shorter count a prefix, another seed others', () => {
  assert.deepEqual(generateGeneralDocuments({ count: 2000, seed: 3 }), docs);
  assert.deepEqual(generateGeneralDocuments({ count: 50, seed: 3 }), docs.slice(0, 50));
  const other = generateGeneralDocuments({ count: 50, seed: 4 });
  assert.ok(other.filter((d, i) => d.text === docs[i]!.text).length < 5);
});

test('every kind of general document occurs, chat about a quarter of them', () => {
  const byKind = new Map<string, number>();
  for (const d of docs) byKind.set(d.kind, (byKind.get(d.kind) ?? 0) + 1);
  for (const k of GENERAL_KINDS) assert.ok((byKind.get(k) ?? 0) > 150, `${k}: ${byKind.get(k)}`);
  const chat = byKind.get('chat')! / docs.length;
  assert.ok(chat > 0.2 && chat < 0.3, `chat share ${chat}`);
});

test('general documents mention quantities but never compute: no equation, operator, answer line or \\boxed', () => {
  let withNumbers = 0;
  for (const d of docs) {
    assert.doesNotMatch(d.text, /=|####|\\boxed|answer is|Answer:|\d\s*[-+*/x]\s*\d/, `${d.id}: ${d.text}`);
    if (/\d/.test(d.text)) withNumbers++;
  }
  assert.ok(withNumbers > docs.length / 2, `only ${withNumbers} documents state a number`);
  // Distinct enough to teach language rather than a few memorised strings.
  assert.ok(new Set(docs.map((d) => d.text)).size > 0.95 * docs.length);
});

test('chat documents are exactly what Qwen2.5\'s chat template renders for their messages', () => {
  const template = new ChatTemplate(QWEN2_5_CHAT_TEMPLATE, {}, 'the Qwen2.5 template');
  const chats = docs.filter((d) => d.kind === 'chat');
  let twoRounds = 0;
  for (const d of chats.slice(0, 200)) {
    // Parse the document back into messages, independently of renderChatMl.
    const messages: ChatMessage[] = [...d.text.matchAll(/<\|im_start\|>(system|user|assistant)\n([\s\S]*?)<\|im_end\|>\n/g)]
      .map((m) => ({ role: m[1] as ChatMessage['role'], content: m[2]! }));
    assert.equal(messages[0]!.role, 'system');
    assert.equal(messages.at(-1)!.role, 'assistant');
    if (messages.length === 5) twoRounds++;
    assert.equal(template.render(messages, { addGenerationPrompt: false }), d.text);
    assert.equal(renderChatMl(messages), d.text);
  }
  assert.ok(twoRounds > 10, `two-round conversations: ${twoRounds}`);
  for (const d of docs.filter((x) => x.kind !== 'chat')) assert.doesNotMatch(d.text, /<\|/);
});

test('bad general corpus options are refused with the value named', () => {
  assert.throws(() => generateGeneralDocuments({ count: -1, seed: 1 }), (e: unknown) => e instanceof UserError && /count .* -1/.test(e.message));
  assert.throws(() => generateGeneralDocuments({ count: 1, seed: 2 ** 32 }), (e: unknown) => e instanceof UserError && /seed/.test(e.message));
});
