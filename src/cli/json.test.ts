/**
 * One CLI convention (issue 12, item 9): every command prints its end-of-run summary as one JSON
 * object on stdout with --json, each subcommand's --help lists the global options, and the text
 * summaries never print figures that mean nothing (overlapping loss windows, a speed of a rerun
 * that had nothing to do). Everything runs on tiny models, in this process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliRun } from '../testing/cli.js';
import { testTempDir } from '../testing/tmp.js';
import { tinyModelDir } from '../model/testing.js';
import { loadModel } from '../model/load.js';
import { writeTinySamples } from '../train/testing.js';
import { WORLDS } from '../demo/worlds.js';
import { buildProgram } from './index.js';
import { formatTrainReport } from './train.js';
import { formatSftReport } from './sft.js';
import type { TrainReport } from '../train/train-lora.js';
import type { SftReport } from '../baselines/rejection-sft.js';
import { generateProblems, writeGsm8kJsonl } from '../data/synthetic/index.js';
import { bundledModel } from '../util/bundled.js';

const work = testTempDir('lr-cli-json-');
const expert = tinyModelDir({ hidden: 32, layers: 1 }, 51);
const amateur = tinyModelDir({ hidden: 32, layers: 1 }, 52);

/** The one JSON object a --json run printed, after checking it succeeded and has `keys`. */
function summary(r: CliRun, keys: readonly string[], what: string): Record<string, unknown> {
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  const o = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const k of keys) assert.ok(k in o, `${what} --json lacks "${k}": ${Object.keys(o).join(', ')}`);
  return o;
}

test('every subcommand offers --json and its --help lists the global --threads', async () => {
  const program = buildProgram();
  assert.ok(program.commands.length >= 13);
  for (const c of program.commands) {
    const help = c.helpInformation();
    assert.match(help, /Global Options:[\s\S]*--threads <n>/, c.name());
    assert.match(help, /--json\b/, c.name());
  }
  const r = await runCli(['sample', '--help']);
  assert.equal(r.status, 0);
  const flat = r.stdout.replace(/\s+/g, ' ');
  assert.match(flat, /Global Options:.*--threads <n> OpenBLAS threads/);
  assert.match(flat, /--stats-json <file> also write the end-of-run statistics \(the object --json prints/);
});

test('help texts show the defaults of the jobs\' settings', async () => {
  const help = (name: string): string => buildProgram().commands.find((c) => c.name() === name)!.helpInformation().replace(/\s+/g, ' ');
  assert.match(help('pretrain'), /--hidden <n> hidden size \(default: 256\)/);
  assert.match(help('demo'), new RegExp(`--steps <n> LightReasoner's LoRA training steps \\(default ${WORLDS.base.lightreasoner.steps}( \\(base\\), ${WORLDS.instruct.lightreasoner.steps} \\(instruct\\))?; 60 with --quick\\)`));
  assert.match(help('demo'), /--world <name> which bundled pair: base .* or instruct .* \(default base\)/);
  assert.match(help('sft'), /--samples-per-question <k> solutions sampled per question \(default: "4"\)/);
  assert.match(help('serve'), /--max-logprobs <k> .* \(default: "20"\)/);
  assert.match(help('eval'), /--cd-alpha <x> contrastive decoding plausibility threshold alpha \(default 0\.1\)/);
});

test('doctor, make-data, train-tokenizer and pretrain print their summaries as JSON with --json; pretrain prints text by default', async () => {
  summary(await runCli(['doctor', '--json']), ['lightreasoner', 'node', 'platform', 'cpu', 'cores', 'engine', 'packages'], 'doctor');

  const data = join(work, 'train.jsonl');
  const made = summary(await runCli(['make-data', '--split', 'train', '--count', '40', '--out', data, '--json']), ['out', 'split', 'count', 'seed', 'difficulty', 'characters'], 'make-data');
  assert.equal(made.count, 40);
  assert.equal(made.seed, 1);
  // No problems: no character range made of nothing.
  const none = await runCli(['make-data', '--split', 'dev', '--count', '0', '--out', join(work, 'none.jsonl')]);
  assert.equal(none.status, 0, none.stderr);
  assert.equal(none.stderr.trim(), `wrote 0 dev problems (seed 1) to ${join(work, 'none.jsonl')}`);
  assert.equal(summary(await runCli(['make-data', '--split', 'dev', '--count', '0', '--out', join(work, 'none.jsonl'), '--json']), ['characters'], 'make-data').characters, null);

  const tokDir = join(work, 'tokenizer');
  const tok = summary(await runCli(['train-tokenizer', '--input', data, '--vocab-size', '300', '--chat', '--out', tokDir, '--json']),
    ['inputs', 'out', 'tokenizerJson', 'tokenizerConfigJson', 'vocabSize', 'requestedVocabSize', 'specialTokens', 'fingerprint', 'seconds', 'stats'], 'train-tokenizer');
  assert.equal(tok.tokenizerJson, join(tokDir, 'tokenizer.json'));
  assert.ok(existsSync(join(tokDir, 'tokenizer.json')));

  const out = join(work, 'pretrained');
  const tiny = ['pretrain', '--tokenizer', tokDir, '--train', data, '--out', out, '--hidden', '16', '--layers', '1', '--heads', '2', '--kv-heads', '1',
    '--intermediate', '32', '--max-positions', '1024', '--steps', '2', '--batch-size', '2', '--warmup-steps', '0', '--save-steps', '0', '--eval-steps', '0'];
  const first = await runCli(tiny);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /^pretrained .*pretrained: \d+ parameters on 40 training examples \(conversations or text windows\); steps 2 \(2 run here\)\nloss {6}[\d.]+ at the last step\ndev {7}not measured \(no --dev\)/);
  assert.throws(() => JSON.parse(first.stdout), 'text, not JSON, by default');
  const written = readFileSync(join(out, 'pretrain_summary.json'), 'utf8');
  // Started again on the finished run: nothing to do, and the summary of the run that trained it is
  // printed and kept, not overwritten with empty figures.
  const againRun = await runCli([...tiny, '--json']);
  const again = summary(againRun, ['out', 'parameters', 'examples', 'steps', 'resumedFrom', 'stepsRun', 'tokens', 'seconds', 'finalLoss', 'devAccuracy', 'started', 'command'], 'pretrain');
  assert.match(againRun.stderr, /already holds the finished run \(2 steps\); nothing was left to do/);
  assert.equal(again.stepsRun, 2);
  assert.equal(typeof again.finalLoss, 'number');
  assert.deepEqual(again, JSON.parse(written));
  const text = await runCli(tiny);
  assert.match(text.stdout, /steps 2 \(2 run here\)\nloss {6}[\d.]+ at the last step/);
  assert.match(text.stdout, /kept .*pretrain_summary\.json \(the summary of the run that trained it\)\n$/);
  assert.doesNotMatch(text.stdout, /NaN/);
  assert.equal(readFileSync(join(out, 'pretrain_summary.json'), 'utf8'), written);
});

