/**
 * `lightreasoner demo`: the README's first command. Runs the whole method on the bundled tiny
 * models and prints the before/after table.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { demoSettings, runDemo } from '../demo/run.js';
import { markdownTable } from '../demo/report.js';
import { cliProgressCallback } from '../util/progress.js';
import { UserError } from '../util/errors.js';

function num(name: string, integer: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || (integer && (!Number.isInteger(n) || n <= 0))) throw new UserError(`${name} must be ${integer ? 'a positive integer' : 'a number'}, got "${v}"`);
    return n;
  };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Run LightReasoner end to end on the bundled tiny Expert and Amateur (synthetic GSM8K-like world): evaluate both on held-out problems, sample contrastive steps, LoRA-train the Expert, merge, evaluate again, and print the table (also written as Markdown, JSON and an SVG chart). About 10 minutes on 2 cores with OpenBLAS; --quick takes about 2. Rerunning continues where a previous run stopped.')
    .option('--quick', 'a small version (100 test problems, 40 sampled questions, 60 training steps) to check the pipeline in about 2 minutes')
    .option('--out <dir>', 'where to write everything (default: ./lightreasoner-demo, or ./lightreasoner-demo-quick with --quick)')
    .option('--fresh', 'delete --out first instead of continuing a previous run there')
    .option('--expert <dir>', 'Expert model directory (default: the bundled models/expert)')
    .option('--amateur <dir>', 'Amateur model directory (default: the bundled models/amateur)')
    .option('--test-count <n>', 'held-out problems to evaluate on (default 500; 100 with --quick)', num('--test-count', true))
    .option('--sample-count <n>', 'training questions to sample (default 400; 40 with --quick)', num('--sample-count', true))
    .option('--steps <n>', 'LoRA training steps (default 500; 60 with --quick)', num('--steps', true))
    .option('--lr <x>', 'LoRA learning rate (default 2e-3, chosen on the dev split for these tiny models; the paper uses 5e-5 for 1.5B models)', num('--lr', false))
    .option('--beta <x>', 'KL threshold for keeping a step (default 0.4, as the paper)', num('--beta', false))
    .option('--label <kind>', 'soft label of kept steps: contrastive (the method) or expert (pE renormalised on the plausible set: the ablation without contrast)')
    .option('--no-baselines', 'skip the baselines (contrastive decoding with the Amateur, rejection-sampling SFT)')
    .option('--alpha <x>', 'plausibility threshold relative to the Expert\'s top probability (default 0.2, as the paper)', num('--alpha', false))
    .action(async (o: { label?: string; baselines?: boolean; quick?: boolean; out?: string; fresh?: boolean; expert?: string; amateur?: string; testCount?: number; sampleCount?: number; steps?: number; lr?: number; beta?: number; alpha?: number }) => {
      const s = demoSettings(o.quick === true, o.out);
      if (o.expert) s.expert = o.expert;
      if (o.amateur) s.amateur = o.amateur;
      if (o.testCount) s.testCount = o.testCount;
      if (o.sampleCount) s.sampleCount = o.sampleCount;
      if (o.steps) s.train.maxSteps = o.steps;
      if (o.lr !== undefined) s.train.lr = o.lr;
      if (o.beta !== undefined) s.sample.beta = o.beta;
      if (o.alpha !== undefined) s.sample.alpha = o.alpha;
      if (o.baselines === false) s.baselines = false;
      if (o.label !== undefined) {
        if (o.label !== 'contrastive' && o.label !== 'expert') throw new UserError(`--label must be contrastive or expert, got "${o.label}"`);
        s.sample.label = o.label;
      }
      for (const [what, dir] of [['Expert', s.expert], ['Amateur', s.amateur]] as const) {
        if (!existsSync(dir)) throw new UserError(`${what} model not found at ${dir}`);
      }
      if (o.fresh) s.fresh = true;
      const progress = cliProgressCallback();
      const command = `lightreasoner ${process.argv.slice(2).join(' ')}`;
      const { report, files } = await runDemo(s, command, progress, (l) => { process.stderr.write(`${l}\n`); });
      progress.stopAll();
      process.stdout.write(`\n${markdownTable(report)}\n\nwall time ${report.totalSeconds.toFixed(0)} s; written ${files.markdown}, ${files.json}, ${files.svg}\n`);
    });
}
