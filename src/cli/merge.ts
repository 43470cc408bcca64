/**
 * `lightreasoner merge`: base model + LoRA adapter → a standalone Hugging Face model directory
 * (W ← W + (lora_alpha/r)·B·A), loadable wherever the base is.
 *
 *   lightreasoner merge --base models/expert --adapter adapters/lr --out models/expert-lr
 */
import { Option, type Command } from 'commander';
import type { WeightDtype } from '../model/config.js';
import { mergeAdapterDir, type MergeReport } from '../model/merge.js';
import { addRevisionOptions, resolveCliAdapter, resolveCliModel } from './hub-options.js';
import { JSON_HELP, printSummary } from './flags.js';

interface MergeCliOptions {
  base: string;
  adapter: string;
  out: string;
  dtype?: WeightDtype;
  force?: boolean;
  json?: boolean;
}

export function formatMergeReport(r: MergeReport): string {
  const worst = r.modules.reduce((a, b) => (b.lostFraction > a.lostFraction ? b : a), r.modules[0]!);
  return [
    `merged ${r.modules.length} adapted weight matrices into ${r.out} (${r.dtype}${r.dtype !== r.baseDtype ? `; the base is ${r.baseDtype}` : ''})`,
    `LoRA delta    norm ${r.deltaNorm.toExponential(3)}; ${(100 * r.lostFraction).toFixed(2)}% of it lost to ${r.dtype} rounding (worst ${worst ? `${worst.name} ${(100 * worst.lostFraction).toFixed(2)}%` : '-'})`,
    `files         ${r.files.join(', ')}`,
  ].join('\n');
}

export function registerMerge(program: Command): void {
  const cmd = program
    .command('merge')
    .description('Merge a LoRA adapter into its base model (W <- W + (lora_alpha/r)·B·A) and write a standalone Hugging Face model directory with the base\'s config and tokenizer files.')
    .requiredOption('--base <dir>', 'the base model directory the adapter was trained on — or a Hugging Face id ORG/NAME (from the Hub cache, downloaded when absent)')
    .requiredOption('--adapter <dir>', 'PEFT adapter directory (adapter_config.json, adapter_model.safetensors), e.g. the --out of lightreasoner train, or a Hub id ORG/NAME')
    .requiredOption('--out <dir>', 'model directory to write (written whole under a temp name, then renamed into place)')
    .addOption(new Option('--dtype <dtype>', 'storage dtype of the merged weights (default: the base\'s torch_dtype); the share of the LoRA delta lost to rounding is measured and reported').choices(['float32', 'float16', 'bfloat16']))
    .option('--force', 'replace --out if it exists and is not empty')
    .option('--json', `${JSON_HELP}, with every module's rounding loss`);
  addRevisionOptions(cmd, '--base')
    .action(async (opts: MergeCliOptions & { revision?: string }) => {
      opts.base = await resolveCliModel(opts.base, opts.revision);
      opts.adapter = (await resolveCliAdapter(opts.adapter))!;
      const report = mergeAdapterDir({ base: opts.base, adapter: opts.adapter, out: opts.out, ...(opts.dtype ? { dtype: opts.dtype } : {}), force: opts.force === true });
      if (report.warning) process.stderr.write(`lightreasoner: warning: ${report.warning}\n`);
      printSummary(report, opts.json, formatMergeReport, process.stderr);
    });
}
