import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyModelDir } from '../model/testing.js';
import { generateProblems, writeGsm8kJsonl } from '../data/synthetic/index.js';
import { testTempDir } from '../testing/tmp.js';
import { runPretrain, type PretrainOptions } from './pretrain.js';

const bin = fileURLToPath(new URL('../../../bin/lightreasoner.js', import.meta.url));
const tokenizerDir = tinyModelDir({ hidden: 16, layers: 1 }, 5);
const dir = testTempDir('lr-pretrain-');
const trainFile = join(dir, 'train.jsonl'), devFile = join(dir, 'dev.jsonl');
writeGsm8kJsonl(trainFile, generateProblems({ split: 'train', count: 6, seed: 1 }));
writeGsm8kJsonl(devFile, generateProblems({ split: 'dev', count: 2, seed: 1 }));

function options(out: string, over: Partial<PretrainOptions> = {}): PretrainOptions {
  return {
    tokenizerDir, trainFile, devFile, out, steps: 4, batchSize: 2, lr: 1e-3, schedule: 'cosine', warmupSteps: 1, weightDecay: 0, maxGradNorm: 1,
    seed: 0, saveSteps: 2, evalSteps: 0, evalCount: 2, exportSteps: [],
    arch: { hidden: 16, layers: 1, heads: 2, kvHeads: 1, intermediate: 32, maxPositions: 1024, ropeTheta: 10000, tied: true },
    ...over,
  };
}
const lines = (p: string): string[] => readFileSync(p, 'utf8').split('\n').filter((l) => l.trim() !== '');

test('a second pretrain process on the same --out is refused naming the first; a rerun of the finished run does nothing and doubles no log', () => {
  const out = join(dir, 'model');
  let second: ReturnType<typeof spawnSync> | null = null;
  const r = runPretrain({
    ...options(out),
    onProgress: (e) => {
      if (e.done === 2 && !second) {
        second = spawnSync(process.execPath, [bin, 'pretrain', '--tokenizer', tokenizerDir, '--train', trainFile, '--out', out, '--steps', '4'], { encoding: 'utf8', env: { ...process.env, LIGHTREASONER_QUIET: '1' } });
      }
    },
  });
  const refused = second as ReturnType<typeof spawnSync> | null;
  assert.ok(refused);
  assert.equal(refused.status, 2, String(refused.stderr));
  assert.match(String(refused.stderr), new RegExp(`model is being written by another run: pid ${process.pid} on `));
  assert.equal(r.loop.steps.length, 4);
  assert.deepEqual(lines(join(out, 'training_log.jsonl')).map((l) => (JSON.parse(l) as { step: number }).step), [0, 1, 2, 3]);
  assert.equal(lines(join(out, 'dev_accuracy.jsonl')).length, 1);

  const again = runPretrain(options(out));
  assert.equal(again.loop.steps.length, 0);
  assert.equal(lines(join(out, 'dev_accuracy.jsonl')).length, 1, 'a finished run is not evaluated (and logged) again');
  assert.throws(() => runPretrain(options(out, { lr: 2e-3 })), /cannot continue the training run in .*: it was started with other settings \(--lr: was 0\.001, now 0\.002\)/);
  assert.throws(() => runPretrain(options(out, { steps: 6 })), /started with --steps 4; it cannot become 6: with the cosine schedule/);
});

test('pretrain refuses training data whose last line is cut off, naming the file and line', () => {
  const torn = join(dir, 'torn.jsonl');
  const text = readFileSync(trainFile, 'utf8');
  writeFileSync(torn, text.slice(0, text.length - 20));
  assert.throws(() => runPretrain(options(join(dir, 'torn-out'), { trainFile: torn })), /torn\.jsonl:6: the last line is cut off/);
});
