/**
 * LightReasoner settings sweep on the DEV split (never the test split): for each configuration,
 * sample → train → evaluate the Expert + adapter on dev problems, and compare with the base Expert
 * on the same problems (McNemar). Results are appended to <out>/sweep.jsonl; each run's files stay
 * in <out>/<name>/ and are reused when the sweep is run again.
 *
 *   node dist/tools/experiments/sweep.js --config tools/experiments/configs/NAME.json --out runs/sweep
 *
 * A config file is a JSON list of runs: {"name", "expert", "amateur", "questions", "dev", "devCount",
 * "beta", "alpha", "label", "sampleMaxNewTokens", "lr", "steps", "rank", "loraAlpha", "targets",
 * "batchSize", "gradAccum", "shuffle"}; missing fields take the demo's defaults.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readQuestions, requireValidQuestions } from '../../src/data/questions.js';
import { runEval, compareResultFiles } from '../../src/eval/run.js';
import { openModel } from '../../src/backends/open.js';
import { runSample } from '../../src/method/sample.js';
import { trainLora } from '../../src/train/train-lora.js';
import { demoSettings } from '../../src/demo/run.js';
import type { LinearName } from '../../src/model/params.js';

interface Run {
  name: string;
  expert: string;
  amateur: string;
  questions: string;
  dev: string;
  devCount?: number;
  beta?: number;
  alpha?: number;
  label?: 'contrastive' | 'expert';
  sampleMaxNewTokens?: number;
  lr?: number;
  steps?: number;
  rank?: number;
  loraAlpha?: number;
  dropout?: number;
  targets?: string[];
  batchSize?: number;
  gradAccum?: number;
  shuffle?: 'trajectories' | 'records';
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const config = arg('--config'), out = resolve(arg('--out') ?? 'runs/sweep');
  if (!config) throw new Error('usage: sweep --config FILE.json [--out DIR]');
  const runs = JSON.parse(readFileSync(config, 'utf8')) as Run[];
  mkdirSync(out, { recursive: true });
  const d = demoSettings(false);
  for (const r of runs) {
    const dir = join(out, r.name);
    mkdirSync(dir, { recursive: true });
    const t0 = performance.now();
    const evalDev = (model: string, adapter: string | undefined, file: string) => runEval({
      model, ...(adapter ? { adapter } : {}), input: r.dev, out: file,
      settings: { maxNewTokens: d.evalMaxNewTokens, batchSize: d.evalBatchSize, prompt: 'qwen25-math-cot', percentScaling: true, limit: r.devCount ? r.devCount : null },
    });
    const baseFile = join(out, `base-${r.expert.replace(/[^a-zA-Z0-9]+/g, '_')}-${r.devCount ?? 'all'}.jsonl`);
    const base = await evalDev(r.expert, undefined, baseFile);
    const samples = join(dir, 'samples.jsonl');
    const read = readQuestions(r.questions);
    requireValidQuestions(read);
    const stats = await runSample({
      expert: await openModel({ backend: 'engine', modelDir: r.expert }), amateur: await openModel({ backend: 'engine', modelDir: r.amateur }), questions: read.questions, inputPath: r.questions, out: samples,
      settings: { ...d.sample, beta: r.beta ?? d.sample.beta, alpha: r.alpha ?? d.sample.alpha, label: r.label ?? 'contrastive', maxNewTokens: r.sampleMaxNewTokens ?? d.sample.maxNewTokens },
    });
    const adapter = join(dir, 'adapter');
    const train = await trainLora({
      ...d.train, lr: r.lr ?? d.train.lr, maxSteps: r.steps ?? d.train.maxSteps, batchSize: r.batchSize ?? d.train.batchSize, gradAccum: r.gradAccum ?? d.train.gradAccum,
      shuffle: r.shuffle ?? d.train.shuffle, saveSteps: 0,
      lora: { r: r.rank ?? d.train.lora.r, loraAlpha: r.loraAlpha ?? d.train.lora.loraAlpha, dropout: r.dropout ?? d.train.lora.dropout, targets: (r.targets ?? d.train.lora.targets) as LinearName[] },
      expert: r.expert, samples, out: adapter, resume: true,
    });
    const tuned = await evalDev(r.expert, adapter, join(dir, 'dev.jsonl'));
    const c = compareResultFiles(baseFile, join(dir, 'dev.jsonl'));
    const row = {
      name: r.name, config: r, base: base.summary.accuracy, tuned: tuned.summary.accuracy, diff: c.difference, gained: c.onlyB, lost: c.onlyA, p: c.pValue,
      kept: stats.keptSteps, keptFraction: stats.keptFraction, klP50: stats.klPercentiles.p50, loss: [train.firstLoss, train.lastLoss], seconds: (performance.now() - t0) / 1000,
    };
    appendFileSync(join(out, 'sweep.jsonl'), `${JSON.stringify(row)}\n`);
    process.stdout.write(`${r.name}: base ${(100 * row.base).toFixed(1)}% → ${(100 * row.tuned).toFixed(1)}% (+${row.gained}/−${row.lost}, p=${row.p.toFixed(4)}), kept ${row.kept} (${(100 * row.keptFraction).toFixed(1)}%), loss ${row.loss.map((x) => x.toFixed(3)).join('→')}, ${row.seconds.toFixed(0)} s\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
