import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, parameterCount } from '../../src/model/config.js';
import { loadTokenizer } from '../../src/tokenizer/hf-tokenizer.js';
import { testTempDir } from '../../src/testing/tmp.js';
import { UserError } from '../../src/util/errors.js';
import { packedForTorch } from './paper-run.js';
import {
  DEFAULT_PAPER_SIZES, GSM8K_LIKE_QUESTIONS, PAPER_ROW_IDS, QWEN25_0_5B_CONFIG, QWEN25_MATH_1_5B_CONFIG, paperModel, paperPrompts, paperRows, projectPaperRun,
  projectStage1FromPhases, qwenTokenizerDir, selectPaperRows, writePaperModelDir,
} from './paper.js';
import type { RowSpec } from './spec.js';

test('the paper configs are Qwen2.5-Math-1.5B (1.54B parameters) and Qwen2.5-0.5B (0.49B), tied, on one vocabulary', () => {
  const expert = parseConfig({ ...QWEN25_MATH_1_5B_CONFIG }, 'expert'), amateur = parseConfig({ ...QWEN25_0_5B_CONFIG }, 'amateur');
  // Qwen's model cards: 1.54B and 0.49B parameters with the tied embedding counted once.
  assert.equal((parameterCount(expert) / 1e9).toFixed(2), '1.54');
  assert.equal((parameterCount(amateur) / 1e9).toFixed(2), '0.49');
  assert.equal(expert.vocabSize, 151936);
  assert.equal(amateur.vocabSize, expert.vocabSize);
  assert.deepEqual([expert.hiddenSize, expert.numLayers, expert.numHeads, expert.numKvHeads, expert.intermediateSize, expert.tieWordEmbeddings], [1536, 28, 12, 2, 8960, true]);
  assert.deepEqual([amateur.hiddenSize, amateur.numLayers, amateur.numHeads, amateur.numKvHeads, amateur.intermediateSize, amateur.tieWordEmbeddings], [896, 24, 14, 2, 4864, true]);
  assert.equal(QWEN25_MATH_1_5B_CONFIG.rope_theta, 10000);
  assert.equal(QWEN25_0_5B_CONFIG.rope_theta, 1000000);
});

test('a paper model directory holds the config and Qwen\'s tokenizer, whose chat template makes the stage-1 prompts', () => {
  const dir = testTempDir('paper-model-');
  writePaperModelDir(dir, { ...QWEN25_MATH_1_5B_CONFIG }, qwenTokenizerDir());
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), { ...QWEN25_MATH_1_5B_CONFIG });
  assert.ok(existsSync(join(dir, 'tokenizer.json')) && existsSync(join(dir, 'tokenizer_config.json')));
  const tok = loadTokenizer(dir);
  const prompts = paperPrompts(tok);
  assert.equal(prompts.length, GSM8K_LIKE_QUESTIONS.length);
  const text = tok.decode(prompts[1]!);
  assert.ok(text.startsWith('<|im_start|>system\nPlease reason step by step.<|im_end|>\n<|im_start|>user\nA robe takes 2 bolts'), text);
  assert.ok(text.endsWith('<|im_start|>assistant\n'), text);
  // Qwen's ids for its ChatML markers, and every id inside the models' vocabulary.
  assert.equal(prompts[1]![0], 151644);
  assert.ok(prompts.flat().every((id) => Number.isInteger(id) && id >= 0 && id < QWEN25_MATH_1_5B_CONFIG.vocab_size));
});

const prompts = [[1, 2, 3], [4, 5, 6, 7, 8]];
const rows = paperRows({ ...DEFAULT_PAPER_SIZES, reps: 2, slowReps: 1, sampleNewTokens: 16, generateNewTokens: 8 }, prompts, packedForTorch);

