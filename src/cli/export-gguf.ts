/**
 * `lightreasoner export-gguf`: a Qwen2 / Llama Hugging Face directory (optionally with a LoRA
 * adapter merged in) as one GGUF file for llama.cpp, Ollama or LM Studio.
 *
 *   lightreasoner export-gguf --model models/expert --adapter runs/lora --out expert-tuned.gguf --dtype f16
 */
import type { Command } from 'commander';
import { exportGguf, type ExportedGguf } from '../export/gguf-model.js';
import { JSON_HELP, oneOf, printSummary } from './flags.js';
import { cliProgressCallback } from '../util/progress.js';
import { existsSync } from 'node:fs';
import { isHubId } from '../hub/cache.js';
import { addRevisionOptions, resolveCliAdapter, resolveCliModel } from './hub-options.js';

/** The end-of-run summary: the file written, and the adapter merged into it (null: none). */
export type ExportGgufSummary = ExportedGguf & { model: string; adapter: string | null };

export function formatExportGgufSummary(r: ExportGgufSummary): string {
  return `wrote ${r.path}: ${r.architecture}, ${r.tensors} tensors, ${r.dtype}, pre-tokenizer "${r.preTokenizer}"${r.adapter ? `, adapter ${r.adapter} merged` : ''}, ${(r.bytes / 2 ** 20).toFixed(1)} MiB`;
}

export function registerExportGguf(program: Command): void {
  const cmd = program
    .command('export-gguf')
    .description('Write a Hugging Face Qwen2/Llama model (with a LoRA adapter merged in, if given) as a GGUF file that llama.cpp, Ollama and LM Studio run, with its tokenizer and chat template.')
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json, model.safetensors, tokenizer.json, tokenizer_config.json) — or a Hugging Face id ORG/NAME (from the Hub cache, downloaded when absent)')
    .option('--adapter <dir>', 'LoRA adapter directory (PEFT layout) to merge into the weights before export, or a Hub id ORG/NAME')
    .requiredOption('--out <file>', 'GGUF file to write (replaced atomically if it exists)')
    .option('--dtype <dtype>', 'storage type of the weight matrices: f32 (exact) or f16 (half the size); norms and biases stay f32', 'f32')
    .option('--name <name>', 'general.name written into the file (default: the model directory\'s name; NAME of a Hub id ORG/NAME)')
    .option('--json', JSON_HELP);
  addRevisionOptions(cmd, '--model')
    .action(async (o: { model: string; adapter?: string; out: string; dtype: string; name?: string; revision?: string; json?: boolean }) => {
      const dtype = oneOf(o.dtype, '--dtype', ['f32', 'f16'] as const);
      // A snapshot directory is named by its commit hash: name the file after the repo instead.
      if (o.name === undefined && isHubId(o.model) && !existsSync(o.model)) o.name = o.model.split('/')[1]!;
      o.model = await resolveCliModel(o.model, o.revision);
      o.adapter = await resolveCliAdapter(o.adapter);
      const progress = cliProgressCallback();
      let r: ReturnType<typeof exportGguf>;
      try {
        r = exportGguf(o.model, o.out, {
          dtype, onProgress: progress,
          ...(o.adapter ? { adapter: o.adapter } : {}), ...(o.name ? { name: o.name } : {}),
        });
      } finally {
        progress.stopAll();
      }
      printSummary({ ...r, model: o.model, adapter: o.adapter ?? null }, o.json, formatExportGgufSummary);
    });
}
