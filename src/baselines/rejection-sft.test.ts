import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { keepCorrect, runRejectionSft, temperatureChooser, type SftJob } from './rejection-sft.js';
import { testTempDir } from '../testing/tmp.js';
import { loadModel } from '../model/load.js';
import { completionExample, completionSequence } from '../train/completion.js';
import { Rng } from '../util/rng.js';
import { tinyModelDir } from '../model/testing.js';
import type { GoldQuestion } from '../data/questions.js';
import { fileURLToPath } from 'node:url';
import { generateProblems, writeGsm8kJsonl } from '../data/synthetic/index.js';
import { spawnSync } from 'node:child_process';

const bin = fileURLToPath(new URL('../../../bin/lightreasoner.js', import.meta.url));

test('rejection keeps only completions whose answer matches the gold (unfinished ones never), deduplicated on request', async () => {
  const comps = [[1, 2], [3], [1, 2], [4], [5]];
  const answers = ['12', '7', '12', null, '12.0'];
  assert.deepEqual(keepCorrect(comps, answers, '12', true), { kept: [[1, 2], [5]], correct: 3 });
  assert.deepEqual(keepCorrect(comps, answers, '12', false), { kept: [[1, 2], [1, 2], [5]], correct: 3 });
  assert.deepEqual(keepCorrect(comps, answers, '99', true), { kept: [], correct: 0 });
});

test('the SFT loss masks the prompt: targets are exactly the completion tokens, end-of-turn included', async () => {
  const dir = tinyModelDir({ hidden: 16, layers: 1 }, 3);
  const lm = await loadModel(dir);
  const messages = [{ role: 'system' as const, content: 'Please reason step by step.' }, { role: 'user' as const, content: 'Ken has 12 apples.' }, { role: 'assistant' as const, content: 'He has 12.\nThe answer is \\boxed{12}.' }];
  const e = completionExample(lm.tokenizer, messages, lm.stopIds);
  const completion = Array.from(e.completion);
  assert.deepEqual(Array.from(e.prompt), lm.tokenizer.encodeChat(messages.slice(0, 2), { addGenerationPrompt: true }));
  assert.ok(lm.stopIds.includes(completion.at(-1)!), 'the completion ends with the end-of-turn token');
  assert.equal(lm.tokenizer.decode(completion, { skipSpecialTokens: true }), messages[2]!.content);
  const seq = completionSequence(e);
  assert.equal(seq.targets.length, e.completion.length);
  seq.targets.forEach((t, k) => {
    assert.equal(t.row, e.prompt.length - 1 + k);
    assert.deepEqual(Array.from(t.ids), [e.completion[k]]);
  });
  assert.ok(seq.targets.every((t) => t.row >= e.prompt.length - 1), 'no target inside the prompt');
});

test('temperature sampling draws in proportion to softmax(logits / T)', async () => {
  const rng = new Rng(5);
  const choose = temperatureChooser(0.5, rng);
  const z = Float32Array.from([0, Math.log(2) * 0.5, -50]); // softmax(z / 0.5) ∝ [1, 2, ~0]
  const counts = [0, 0, 0];
  for (let i = 0; i < 6000; i++) counts[choose([z], [0], 3, 0)]!++;
  assert.equal(counts[2], 0);
  assert.ok(Math.abs(counts[1]! / counts[0]! - 2) < 0.2, `${counts}`);
});

const bundledExpert = fileURLToPath(new URL('../../../models/expert', import.meta.url));

