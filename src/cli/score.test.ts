import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyModelDir } from '../model/testing.js';
import { loadModel } from '../model/load.js';
import { packSequences } from '../model/transformer.js';
import { parseIds, topK, type ScoreReport } from './score.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'bin/lightreasoner.js');
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, 'score', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, LIGHTREASONER_QUIET: '1' }, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const json = (...args: string[]): ScoreReport => {
  const r = cli(...args, '--json');
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ScoreReport;
};

const model = tinyModelDir({ hidden: 32, layers: 2 }, 21);
after(() => rmSync(model, { recursive: true, force: true }));
const text = 'Ken has 12 apples. How many apples?';

test('--json gives each token\'s log-probability given its prefix alone, its rank and the top-k next tokens', async () => {
  const r = json('--model', model, '--text', text, '--top-k', '3');
  const lm = await loadModel(model);
  const ids = lm.tokenizer.encode(text);
  assert.deepEqual(r.tokens.map((t) => t.id), ids);
  assert.deepEqual(r.tokens.map((t) => t.text), ids.map((id) => lm.tokenizer.decode([id])));
  assert.equal(r.tokens[0]!.logprob, null);
  assert.equal(r.tokens[0]!.rank, null);
  const V = lm.model.config.vocabSize;
  for (let t = 1; t < ids.length; t++) {
    // Reference: a separate forward over the prefix, log-softmax in float64.
    const logits = lm.model.forward(packSequences([ids.slice(0, t)]), { logitRows: 'last' }).logits;
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[v]!);
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[v]! - m);
    const lp = (v: number): number => logits[v]! - m - Math.log(z);
    const tok = r.tokens[t]!;
    assert.ok(Math.abs(tok.logprob! - lp(ids[t]!)) < 1e-5, `position ${t}`);
    let rank = 1;
    for (let v = 0; v < V; v++) if (logits[v]! > logits[ids[t]!]!) rank++;
    assert.equal(tok.rank, rank);
    const prev = r.tokens[t - 1]!.next;
    assert.equal(prev.length, 3);
    const best = Array.from({ length: V }, (_, v) => v).sort((a, b) => logits[b]! - logits[a]! || a - b).slice(0, 3);
    assert.deepEqual(prev.map((n) => n.id), best);
    prev.forEach((n) => assert.ok(Math.abs(n.logprob - lp(n.id)) < 1e-5));
    assert.deepEqual(prev.map((n) => n.text), best.map((id) => lm.tokenizer.decode([id])));
  }
  const total = r.tokens.slice(1).reduce((a, t) => a + t.logprob!, 0);
  assert.ok(Math.abs(r.totalLogprob - total) < 1e-9);
  assert.ok(Math.abs(r.perplexity! - Math.exp(-total / (ids.length - 1))) < 1e-9 * r.perplexity!);
  assert.equal(r.model, model);
  assert.equal(r.adapter, null);
});

test('--ids scores ids as given, --top-k at least the vocabulary lists every token (a distribution), --chat applies the chat template', async () => {
  const lm = await loadModel(model);
  const ids = lm.tokenizer.encode(text);
  const byIds = json('--model', model, '--ids', ids.join(','), '--top-k', '100000');
  const byText = json('--model', model, '--text', text, '--top-k', '100000');
  assert.deepEqual(byIds, byText);
  for (const t of byIds.tokens) {
    assert.equal(t.next.length, lm.model.config.vocabSize);
    const sum = t.next.reduce((a, n) => a + Math.exp(n.logprob), 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `position ${t.position} sums to ${sum}`);
    for (let k = 1; k < t.next.length; k++) assert.ok(t.next[k - 1]!.logprob >= t.next[k]!.logprob);
  }
  const chat = json('--model', model, '--text', text, '--chat', '--system', 'Be brief.', '--top-k', '1');
  const want = lm.tokenizer.encodeChat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: text }], { addGenerationPrompt: true });
  assert.deepEqual(chat.tokens.map((t) => t.id), want);
  assert.equal(chat.tokens[0]!.text, '<|im_start|>');
});

test('the default output is a table with one row per position', async () => {
  const r = cli('--model', model, '--text', text, '--top-k', '2');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  const n = json('--model', model, '--text', text, '--top-k', '2');
  assert.equal(lines[0], `model   ${model}`);
  assert.match(lines[1]!, new RegExp(`^tokens  ${n.tokens.length}; total log-probability ${n.totalLogprob.toFixed(4).replace('.', '\\.')} over ${n.tokens.length - 1} predicted tokens \\(mean -[\\d.]+, perplexity [\\d.]+\\)$`));
  assert.match(lines[3]!, /^\s+pos\s+id\s+token\s+logprob\s+rank\s+top-2 next tokens \(logprob\)$/);
  const rows = lines.slice(4);
  assert.equal(rows.length, n.tokens.length);
  assert.match(rows[0]!, /^\s+0\s+\d+\s+".*"\s+-\s+-\s+".*" -[\d.]+\s+".*" -[\d.]+$/);
  rows.slice(1).forEach((row, k) => {
    const t = n.tokens[k + 1]!;
    assert.ok(row.includes(` ${t.logprob!.toFixed(4)} `) && row.includes(` ${t.rank} `), row);
  });
});

test('mistakes are refused with a message naming the option', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--model', model], /exactly one of --text TEXT or --ids/],
    [['--model', model, '--text', 'a', '--ids', '1'], /exactly one of --text TEXT or --ids/],
    [['--model', model, '--ids', '1,2', '--chat'], /--chat formats --text/],
    [['--model', model, '--text', 'a', '--system', 'x'], /--system sets the system message of --chat/],
    [['--model', model, '--ids', '1,x'], /--ids: "x" is not a non-negative integer/],
    [['--model', model, '--ids', '1,320'], /token id 320 is outside the vocabulary of .* \[0, 320\)/],
    [['--model', model, '--ids', Array.from({ length: 513 }, () => '5').join(',')], /the input has 513 tokens; the context window of .* is 512/],
    [['--model', model, '--text', 'a', '--top-k', '0'], /--top-k must be a positive integer, got "0"/],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('topK returns the k largest, largest first, ties by smaller id; parseIds takes commas or spaces', async () => {
  const lp = Float32Array.from([-3, -1, -2, -1, -5]);
  assert.deepEqual(topK(lp, 5, 3), [{ id: 1, logprob: -1 }, { id: 3, logprob: -1 }, { id: 2, logprob: -2 }]);
  assert.deepEqual(topK(lp, 5, 9).map((e) => e.id), [1, 3, 2, 0, 4]);
  assert.deepEqual(parseIds('1, 2,3 4'), [1, 2, 3, 4]);
});