test('paper rows: every id once, stage 1 against PyTorch single-pass and per-step, LoRA against packed and per-record, sizes as asked', () => {
  assert.deepEqual(rows.map((r) => r.id), [...PAPER_ROW_IDS]);
  const sample = rows.find((r) => r.id === 'paper-sample')!;
  assert.equal(sample.model, 'expert');
  const s = sample.spec as Extract<RowSpec, { kind: 'sample' }>;
  assert.deepEqual(s.prompts, prompts);
  assert.equal(s.newTokens, 16);
  assert.deepEqual(s.amateur, { ...QWEN25_0_5B_CONFIG });
  assert.deepEqual(sample.baselines.map((b) => [(b.spec as { reference?: string }).reference, b.reps]), [['single-pass', 2], ['per-step', 1]]);
  // Ours runs what `sample` runs by default (no Expert re-score); the re-score row is the same work with it, our side only.
  assert.equal(s.expertRescore, undefined);
  const rescore = rows.find((r) => r.id === 'paper-sample-rescore')!;
  assert.deepEqual(rescore.spec, { ...s, expertRescore: true });
  assert.deepEqual(rescore.baselines, []);
  assert.match(sample.title, /ours: Expert logits from decoding/);
  const gen = rows.find((r) => r.id === 'paper-generate-b32')!.spec as Extract<RowSpec, { kind: 'generate' }>;
  assert.deepEqual([gen.batch, gen.newTokens, gen.prompt], [32, 8, DEFAULT_PAPER_SIZES.generatePrompt]);
  assert.deepEqual(rows.filter((r) => r.id.startsWith('paper-generate')).map((r) => [r.reps, r.baselines[0]!.reps]), [[2, 2], [1, 1]]);
  assert.equal(rows.find((r) => r.id === 'paper-score')!.model, 'amateur');
  const lora = rows.find((r) => r.id === 'paper-lora')!;
  assert.deepEqual(lora.baselines.map((b) => (b.spec as { reference?: string }).reference), ['packed', 'per-record']);
});

test('--paper-slow-reps 0 leaves out the authors\' baselines (per-step stage 1, per-record LoRA) and keeps one repetition of generation at batch 32', () => {
  const fast = paperRows({ ...DEFAULT_PAPER_SIZES, slowReps: 0 }, prompts, packedForTorch);
  assert.deepEqual(fast.find((r) => r.id === 'paper-sample')!.baselines.map((b) => b.label), ['PyTorch single-pass (decode, then 1 pass of each model)']);
  assert.deepEqual(fast.find((r) => r.id === 'paper-lora')!.baselines.map((b) => b.label), ['PyTorch packed']);
  assert.equal(fast.find((r) => r.id === 'paper-generate-b32')!.reps, 1);
});

test('the LoRA row trains one optimiser step of 8 × 2 records per repetition, and PyTorch\'s packed variant gets exactly our packed sequences', () => {
  const lora = rows.find((r) => r.id === 'paper-lora')!;
  const spec = lora.spec as Extract<RowSpec, { kind: 'train-lightreasoner' }>;
  assert.equal(spec.recordsPerRepetition, 16);
  assert.equal(spec.records.length % 16, 0);
  const packed = (lora.baselines[0]!.spec as typeof spec).packed!;
  assert.equal(packed.length, spec.records.length / 16); // windows
  for (const window of packed) {
    assert.equal(window.length, 1); // one optimiser step per window
    assert.equal(window[0]!.flat().reduce((n, seq) => n + seq.targets.length, 0), 16);
    for (const seq of window[0]!.flat()) {
      const traj = spec.trajectories.find((t) => seq.ids.every((id, i) => t[i] === id));
      assert.ok(traj, 'a packed sequence is a prefix of a trajectory');
      assert.ok(seq.targets.every((t) => t.row >= 0 && t.row < seq.ids.length));
    }
  }
  // Fewer tokens through the model than one sequence per record: the point of packing.
  const packedTokens = packed.flat(3).reduce((n, s) => n + s.ids.length, 0);
  const perRecordTokens = spec.records.reduce((n, r) => n + r.length, 0);
  assert.ok(packedTokens < perRecordTokens, `${packedTokens} < ${perRecordTokens}`);
});

