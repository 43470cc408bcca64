/**
 * `lightreasoner` command line. Each command lives in its own file and registers itself here.
 */
import { Command, CommanderError } from 'commander';
import { UserError } from '../util/errors.js';
import { setBlasThreads } from '../engine/blas.js';
import { registerDoctor } from './doctor.js';
import { registerEval } from './eval.js';
import { registerTrainTokenizer } from './train-tokenizer.js';
import { registerMakeData } from './make-data.js';
import { registerPretrain } from './pretrain.js';
import { registerDemo } from './demo.js';
import { registerSft } from './sft.js';
import { registerSample } from './sample.js';
import { registerScore } from './score.js';
import { registerTrain } from './train.js';
import { registerMerge } from './merge.js';
import { registerExportGguf } from './export-gguf.js';
import { registerServe } from './serve.js';
import { positiveInt } from './flags.js';
import { VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('lightreasoner')
    .description('LightReasoner: tune an Expert model on the reasoning steps where a weaker Amateur disagrees with it (arXiv 2510.07962).')
    .version(VERSION)
    .option('--threads <n>', 'OpenBLAS threads (default: one per core, or OPENBLAS_NUM_THREADS). On a machine busy with other work use fewer: oversubscribed OpenBLAS threads spin and can slow matrix work several-fold')
    .hook('preAction', (cmd) => {
      const t = cmd.opts<{ threads?: string }>().threads;
      if (t !== undefined) setBlasThreads(positiveInt(t, '--threads'));
    })
    // Each subcommand's --help lists the global options (--threads) too; subcommands inherit this setting.
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerDoctor(program);
  registerEval(program);
  registerTrainTokenizer(program);
  registerMakeData(program);
  registerPretrain(program);
  registerDemo(program);
  registerSft(program);
  registerSample(program);
  registerScore(program);
  registerTrain(program);
  registerMerge(program);
  registerExportGguf(program);
  registerServe(program);
  return program;
}

/** Runs the CLI; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof UserError) {
      process.stderr.write(`lightreasoner: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
