/**
 * `lightreasoner demo`: the README's first command. Runs the whole method on the bundled tiny
 * models and prints the before/after table.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { demoSettings, runDemo, type DemoResult, type DemoSettings } from '../demo/run.js';
import { markdownTable, type DemoReport } from '../demo/report.js';
import { finiteNumber, JSON_HELP, oneOf, option, positiveInt, printSummary } from './flags.js';
import { DEFAULT_SAMPLE_SETTINGS } from '../method/sample.js';
import { cliProgressCallback } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import { DEFAULT_DEMO_WORLD, DEMO_WORLDS, WORLDS } from '../demo/worlds.js';

/** The --json summary: the demo's report (the table's rows, stages, settings) and the files written. */
export type DemoSummary = DemoReport & { files: DemoResult['files'] };

export function formatDemoSummary(s: DemoSummary): string {
  return `\n${markdownTable(s)}\n\nwall time ${s.totalSeconds.toFixed(0)} s; written ${s.files.markdown}, ${s.files.json}, ${s.files.svg}`;
}

export function registerDemo(program: Command): void {
  const full = demoSettings(false), quick = demoSettings(true), other = demoSettings(false, undefined, 'instruct');
  /** "500 (base), 400 (instruct)", or "500" when the worlds agree: each world's own setting, of the full run or of --quick. */
  const eachWorld = (get: (d: DemoSettings) => unknown, quick = false): string => {
    const values = DEMO_WORLDS.map((w) => String(get(demoSettings(quick, undefined, w))));
    return new Set(values).size === 1 ? values[0]! : DEMO_WORLDS.map((w, i) => `${values[i]!} (${w})`).join(', ');
  };
  const perWorld = (get: (d: DemoSettings) => unknown): string => `default ${eachWorld(get)}`;
  const perWorldQuick = (get: (d: DemoSettings) => unknown): string => eachWorld(get, true);
  /** "(default 500; 100 with --quick)", from the demo's own settings. */
  const dq = (a: unknown, b: unknown): string => (a === b ? `default ${String(a)}` : `default ${String(a)}; ${String(b)} with --quick`);
  program
    .command('demo')
    .description('Run LightReasoner end to end on a bundled tiny Expert and Amateur (a synthetic GSM8K-like world): evaluate both on held-out problems, sample contrastive steps, LoRA-train the Expert, merge, evaluate again, with contrastive decoding and rejection-sampling SFT beside it, and print the table (also written as Markdown, JSON and an SVG chart). Two worlds: the base-regime pair (default) and the instruct-like pair (--world instruct). On 2 cores with OpenBLAS the base world takes about 14 minutes (9 of them the SFT baseline; --no-baselines leaves CD and SFT out), the instruct world about 3; --quick under 2. Rerunning continues where a previous run stopped.')
    .option('--world <name>', `which bundled pair: base (${WORLDS.base.description}) or instruct (${WORLDS.instruct.description}); each has its own settings, chosen on dev (default ${DEFAULT_DEMO_WORLD})`)
    .option('--quick', `a small version (${perWorldQuick((d) => d.testCount)} test problems, ${quick.sampleCount} sampled questions, ${quick.train.maxSteps} LightReasoner and ${perWorldQuick((d) => d.sft.maxSteps)} SFT training steps) to check the pipeline in about 2 minutes`)
    .option('--out <dir>', `where to write everything (default: ./${full.out}, or ./${quick.out} with --quick; ./${other.out}[-quick] with --world instruct)`)
    .option('--fresh', 'delete --out first instead of continuing a previous run there')
    .option('--expert <dir>', `Expert model directory (default: the world's bundled Expert, models/${WORLDS.base.expert} or models/${WORLDS.instruct.expert})`)
    .option('--amateur <dir>', `Amateur model directory (default: the world's bundled Amateur, models/${WORLDS.base.amateur} or models/${WORLDS.instruct.amateur})`)
    .option('--test-count <n>', `held-out problems to evaluate on (default ${full.testCount}; ${perWorldQuick((d) => d.testCount)} with --quick)`, option(positiveInt, '--test-count'))
    .option('--sample-count <n>', `training questions to sample (${dq(full.sampleCount, quick.sampleCount)})`, option(positiveInt, '--sample-count'))
    .option('--steps <n>', `LightReasoner's LoRA training steps (${perWorld((d) => d.train.maxSteps)}; ${quick.train.maxSteps} with --quick)`, option(positiveInt, '--steps'))
    .option('--lr <x>', `LightReasoner's LoRA learning rate (${perWorld((d) => d.train.lr)}; chosen on the dev split for these tiny models; the paper uses 5e-5 for 1.5B models)`, option(finiteNumber, '--lr'))
    .option('--beta <x>', `KL threshold for keeping a step (${perWorld((d) => d.sample.beta)}; the paper's is ${DEFAULT_SAMPLE_SETTINGS.beta})`, option(finiteNumber, '--beta'))
    .option('--label <kind>', `soft label of kept steps: contrastive (the method) or expert (pE renormalised on the plausible set: the ablation without contrast) (default ${full.sample.label})`)
    .option('--no-baselines', 'skip the baselines (contrastive decoding with the Amateur, rejection-sampling SFT)')
    .option('--alpha <x>', `plausibility threshold relative to the Expert's top probability (${perWorld((d) => d.sample.alpha)}; the paper's is ${DEFAULT_SAMPLE_SETTINGS.alpha})`, option(finiteNumber, '--alpha'))
    .option('--json', JSON_HELP)
    .action(async (o: { world?: string; json?: boolean; label?: string; baselines?: boolean; quick?: boolean; out?: string; fresh?: boolean; expert?: string; amateur?: string; testCount?: number; sampleCount?: number; steps?: number; lr?: number; beta?: number; alpha?: number }) => {
      const world = o.world === undefined ? DEFAULT_DEMO_WORLD : oneOf(o.world, '--world', DEMO_WORLDS);
      const s = demoSettings(o.quick === true, o.out, world);
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
        s.sample.label = oneOf(o.label, '--label', ['contrastive', 'expert'] as const);
      }
      for (const [what, dir] of [['Expert', s.expert], ['Amateur', s.amateur]] as const) {
        if (!existsSync(dir)) throw new UserError(`${what} model not found at ${dir}`);
      }
      if (o.fresh) s.fresh = true;
      const progress = cliProgressCallback();
      const command = `lightreasoner ${process.argv.slice(2).join(' ')}`;
      const { report, files } = await runDemo(s, command, progress, (l) => { process.stderr.write(`${l}\n`); });
      progress.stopAll();
      printSummary({ ...report, files }, o.json, formatDemoSummary);
    });
}