test('score, export-gguf, train and merge print their summaries as JSON with --json; a 5-step run compares its first 2 steps with its last 2', async () => {
  summary(await runCli(['score', '--model', expert, '--text', 'Natalia sold 48 clips', '--json']), ['model', 'adapter', 'tokens', 'totalLogprob', 'meanLogprob', 'perplexity'], 'score');
  const gguf = summary(await runCli(['export-gguf', '--model', expert, '--out', join(work, 'tiny.gguf'), '--json']), ['path', 'bytes', 'tensors', 'architecture', 'preTokenizer', 'dtype', 'model', 'adapter'], 'export-gguf');
  assert.equal(gguf.adapter, null);

  const lm = await loadModel(expert);
  const samples = writeTinySamples(testTempDir('lr-cli-json-s-'), lm.tokenizer, { vocabSize: lm.model.config.vocabSize, questions: 3, stepsPerQuestion: 3 });
  const adapter = join(work, 'adapter');
  const r = summary(await runCli(['train', '--expert', expert, '--samples', samples.samples, '--out', adapter, '--max-steps', '5', '--batch-size', '1', '--grad-accum', '1', '--save-steps', '0', '--lr', '1e-2', '--json']),
    ['out', 'data', 'steps', 'resumedFrom', 'maxSteps', 'recordsSeen', 'epochs', 'supervisedPositions', 'tunedTokens', 'forwardTokens', 'lossWindow', 'firstLoss', 'lastLoss', 'seconds', 'stepsPerSecond', 'recordsPerSecond', 'warnings'], 'train');
  assert.equal(r.steps, 5);
  assert.equal(r.lossWindow, 2);
  const log = readFileSync(join(adapter, 'training_log.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { loss: number }).loss);
  assert.ok(Math.abs((r.firstLoss as number) - (log[0]! + log[1]!) / 2) < 1e-9);
  assert.ok(Math.abs((r.lastLoss as number) - (log[3]! + log[4]!) / 2) < 1e-9);
  const text = formatTrainReport(r as unknown as TrainReport);
  assert.match(text, /loss {10}[\d.]+ \(first 2 steps\) -> [\d.]+ \(last 2 steps\)/);
  assert.doesNotMatch(text, /10 steps/);

  summary(await runCli(['merge', '--base', expert, '--adapter', adapter, '--out', join(work, 'merged'), '--json']), ['out', 'dtype', 'baseDtype', 'files', 'warning', 'modules', 'deltaNorm', 'lostFraction'], 'merge');
});

test('sft --json prints the report on the bundled Expert; the rerun of the finished run says no step was left', async () => {
  const input = join(work, 'sft-questions.jsonl');
  writeGsm8kJsonl(input, generateProblems({ split: 'train', count: 6, seed: 3 }));
  const args = ['sft', '--model', bundledModel('expert'), '--input', input, '--out', join(work, 'sft'), '--samples-per-question', '4', '--temperature', '1',
    '--max-new-tokens', '120', '--rank', '2', '--lora-alpha', '4', '--lora-dropout', '0', '--batch-size', '2', '--max-steps', '2', '--save-steps', '0', '--seed', '1'];
  const r = summary(await runCli([...args, '--json']), ['out', 'sampledProblems', 'sampledCompletions', 'correctCompletions', 'keptTrajectories', 'problemsWithData',
    'tunedTokens', 'forwardTokens', 'steps', 'lossWindow', 'firstLoss', 'lastLoss', 'samplingSeconds', 'trainingSeconds', 'seconds'], 'sft');
  assert.equal(r.steps, 2);
  assert.equal(r.lossWindow, 1);
  const again = await runCli(args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /loss {14}no step left to run/);
});

test('sft summaries: a short run compares non-overlapping loss windows, a finished rerun says nothing was left', () => {
  const base: SftReport = {
    out: 'runs/sft', sampledProblems: 6, sampledCompletions: 24, correctCompletions: 5, keptTrajectories: 5, problemsWithData: 3, tunedTokens: 300,
    forwardTokens: 900, steps: 3, lossWindow: 1, firstLoss: 2.5, lastLoss: 1.5, samplingSeconds: 1, trainingSeconds: 2, seconds: 3,
  };
  assert.match(formatSftReport(base), /loss {14}2\.5000 \(first 1 step\) -> 1\.5000 \(last 1 step\)/);
  assert.match(formatSftReport({ ...base, steps: 0, lossWindow: 0, firstLoss: NaN, lastLoss: NaN }), /loss {14}no step left to run \(the run in runs\/sft had finished\)/);
});

test('sample --json prints the statistics --stats-json writes; a rerun with nothing left says so instead of a speed', async () => {
  const input = join(work, 'questions.jsonl');
  writeFileSync(input, ['Natalia has 12 apples and buys 3 more. How many apples does she have?', 'Weng earns 12 an hour. How much for 5 hours?']
    .map((question) => `${JSON.stringify({ question })}\n`).join(''));
  const out = join(work, 'samples.jsonl'), stats = join(work, 'stats.json');
  const args = ['sample', '--expert', expert, '--amateur', amateur, '--input', input, '--out', out, '--max-new-tokens', '4', '--batch-size', '2', '--beta', '0'];
  const s = summary(await runCli([...args, '--json', '--stats-json', stats]),
    ['questions', 'skipped', 'skippedQuestions', 'generatedSteps', 'contrastedSteps', 'keptSteps', 'keptFraction', 'klPercentiles', 'meanPlausibleSetSize', 'throughput', 'resumedQuestions', 'out', 'trajectories'], 'sample');
  assert.equal(s.questions, 2);
  assert.deepEqual(JSON.parse(readFileSync(stats, 'utf8')), s, '--stats-json writes the object --json prints');
  const again = await runCli(args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /speed {6}nothing was left to do: all 2 questions were done by an earlier run/);
  assert.doesNotMatch(again.stdout, /questions\/s/);
});

test('eval --json prints the report; a rerun with everything graded says nothing was left to do', async () => {
  const input = join(work, 'test.jsonl');
  writeFileSync(input, [0, 1].map((i) => `${JSON.stringify({ id: `p${i}`, question: `Question ${i}?`, answer: `#### ${i + 2}` })}\n`).join(''));
  const out = join(work, 'results.jsonl');
  const args = ['eval', '--model', expert, '--input', input, '--out', out, '--max-new-tokens', '4'];
  const r = summary(await runCli([...args, '--json']), ['input', 'model', 'adapter', 'amateur', 'prompt', 'out', 'problems', 'graded', 'resumed', 'summary'], 'eval');
  assert.equal(r.graded, 2);
  const again = await runCli(args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /^nothing was left to do: all 2 problems of .* were already graded in/);
  assert.doesNotMatch(again.stdout, /tokens\/s/);
});

test('serve --json prints its startup line as one JSON object on one line', async () => {
  const before = process.listenerCount('SIGINT');
  const running = runCli(['serve', '--model', expert, '--port', '0', '--json']);
  // The server listens (and its SIGINT handler is in place) once the startup line is out.
  const deadline = Date.now() + 30_000;
  while (process.listenerCount('SIGINT') === before) {
    assert.ok(Date.now() < deadline, 'serve did not start');
    await new Promise((res) => setTimeout(res, 20));
  }
  process.emit('SIGINT');
  const r = await running;
  assert.equal(r.stdout.trim().split('\n').length, 1, r.stdout);
  const s = summary(r, ['model', 'adapter', 'modelName', 'url', 'host', 'port', 'maxLogprobs', 'maxBatch'], 'serve');
  assert.match(String(s.url), /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(s.maxLogprobs, 20);
});
