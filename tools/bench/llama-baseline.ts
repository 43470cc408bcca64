/**
 * llama.cpp as a baseline, in this process (node-llama-cpp, CPU only): the bench model written as a
 * Hugging Face directory, exported to GGUF f32 by our exporter and run through the llama.cpp back
 * end (src/backends/llama-cpp.ts), so both sides answer the same LanguageModelBackend calls
 * (src/backends/bench.ts) on the same weights and the same token ids.
 *
 * Threads: llama.cpp gets the thread count our BLAS runs with. node-llama-cpp's own CPU default
 * is max(4, math cores); on 2 cores its spinning ggml workers outnumber the cores and decoding
 * crawls (see getLlamaRuntime in src/backends/node-llama-cpp.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timeGeneration, timeScoring } from '../../src/backends/bench.js';
import { getLlamaRuntime, INSTALL_HINT, NODE_LLAMA_CPP_VERSION, nodeLlamaCppAvailable } from '../../src/backends/node-llama-cpp.js';
import { openModel, type OpenedModel } from '../../src/backends/open.js';
import { saveModelDir } from '../../src/model/model-dir.js';
import { trainByteLevelBpe } from '../../src/tokenizer/bpe-trainer.js';
import { tinyCorpus, writeTokenizerDir } from '../../src/tokenizer/testing.js';
import { errorMessage } from '../../src/util/errors.js';
import type { Baseline, BaselineMissing } from './baseline.js';
import { backendScoreInputs, benchModel } from './ours.js';
import { benchPrompts, type BenchRow, type Sample } from './spec.js';

export interface LlamaCppBaselineOptions {
  /** llama.cpp threads (ours: the BLAS thread count). */
  threads: number;
  /** Parallel sequences of the llama.cpp context (at least the rows' batch). */
  parallel: number;
}

type Runner = () => Promise<Sample>;

/**
 * The bench model (benchModel: the weights our side runs) as a Hugging Face directory in `dir`,
 * with a small tokenizer: a GGUF needs a vocabulary, and ids beyond the tokenizer's are exported
 * as unused padding tokens, which llama.cpp evaluates like any other id.
 */
export function writeBenchModelDir(dir: string, hfConfig: Record<string, unknown>): string {
  const model = benchModel(hfConfig);
  saveModelDir(dir, model.config, model.params);
  writeTokenizerDir(dir, trainByteLevelBpe(tinyCorpus(), { vocabSize: 320 }));
  return dir;
}

class LlamaCppBaseline implements Baseline {
  readonly name = 'llama.cpp';
  private readonly runners = new Map<string, Runner>();
  /** One exported model per config (all llama.cpp rows run the bench model). */
  private readonly models = new Map<string, Promise<OpenedModel>>();
  private readonly work = mkdtempSync(join(tmpdir(), 'lr-bench-llama-'));

  constructor(readonly info: Record<string, unknown>, private readonly opts: LlamaCppBaselineOptions) {}

  /** The bench model (the weights our side runs: same config, same seed) as a llama.cpp back end. */
  private model(hfConfig: Record<string, unknown>): Promise<OpenedModel> {
    const key = JSON.stringify(hfConfig);
    let m = this.models.get(key);
    if (!m) {
      const dir = writeBenchModelDir(join(this.work, `model-${this.models.size}`), hfConfig);
      m = openModel({
        backend: 'llama.cpp', modelDir: dir, ggufCacheDir: join(this.work, 'gguf'), ggufDtype: 'f32', kvCache: 'f32',
        gpu: 'off', threads: this.opts.threads, parallel: this.opts.parallel,
      });
      this.models.set(key, m);
    }
    return m;
  }

  async prepare(row: BenchRow, hfConfig: Record<string, unknown>): Promise<void> {
    const { backend, config } = await this.model(hfConfig);
    const spec = row.spec;
    switch (spec.kind) {
      case 'backend-generate': {
        const prompts = benchPrompts(spec.batch, spec.prompt, config.vocabSize, spec.seed);
        this.runners.set(row.id, async () => {
          const g = await timeGeneration(backend, prompts, { maxNewTokens: spec.newTokens, stopIds: [], batchSize: spec.batch });
          return { seconds: g.seconds, units: g.generatedTokens };
        });
        return;
      }
      case 'backend-score': {
        const { prompts, continuations } = backendScoreInputs(spec, config.vocabSize);
        this.runners.set(row.id, async () => {
          const s = await timeScoring(backend, prompts, continuations);
          return { seconds: s.seconds, units: s.scoredTokens };
        });
        return;
      }
      default:
        throw new Error(`row ${row.id}: the llama.cpp baseline runs backend-generate and backend-score rows, not ${spec.kind}`);
    }
  }

  run(rowId: string): Promise<Sample> {
    const r = this.runners.get(rowId);
    if (!r) return Promise.reject(new Error(`llama.cpp baseline: row ${rowId} was not prepared`));
    return r();
  }

  async close(): Promise<void> {
    for (const m of this.models.values()) {
      try {
        await (await m).backend.dispose();
      } catch { /* a model that failed to open has nothing to free */ }
    }
    this.models.clear();
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** Load llama.cpp (CPU) for the bench, or say why it cannot run. */
export async function startLlamaCppBaseline(opts: LlamaCppBaselineOptions): Promise<Baseline | BaselineMissing> {
  if (!(await nodeLlamaCppAvailable())) return { missing: 'node-llama-cpp is not installed', hint: `install the llama.cpp baseline with: ${INSTALL_HINT}` };
  try {
    const llama = await getLlamaRuntime('off', { maxThreads: opts.threads });
    const release = llama.llamaCppRelease;
    return new LlamaCppBaseline({
      'node-llama-cpp': NODE_LLAMA_CPP_VERSION,
      llamaCpp: release ? `${release.repo} ${release.release}` : null,
      systemInfo: llama.systemInfo ?? null,
      threads: opts.threads,
      parallel: opts.parallel,
      gguf: 'f32',
      kvCache: 'f32',
    }, opts);
  } catch (e) {
    return { missing: `llama.cpp could not start: ${errorMessage(e)}`, hint: `reinstall it with: ${INSTALL_HINT}` };
  }
}
