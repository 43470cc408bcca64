/**
 * Stage 1 with the Expert's logits kept from its own decoding (the default) against the Expert
 * re-scoring its trajectory in a teacher-forced pass (--expert-rescore, how earlier runs worked),
 * on the bundled tiny models; and the manifest keeping the two apart on resume.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundledModel } from '../util/bundled.js';
import { testTempDir } from '../testing/tmp.js';
import { generateProblems } from '../data/synthetic/index.js';
import { openModel, type OpenedModel } from '../backends/open.js';
import { DEFAULT_SAMPLE_SETTINGS, expertRescoreOfExistingRun, runSample, sampleManifest, type SampleSettings, type SampleStats } from './sample.js';
import type { SampleRecord, TrajectoryRecord } from './samples.js';

const work = testTempDir('lr-sample-expert-logits-');
const opened: OpenedModel[] = [];
after(async () => { for (const m of opened) await m.backend.dispose(); });
const expert = await openModel({ backend: 'engine', modelDir: bundledModel('expert') });
const amateur = await openModel({ backend: 'engine', modelDir: bundledModel('amateur') });
opened.push(expert, amateur);
const questions = generateProblems({ split: 'train', count: 12, seed: 5 }).map((p, i) => ({ id: p.id, line: i + 1, question: p.question }));
const settings = (expertRescore: boolean): SampleSettings => ({ ...DEFAULT_SAMPLE_SETTINGS, maxNewTokens: 48, batchSize: 5, expertRescore });
const run = (name: string, s: SampleSettings): Promise<SampleStats> => runSample({ expert, amateur, questions, inputPath: 'questions.jsonl', out: join(work, name), settings: s });
const readJsonl = <T>(p: string): T[] => readFileSync(p, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
const trajectories = (name: string): Array<TrajectoryRecord & { step_kl: number[] }> => readJsonl(join(work, name.replace(/\.jsonl$/, '.trajectories.jsonl')));

const kept = await run('kept.jsonl', settings(false));
const rescored = await run('rescored.jsonl', settings(true));

test('stage 1 with the Expert\'s logits from its decoding keeps the steps, ids and labels of the Expert re-scoring its trajectory', (t) => {
  const tk = trajectories('kept.jsonl'), tr = trajectories('rescored.jsonl');
  assert.equal(tk.length, questions.length);
  // Cached decoding and one teacher-forced pass sum in different orders: logits agree to float32
  // rounding (~1e-6 relative), so KL and soft-label weights agree to 1e-4 (relative, absolute
  // below 1), far looser than the rounding and far tighter than any real difference.
  const close = (x: number, y: number, what: string): void => assert.ok(Math.abs(x - y) <= 1e-4 * Math.max(1, Math.abs(y)), `${what}: ${x} vs ${y}`);
  let steps = 0, maxKl = 0;
  tk.forEach((a, i) => {
    const b = tr[i]!;
    assert.deepEqual(a.generated_token_ids, b.generated_token_ids, `question ${i}: the same generation`);
    assert.equal(a.kept, b.kept, `question ${i}: kept steps`);
    assert.equal(a.step_kl.length, b.step_kl.length);
    a.step_kl.forEach((kl, s) => { close(kl, b.step_kl[s]!, `question ${i} step ${s} KL`); maxKl = Math.max(maxKl, Math.abs(kl - b.step_kl[s]!)); steps++; });
  });
  const sk = readJsonl<SampleRecord>(join(work, 'kept.jsonl')), sr = readJsonl<SampleRecord>(join(work, 'rescored.jsonl'));
  assert.ok(sk.length > 10 && sk.length < steps, `${sk.length} of ${steps} steps kept: some kept, some not`);
  assert.equal(sk.length, sr.length);
  let maxW = 0, maxRecordKl = 0;
  sk.forEach((a, k) => {
    const b = sr[k]!;
    assert.deepEqual([a.trajectory, a.step, a.prefix, a.token_ids, a.tokens], [b.trajectory, b.step, b.prefix, b.token_ids, b.tokens], `record ${k}`);
    close(a.kl_divergence, b.kl_divergence, `record ${k} KL`);
    maxRecordKl = Math.max(maxRecordKl, Math.abs(a.kl_divergence - b.kl_divergence) / b.kl_divergence);
    a.weights.forEach((w, j) => { close(w, b.weights[j]!, `record ${k} weight ${j}`); maxW = Math.max(maxW, Math.abs(w - b.weights[j]!)); });
  });
  t.diagnostic(`${steps} steps, ${sk.length} kept: max |ΔKL| ${maxKl.toExponential(2)} (step_kl, 6 digits), max relative ΔKL of kept steps ${maxRecordKl.toExponential(2)}, max |Δweight| ${maxW.toExponential(2)}`);
  // The two paths are not one code path: the Expert's re-score ran in one of them only.
  assert.equal(kept.throughput.expertScoringTokensPerSecond, null);
  assert.ok((rescored.throughput.expertScoringTokensPerSecond ?? 0) > 0);
  assert.ok(sk.some((a, k) => a.kl_divergence !== sr[k]!.kl_divergence), 'KL from decoding rows differs from the re-scored one in the last bits somewhere');
});

test('a run is not resumed with the other --expert-rescore, and a manifest from before the flag resumes only with --expert-rescore', async () => {
  await assert.rejects(run('kept.jsonl', settings(true)), /started with other settings \(--expert-rescore: was false, now true\)/);
  await assert.rejects(run('rescored.jsonl', settings(false)), /--expert-rescore: was true, now false/);
  // A manifest written before the setting existed: those runs re-scored.
  const manifest = join(work, 'rescored.manifest.json');
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as { settings: Record<string, unknown> };
  delete m.settings.expertRescore;
  writeFileSync(manifest, JSON.stringify(m));
  await assert.rejects(run('rescored.jsonl', settings(false)), /--expert-rescore: was true, now false/);
  // What a caller that continues whatever is there (the demo) reads back: the path each run started with.
  assert.equal(expertRescoreOfExistingRun(join(work, 'rescored.jsonl')), true);
  assert.equal(expertRescoreOfExistingRun(join(work, 'kept.jsonl')), false);
  assert.equal(expertRescoreOfExistingRun(join(work, 'nothing-here.jsonl')), null);
  const again = await run('rescored.jsonl', settings(true));
  assert.equal(again.resumedQuestions, questions.length);
  // A library caller's settings from before the flag: absent is the default path, recorded as false.
  const { expertRescore: _, ...older } = settings(false);
  const m2 = sampleManifest({ dir: bundledModel('expert'), adapterDir: null }, { dir: bundledModel('amateur'), adapterDir: null }, 'v', 'questions.jsonl', older);
  assert.equal(m2.settings.expertRescore, false);
});
