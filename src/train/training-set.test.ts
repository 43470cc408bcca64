import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyModelDir } from '../model/testing.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { loadTrainingSet, type TrainingSetOptions } from './training-set.js';
import { textOnly, writeJsonl, writeTinySamples } from './testing.js';
import { trajectoriesPath, type SampleRecord } from '../method/samples.js';
import { UserError } from '../util/errors.js';

const modelDir = tinyModelDir();
const tokenizer = loadTokenizer(modelDir);
const VOCAB = 320;
const root = mkdtempSync(join(tmpdir(), 'lr-trainset-'));
after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(modelDir, { recursive: true, force: true });
});
let n = 0;
const fresh = (): string => mkdtempSync(join(root, `t${n++}-`));
const opts = (over: Partial<TrainingSetOptions> = {}): TrainingSetOptions => ({ vocabSize: VOCAB, contextWindow: 512, tokenizer, systemPrompt: 'Please reason step by step.', ...over });

test('exact ids: a record trains prompt + generated[0..step) toward its soft label at the last position, one sequence per trajectory', () => {
  const s = writeTinySamples(fresh(), tokenizer, { vocabSize: VOCAB, questions: 3, stepsPerQuestion: 4 });
  const set = loadTrainingSet(s.samples, opts());
  assert.equal(set.warnings.length, 0);
  assert.equal(set.stats.exactRecords, 12);
  assert.equal(set.stats.sequences, 3);
  s.records.forEach((r, i) => {
    const t = s.trajectories[r.trajectory!]!;
    const st = set.steps[i]!;
    const want = [...t.prompt_token_ids, ...t.generated_token_ids.slice(0, r.step)];
    assert.equal(st.length, want.length);
    assert.deepEqual([...set.sequences.get(st.group)!.subarray(0, st.length)], want);
    assert.deepEqual(st.ids, r.token_ids);
    assert.deepEqual(st.weights, r.weights);
    assert.equal(set.lines[i], i + 1);
  });
});

test('text-only records (no trajectories file) are re-tokenised with a warning, grouped by question, and give the exact ids when the tokenisation round-trips', () => {
  const dir = fresh();
  const s = writeTinySamples(dir, tokenizer, { vocabSize: VOCAB, questions: 3, stepsPerQuestion: 4 });
  const exact = loadTrainingSet(s.samples, opts());
  const textPath = join(dir, 'text.jsonl');
  writeJsonl(textPath, textOnly(s.records));
  const set = loadTrainingSet(textPath, opts());
  assert.equal(set.stats.retokenisedRecords, 12);
  assert.match(set.warnings.join('\n'), /no trajectories file.*re-tokenised/);
  assert.match(set.warnings.join('\n'), /may give ids other than those the Expert generated/);
  // The fixture's answers are canonical tokenisations: every prefix round-trips.
  assert.equal(set.stats.retokenisedMismatches, 0);
  assert.equal(set.stats.sequences, 3);
  set.steps.forEach((st, i) => {
    const e = exact.steps[i]!;
    assert.equal(st.length, e.length);
    assert.deepEqual([...set.sequences.get(st.group)!.subarray(0, st.length)], [...exact.sequences.get(e.group)!.subarray(0, e.length)]);
  });
  assert.equal(set.fingerprint, exact.fingerprint);
});

test('text-only records whose ids do not round-trip are counted in a warning and not packed with inconsistent prefixes', () => {
  const dir = fresh();
  // Generated ids that spell "apples" one byte-level token per character: not what encoding the text gives.
  const spelled = [...'apples'].map((c) => tokenizer.encode(c, { addSpecialTokens: false })[0]!);
  const canonical = tokenizer.encode('apples', { addSpecialTokens: false });
  assert.ok(canonical.length < spelled.length, 'fixture: "apples" must encode to fewer tokens than its letters');
  const rec = (step: number, prefix: string): SampleRecord => ({ prompt_id: 'How many?', step, prefix, tokens: ['x'], token_ids: [5], weights: [1], kl_divergence: 1 });
  const path = join(dir, 'text.jsonl');
  writeJsonl(path, [rec(6, tokenizer.decode(spelled)), rec(2, 'ap'), rec(0, '')]);
  const set = loadTrainingSet(path, opts());
  assert.equal(set.stats.retokenisedMismatches, set.steps.filter((_, i) => [6, 2, 0][i] !== tokenizer.encode(['apples', 'ap', ''][i]!, { addSpecialTokens: false }).length).length);
  assert.ok(set.stats.retokenisedMismatches >= 1);
  assert.match(set.warnings.join('\n'), /token count differs from their "step"/);
  // Whatever the grouping, every record's sequence begins with its own re-tokenised input.
  const prompt = tokenizer.encodeChat([{ role: 'system', content: 'Please reason step by step.' }, { role: 'user', content: 'How many?' }], { addGenerationPrompt: true });
  ['apples', 'ap', ''].forEach((p, i) => {
    const st = set.steps[i]!;
    const want = [...prompt, ...(p ? tokenizer.encode(p, { addSpecialTokens: false }) : [])];
    assert.deepEqual([...set.sequences.get(st.group)!.subarray(0, st.length)], want);
  });
});

