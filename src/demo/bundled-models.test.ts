/**
 * The bundled tiny Expert and Amateur (models/): they load through the same loader as any Hugging
 * Face checkpoint, share one tokenizer, and write well-formed solutions; the demo runs end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../model/load.js';
import { generateGreedy } from '../model/generate.js';
import { assertSameVocabulary } from '../tokenizer/index.js';
import { generateProblems } from '../data/synthetic/index.js';
import { buildMessages, resolvePrompt } from '../eval/prompts.js';
import { extractAnswer } from '../eval/extract.js';
import { testTempDir } from '../testing/tmp.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const expertDir = join(root, 'models', 'expert'), amateurDir = join(root, 'models', 'amateur');

test('the bundled models load, share a tokenizer, and write well-formed boxed solutions', async () => {
  const expert = await loadModel(expertDir), amateur = await loadModel(amateurDir);
  assert.equal(expert.config.architecture, 'qwen2');
  assertSameVocabulary(expert.tokenizer, amateur.tokenizer, 'expert', 'amateur');
  for (const f of ['README.md', 'config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    assert.ok(existsSync(join(expertDir, f)) && existsSync(join(amateurDir, f)), `${f} in both model directories`);
  }
  const problems = generateProblems({ split: 'dev', count: 8, seed: 99 });
  const preset = resolvePrompt('qwen25-math-cot');
  for (const lm of [expert, amateur]) {
    const prompts = problems.map((p) => lm.tokenizer.encodeChat(buildMessages(preset, p.question), { addGenerationPrompt: true }));
    const gens = generateGreedy(lm.model, prompts, { maxNewTokens: 200, stopIds: lm.stopIds, batchSize: 8 });
    for (const g of gens) {
      assert.equal(g.finish, 'stop', `${lm.dir}: stops at the end of its turn`);
      const text = lm.tokenizer.decode(g.tokens, { skipSpecialTokens: true });
      assert.equal(extractAnswer(text).rule, 'boxed', `${lm.dir}: puts the answer in \\boxed{}: ${text}`);
      assert.match(text, /\d+ [-+*/] \d+ = \d+/, `${lm.dir}: writes worked steps`);
    }
  }
});

test('demo --quick runs end to end and its table agrees with its result files', async () => {
  const out = join(testTempDir('lr-demo-'), 'demo');
  const bin = join(root, 'bin', 'lightreasoner.js');
  const r = spawnSync(process.execPath, [bin, 'demo', '--quick', '--out', out], { encoding: 'utf8', env: { ...process.env, LIGHTREASONER_QUIET: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| Expert \+ LightReasoner \|/);
  for (const f of ['demo.md', 'demo.json', 'demo.svg', 'samples.jsonl', 'adapter/adapter_model.safetensors', 'expert-lightreasoner/model.safetensors']) {
    assert.ok(existsSync(join(out, f)), f);
  }
  const report = JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')) as { rows: Array<{ label: string; correct: number; count: number; accuracy: number }> };
  const file: Record<string, string> = { Amateur: 'amateur', Expert: 'expert', 'Expert + CD': 'expert-cd', 'Expert + SFT': 'expert-sft', 'Expert + LightReasoner': 'expert-lightreasoner' };
  for (const row of report.rows) {
    const results = readFileSync(join(out, 'results', `${file[row.label]}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { correct: boolean });
    assert.equal(row.count, results.length, row.label);
    assert.equal(row.correct, results.filter((x) => x.correct).length, row.label);
    assert.equal(row.accuracy, row.correct / row.count);
  }
  const acc = Object.fromEntries(report.rows.map((x) => [x.label, x.accuracy]));
  assert.ok(acc.Expert! > acc.Amateur!, 'the bundled Expert beats the bundled Amateur (the pairing the method needs)');
  assert.match(readFileSync(join(out, 'demo.svg'), 'utf8'), /^<svg[^>]*>[\s\S]*<\/svg>$/);
});