test('--paper-rows selects rows in table order and names the known rows when one is unknown', () => {
  assert.deepEqual(selectPaperRows(rows, 'paper-lora,paper-score').map((r) => r.id), ['paper-score', 'paper-lora']);
  assert.equal(selectPaperRows(rows, undefined).length, rows.length);
  assert.throws(() => selectPaperRows(rows, 'paper-lora,nope'), (e: unknown) => e instanceof UserError && /"nope".*paper-score/.test(e.message));
});

test('the projection scales stage 1 linearly to 1,000 questions of 128 tokens and adds 1,000 LoRA steps', () => {
  const p = projectPaperRun({ sampleSeconds: 80, sampleQuestions: 8, sampleNewTokens: 32, loraStepSeconds: 9 });
  assert.equal(p.stage1Seconds, 1000 * 10 * 4);
  assert.equal(p.stage2Seconds, 9000);
  assert.equal(p.totalSeconds, 49000);
  assert.match(p.formula, /1000 q × \(80\.0 s ÷ 8 q\) × \(128 ÷ 32 tok\) \+ 1000 steps × 9\.00 s = 11\.11 h \+ 2\.50 h = 13\.61 h/);
});

test('paper models draw transformers-scale random weights: unit norms, zero biases, matrices with std ≈ 0.02', () => {
  const cfg = { ...QWEN25_0_5B_CONFIG, vocab_size: 512, hidden_size: 64, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 96 };
  const m = paperModel(cfg, 1);
  const L = m.params.layers[0]!;
  assert.ok(L.inputNorm.every((x) => x === 1));
  assert.ok(L.q_proj.bias!.every((x) => x === 0));
  const w = m.params.embed;
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
  assert.ok(Math.abs(std - 0.02) < 0.002, `std ${std}`);
  assert.notDeepEqual(Array.from(L.q_proj.weight.subarray(0, 8)), Array.from(L.k_proj.weight.subarray(0, 8)));
  assert.deepEqual(Array.from(paperModel(cfg, 1).params.embed.subarray(0, 16)), Array.from(w.subarray(0, 16)));
});

test('the phase projection keeps the prefill once, scales decode steps by 128 ÷ T and teacher-forced scoring by prompt + new ids', () => {
  // P̄ 64, T 16: the re-score's prompt share is 64/80 of 20 s = 16 s of prefill; decode steps 30 − 16 = 14 s.
  const phases = { 'Expert decode': 30, 'Expert re-score': 20, 'Amateur score': 8, 'contrast + records': 2 };
  const p = projectStage1FromPhases({ phases, questions: 8, newTokens: 16, meanPrompt: 64 });
  const chunk = 16 + 14 * 8 + 30 * (192 / 80);
  assert.ok(Math.abs(p.stage1Seconds - 125 * chunk) < 1e-6, `${p.stage1Seconds}`);
  // At the paper's own T nothing is scaled.
  const same = projectStage1FromPhases({ phases, questions: 8, newTokens: 128, meanPrompt: 64 });
  assert.ok(Math.abs(same.stage1Seconds - 125 * 60) < 1e-6);
});

test('without an Expert re-score the phase projection scales the whole decode phase (an upper bound) and says so', () => {
  const phases = { 'Expert decode': 30, 'Amateur score': 8, 'contrast + records': 2 };
  const p = projectStage1FromPhases({ phases, questions: 8, newTokens: 16, meanPrompt: 64 });
  assert.ok(Math.abs(p.stage1Seconds - 125 * (30 * 8 + 10 * (192 / 80))) < 1e-6, `${p.stage1Seconds}`);
  assert.match(p.formula, /prefill \(not separated: no re-score to estimate it from\)/);
  assert.ok(Math.abs(projectStage1FromPhases({ phases, questions: 8, newTokens: 128, meanPrompt: 64 }).stage1Seconds - 125 * 40) < 1e-6);
});
