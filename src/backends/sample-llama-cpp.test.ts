/**
 * `sample` on the llama.cpp back end against the engine back end: the same questions give the same
 * kept steps, with KL within 1e-3 (a step whose KL sits within that of beta may flip; the test
 * reports how many did).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { tinyModelDir } from '../model/testing.js';
import { testTempDir } from '../testing/tmp.js';
import { generateProblems } from '../data/synthetic/index.js';
import { runSample } from '../method/sample.js';
import type { TrajectoryRecord } from '../method/samples.js';
import { nodeLlamaCppAvailable, INSTALL_HINT } from './node-llama-cpp.js';
import { openModel, type OpenedModel } from './open.js';

const skip = (await nodeLlamaCppAvailable()) ? false : `node-llama-cpp is not installed (\`${INSTALL_HINT}\`): llama.cpp sampling not checked`;
const opened: OpenedModel[] = [];
after(async () => { for (const m of opened) await m.backend.dispose(); });

test('sample on llama.cpp keeps the same steps as on the engine (20 questions; KL within 1e-3)', { skip }, async (t) => {
  const work = testTempDir('lr-sample-llama-');
  const expertDir = tinyModelDir({ hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 48 }, 51);
  const amateurDir = tinyModelDir({ hidden: 16, layers: 1, heads: 2, kvHeads: 1, intermediate: 24 }, 52);
  const questions = generateProblems({ split: 'train', count: 20, seed: 3 }).map((p, i) => ({ id: p.id, line: i + 1, question: p.question }));
  const settings = { alpha: 0.2, beta: 0.4, maxNewTokens: 24, batchSize: 5, systemPrompt: 'Please reason step by step.', firstStep: 0, label: 'contrastive' as const, expertRescore: false };
  const run = async (backend: 'engine' | 'llama.cpp'): Promise<string> => {
    const o = { backend, gpu: 'off' as const, threads: 1, parallel: 5, ggufCacheDir: join(work, 'cache') };
    const expert = await openModel({ ...o, modelDir: expertDir }), amateur = await openModel({ ...o, modelDir: amateurDir });
    opened.push(expert, amateur);
    const out = join(work, `${backend}.jsonl`);
    await runSample({ expert, amateur, questions, inputPath: 'questions.jsonl', out, settings });
    return out;
  };
  const e = await run('engine'), l = await run('llama.cpp');
  const traj = (p: string): Array<TrajectoryRecord & { step_kl: number[] }> =>
    readFileSync(p.replace('.jsonl', '.trajectories.jsonl'), 'utf8').trim().split('\n').map((x) => JSON.parse(x));
  const te = traj(e), tl = traj(l);
  assert.equal(tl.length, 20);
  let steps = 0, flips = 0, maxDiff = 0;
  te.forEach((a, i) => {
    const b = tl[i]!;
    assert.deepEqual(b.generated_token_ids, a.generated_token_ids, `question ${i}: same greedy generation`);
    a.step_kl.forEach((kl, s) => {
      const other = b.step_kl[s]!;
      maxDiff = Math.max(maxDiff, Math.abs(kl - other));
      steps++;
      if ((kl >= settings.beta) !== (other >= settings.beta)) {
        flips++;
        assert.ok(Math.abs(kl - settings.beta) <= 1e-3, `question ${i} step ${s} flipped although its KL ${kl} is not near beta`);
      }
    });
  });
  t.diagnostic(`${steps} steps compared: max |ΔKL| ${maxDiff.toExponential(2)}, ${flips} kept/rejected flips near beta`);
  assert.ok(maxDiff <= 1e-3, `KL differs by ${maxDiff}`);
  const kept = (p: string): string[] => readFileSync(p, 'utf8').trim().split('\n').filter(Boolean).map((x) => {
    const r = JSON.parse(x) as { trajectory: number; step: number; token_ids: number[] };
    return `${r.trajectory}:${r.step}:${r.token_ids.join(',')}`;
  });
  if (flips === 0) assert.deepEqual(kept(l), kept(e), 'same kept steps with the same plausible sets');
});