test('rejection-sampling SFT end to end on the bundled Expert: samples, keeps exactly the matching solutions, trains an adapter', async () => {
  const out1 = join(testTempDir('lr-sft-'), 'a'), out2 = join(testTempDir('lr-sft-'), 'b');
  const problems = generateProblems({ split: 'train', count: 6, seed: 3 });
  const base = (questions: GoldQuestion[], out: string): SftJob => ({
    model: bundledExpert, questions, inputPath: 'q.jsonl', out, resume: false,
    samplesPerQuestion: 4, temperature: 1, maxNewTokens: 120, genBatchSize: 8, decodeChunks: 1, prompt: 'qwen25-math-cot', dedupe: true,
    lora: { r: 2, loraAlpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'] }, lr: 1e-3, batchSize: 2, gradAccum: 1, maxSteps: 3, saveSteps: 0, seed: 1,
    warmupSteps: 0, schedule: 'linear', weightDecay: 0, maxGradNorm: 1,
  });
  type Line = { answers: Array<string | null>; kept: number[][] };
  const read = (out: string) => readFileSync(join(out, 'sft_samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
  // No gold can match: every sample is rejected and the run says so instead of training on nothing.
  const unreachable = problems.map((p, i) => ({ id: `q${i}`, line: i + 1, question: p.question, gold: '-987654' }));
  await assert.rejects(runRejectionSft(base(unreachable, out1)), /kept no correct solution/);
  // Training settings are checked before the sampling stage, not after minutes of it.
  const outLr = join(testTempDir('lr-sft-'), 'lr');
  await assert.rejects(runRejectionSft({ ...base(unreachable, outLr), lr: 0 }), /--lr must be a positive number, got 0/);
  assert.ok(!existsSync(join(outLr, 'sft_samples.jsonl')), 'nothing sampled');
  // Zero chunks (or questions per chunk) would never advance the sampling loop: refused by name.
  await assert.rejects(runRejectionSft({ ...base(unreachable, outLr), decodeChunks: 0 }), /--decode-chunks must be a positive integer, got 0/);
  await assert.rejects(runRejectionSft({ ...base(unreachable, outLr), genBatchSize: 0 }), /--gen-batch-size must be a positive integer, got 0/);
  // A question far beyond the context window is refused before anything is sampled, naming its line.
  const outHuge = join(testTempDir('lr-sft-'), 'huge');
  await assert.rejects(runRejectionSft(base([{ id: 'huge', line: 7, question: 'Ken has 3 apples. '.repeat(200_000), gold: '1' }], outHuge)), /q\.jsonl:7: question "huge" does not fit .*context/);
  assert.ok(!existsSync(join(outHuge, 'sft_samples.jsonl')), 'nothing sampled');
  const lines = read(out1);
  assert.equal(lines.length, 6);
  assert.ok(lines.every((l) => l.answers.length === 4 && l.kept.length === 0));
  // The real golds: the Expert (about a fifth right greedily) gets some of 24 samples right.
  const golds = problems.map((p) => String(p.answerValue));
  // While it trains, a real second `sft` process on the same --out is refused naming this one.
  const questionsFile = join(testTempDir('lr-sft-'), 'q.jsonl');
  writeGsm8kJsonl(questionsFile, problems);
  let second: ReturnType<typeof spawnSync> | null = null;
  const r = await runRejectionSft({
    ...base(problems.map((p, i) => ({ id: `q${i}`, line: i + 1, question: p.question, gold: golds[i]! })), out2),
    onProgress: (e) => {
      if (e.stage === 'sft train' && e.done === 1 && !second) {
        second = spawnSync(process.execPath, [bin, 'sft', '--model', bundledExpert, '--input', questionsFile, '--out', out2, '--max-steps', '3'], { encoding: 'utf8', env: { ...process.env, LIGHTREASONER_QUIET: '1' } });
      }
    },
  });
  const refused = second as ReturnType<typeof spawnSync> | null;
  assert.ok(refused);
  assert.equal(refused.status, 2, String(refused.stderr));
  assert.match(String(refused.stderr), new RegExp(`b is being written by another run: pid ${process.pid} on `));
  assert.equal(readFileSync(join(out2, 'training_log.jsonl'), 'utf8').trim().split('\n').length, 3, 'one log line per step');
  assert.equal(read(out2).length, 6, 'one sample line per question');
  const lines2 = read(out2);
  assert.deepEqual(lines2.map((l) => l.answers), lines.map((l) => l.answers), 'same seed, same samples');
  const expectedKept = lines2.map((l, i) => (l.answers.some((a) => a === golds[i]) ? 1 : 0));
  assert.deepEqual(lines2.map((l) => (l.kept.length > 0 ? 1 : 0)), expectedKept, 'a question keeps a solution exactly when one of its samples is right');
  assert.ok(r.keptTrajectories > 0, `some sample is right: ${JSON.stringify(lines2.map((l) => l.answers))} vs ${golds.join(',')}`);
  assert.equal(r.keptTrajectories, lines2.reduce((a, l) => a + l.kept.length, 0));
  assert.equal(r.steps, 3);
  assert.ok(r.tunedTokens > 0);
});

test('SFT sampling decodes several chunks together and samples exactly what it samples one chunk at a time', async () => {
  // Each chunk of --gen-batch-size questions has its own random stream: decoding chunks side by side
  // (3 chunks of 2 questions here: in groups of 1, 2 — one group short — and 3) changes no sample.
  const problems = generateProblems({ split: 'train', count: 6, seed: 11 });
  const questions = problems.map((p, i) => ({ id: `q${i}`, line: i + 1, question: p.question, gold: String(p.answerValue) }));
  const samples = async (decodeChunks: number): Promise<string> => {
    const out = join(testTempDir('lr-sft-chunks-'), 'o');
    await runRejectionSft({
      model: bundledExpert, questions, inputPath: 'q.jsonl', out, samplesPerQuestion: 3, temperature: 1, maxNewTokens: 40, genBatchSize: 2, decodeChunks,
      prompt: 'qwen25-math-cot', dedupe: true, lora: { r: 2, loraAlpha: 4, dropout: 0, targets: ['q_proj'] }, lr: 1e-3, batchSize: 2, gradAccum: 1, maxSteps: 1,
      saveSteps: 0, seed: 4, warmupSteps: 0, schedule: 'linear', weightDecay: 0, maxGradNorm: 1,
    }).catch((e: unknown) => {
      if (!(e instanceof Error && /kept no correct solution/.test(e.message))) throw e;
    });
    return readFileSync(join(out, 'sft_samples.jsonl'), 'utf8');
  };
  const one = await samples(1);
  assert.equal(one.trim().split('\n').length, 6);
  assert.equal(await samples(2), one);
  assert.equal(await samples(3), one);
});