function expectError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

test('a label token id beyond the vocabulary and weights not summing to 1 are refused, naming file and line', () => {
  const dir = fresh();
  const s = writeTinySamples(dir, tokenizer, { vocabSize: VOCAB, questions: 2, stepsPerQuestion: 3 });
  const recs = s.records.map((r) => ({ ...r }));
  recs[1] = { ...recs[1]!, token_ids: [VOCAB + 5], weights: [1] };
  recs[4] = { ...recs[4]!, weights: recs[4]!.weights.map((w) => w * 0.99) };
  writeJsonl(s.samples, recs);
  expectError(() => loadTrainingSet(s.samples, opts()),
    new RegExp(`samples\\.jsonl:2: token id ${VOCAB + 5} is outside the model's vocabulary \\[0, ${VOCAB}\\)`),
    /samples\.jsonl:5: weights sum to 0\.99\d*, not 1 \(within 1e-3\)/);
  // Within 1e-3 is accepted.
  recs[1] = s.records[1]!;
  recs[4] = { ...s.records[4]!, weights: s.records[4]!.weights.map((w) => w * 1.0009) };
  writeJsonl(s.samples, recs);
  assert.equal(loadTrainingSet(s.samples, opts()).steps.length, 6);
});

test('a record referring to a missing trajectory, or to one of another question, is refused with its line', () => {
  const dir = fresh();
  const s = writeTinySamples(dir, tokenizer, { vocabSize: VOCAB, questions: 2, stepsPerQuestion: 2 });
  writeJsonl(s.samples, [s.records[0], { ...s.records[1], trajectory: 7 }, { ...s.records[2], trajectory: 0 }]);
  expectError(() => loadTrainingSet(s.samples, opts()),
    /samples\.jsonl:2: refers to trajectory 7, which .*samples\.trajectories\.jsonl does not hold/,
    /samples\.jsonl:3: "prompt_id" differs from the question of trajectory 0/);
});

test('a trajectory token id beyond the vocabulary is refused naming the trajectories file and line', () => {
  const dir = fresh();
  const s = writeTinySamples(dir, tokenizer, { vocabSize: VOCAB, questions: 2, stepsPerQuestion: 2 });
  writeJsonl(trajectoriesPath(s.samples), [s.trajectories[0], { ...s.trajectories[1], generated_token_ids: [1, 2, VOCAB] }]);
  expectError(() => loadTrainingSet(s.samples, opts()), new RegExp(`samples\\.trajectories\\.jsonl:2: "generated_token_ids" holds token id ${VOCAB}`));
});

test('inputs beyond the context window are refused naming the line; --max-length cuts them from the left keeping the target', () => {
  const dir = fresh();
  const s = writeTinySamples(dir, tokenizer, { vocabSize: VOCAB, questions: 2, stepsPerQuestion: 4 });
  const full = loadTrainingSet(s.samples, opts());
  const lengths = full.steps.map((st) => st.length);
  const limit = [...lengths].sort((a, b) => a - b)[3]!; // about half the records are longer
  const longer = lengths.map((l, i) => (l > limit ? i : -1)).filter((i) => i >= 0);
  assert.ok(longer.length > 0);
  expectError(() => loadTrainingSet(s.samples, opts({ contextWindow: limit })),
    new RegExp(`samples\\.jsonl:${longer[0]! + 1}: the input is ${lengths[longer[0]!]} tokens, beyond the model's context window`), /--max-length/);

  const cut = loadTrainingSet(s.samples, opts({ maxLength: limit }));
  assert.equal(cut.stats.truncatedRecords, longer.length);
  assert.match(cut.warnings.join('\n'), new RegExp(`${longer.length} record\\(s\\) are longer than --max-length ${limit}`));
  cut.steps.forEach((st, i) => {
    const f = full.steps[i]!;
    const fullInput = [...full.sequences.get(f.group)!.subarray(0, f.length)];
    const input = [...cut.sequences.get(st.group)!.subarray(0, st.length)];
    assert.ok(st.length <= limit);
    assert.deepEqual(input, fullInput.slice(-limit), `record ${i + 1} keeps the last ${limit} tokens, its target position last`);
  });
  expectError(() => loadTrainingSet(s.samples, opts({ maxLength: 600 })), /--max-length 600 exceeds the model's context window/);
});
