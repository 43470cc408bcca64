/**
 * `lightreasoner export-gguf`: a Qwen2 / Llama Hugging Face directory (optionally with a LoRA
 * adapter merged in) as one GGUF file for llama.cpp, Ollama or LM Studio.
 *
 *   lightreasoner export-gguf --model models/expert --adapter runs/lora --out expert-tuned.gguf --dtype f16
 */
import type { Command } from 'commander';
import { exportGguf } from '../export/gguf-model.js';
import { UserError } from '../util/errors.js';
import { cliProgressCallback } from '../util/progress.js';

export function registerExportGguf(program: Command): void {
  program
    .command('export-gguf')
    .description('Write a Hugging Face Qwen2/Llama model (with a LoRA adapter merged in, if given) as a GGUF file that llama.cpp, Ollama and LM Studio run, with its tokenizer and chat template.')
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json, model.safetensors, tokenizer.json, tokenizer_config.json)')
    .option('--adapter <dir>', 'LoRA adapter directory (PEFT layout) to merge into the weights before export')
    .requiredOption('--out <file>', 'GGUF file to write (replaced atomically if it exists)')
    .option('--dtype <dtype>', 'storage type of the weight matrices: f32 (exact) or f16 (half the size); norms and biases stay f32', 'f32')
    .option('--name <name>', 'general.name written into the file (default: the model directory\'s name)')
    .action((o: { model: string; adapter?: string; out: string; dtype: string; name?: string }) => {
      if (o.dtype !== 'f32' && o.dtype !== 'f16') throw new UserError(`--dtype must be f32 or f16, got "${o.dtype}"`);
      const progress = cliProgressCallback();
      let r: ReturnType<typeof exportGguf>;
      try {
        r = exportGguf(o.model, o.out, {
          dtype: o.dtype, onProgress: progress,
          ...(o.adapter ? { adapter: o.adapter } : {}), ...(o.name ? { name: o.name } : {}),
        });
      } finally {
        progress.stopAll();
      }
      process.stdout.write(`wrote ${r.path}: ${r.architecture}, ${r.tensors} tensors, ${r.dtype}, pre-tokenizer "${r.preTokenizer}"${o.adapter ? `, adapter ${o.adapter} merged` : ''}, ${(r.bytes / 2 ** 20).toFixed(1)} MiB\n`);
    });
}
