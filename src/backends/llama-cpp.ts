/**
 * llama.cpp (through node-llama-cpp) as a back end, fed our token ids.
 *
 * - Distributions: `sequence.controlledEvaluate` with `generateNext: {probabilities: true}` at every
 *   scored position returns the full softmax over the vocabulary there (computed in float32 from
 *   the raw logits; with no sampling options the sampler chain is plain greedy, so nothing is
 *   truncated). We return log-probabilities. A probability that underflowed float32 to 0 (a
 *   logit more than ~103 below the row's maximum) becomes log(2^-149), the smallest positive
 *   float32: it stays finite, and KL terms it enters are negligible unless the other model puts
 *   real mass there.
 * - Greedy decoding: `sequence.evaluate` with temperature 0 (llama.cpp's greedy sampler, argmax
 *   with the first index on ties, as ours), EOG tokens yielded, and our own stop ids and budgets.
 * - Parallelism: a context with `parallel` sequences; concurrent calls each take a free sequence,
 *   and node-llama-cpp packs their pending tokens into one llama.cpp batch.
 * - The KV cache is F32 by default: llama.cpp's default F16 cache moves probabilities by ~1e-3
 *   on small models, which is more than the back ends may disagree by.
 */
import { checkIds, checkPrompts, type GreedyOptions, type LanguageModelBackend } from './backend.js';
import { defaultLlamaThreads, getLlamaRuntime, type NlcContext, type NlcLogLevel, type NlcModel, type NlcSequence } from './node-llama-cpp.js';
import type { Generation } from '../model/generate.js';
import { UserError, errorMessage } from '../util/errors.js';

/** Tokens per sequence when --llama-context is not given (capped by the model's trained context). */
export const DEFAULT_LLAMA_CONTEXT = 4096;

/** log of the smallest positive float32 (2^-149): where an underflowed probability lands. */
export const LOG_FLOAT32_MIN = Math.log(2 ** -149);

export interface LlamaCppOptions {
  /** The GGUF file to run. */
  gguf: string;
  /** Rows of every distribution: must equal the GGUF's token count. */
  vocabSize: number;
  /** Use a GPU when node-llama-cpp finds one (CUDA, Vulkan, Metal), or CPU only. Default auto. */
  gpu?: 'auto' | 'off';
  /** Tokens per sequence (prompt + continuation); capped by the model's trained context. Default min(trained, 4096). */
  contextSize?: number;
  /** Sequences evaluated in parallel. Default 8. */
  parallel?: number;
  /** CPU threads (default: defaultLlamaThreads(), the physical cores minus the load average). */
  threads?: number;
  /** KV cache element type (default f32, see above). */
  kvCache?: 'f32' | 'f16';
  /** Flash attention (default off: its F16 accumulation changes distributions on CPU). */
  flashAttention?: boolean;
  logLevel?: NlcLogLevel;
}

/** A pool of a context's sequences: callers wait for a free one. */
class SequencePool {
  private readonly free: NlcSequence[];
  private readonly waiting: Array<(s: NlcSequence) => void> = [];

  constructor(readonly all: NlcSequence[]) {
    this.free = [...all];
  }

  async acquire(): Promise<NlcSequence> {
    const s = this.free.pop();
    if (s) return s;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(s: NlcSequence): void {
    const next = this.waiting.shift();
    if (next) next(s);
    else this.free.push(s);
  }
}

export class LlamaCppBackend implements LanguageModelBackend {
  readonly kind = 'llama.cpp' as const;
  private disposed = false;

  private constructor(
    private readonly model: NlcModel,
    private readonly context: NlcContext,
    private readonly pool: SequencePool,
    readonly vocabSize: number,
    readonly contextSize: number,
    readonly description: string,
    /** "cuda", "vulkan", "metal" or false (CPU). */
    readonly gpu: string | false,
  ) {}

  /** Load `opts.gguf` into llama.cpp. */
  static async open(opts: LlamaCppOptions): Promise<LlamaCppBackend> {
    const threads = opts.threads ?? defaultLlamaThreads();
    if (!Number.isInteger(threads) || threads < 1) throw new UserError(`llama.cpp threads must be a positive integer, got ${threads}`);
    const parallel = opts.parallel ?? 8;
    if (!Number.isInteger(parallel) || parallel < 1) throw new UserError(`parallel sequences must be a positive integer, got ${parallel}`);
    const llama = await getLlamaRuntime(opts.gpu ?? 'auto', { maxThreads: threads, ...(opts.logLevel ? { logLevel: opts.logLevel } : {}) });
    let model: NlcModel;
    try {
      model = await llama.loadModel({ modelPath: opts.gguf, ...(opts.gpu === 'off' ? { gpuLayers: 0 } : {}) });
    } catch (e) {
      throw new UserError(`llama.cpp could not load ${opts.gguf}: ${errorMessage(e)}`, { cause: e });
    }
    const contextSize = Math.min(opts.contextSize ?? DEFAULT_LLAMA_CONTEXT, model.trainContextSize);
    const kv = opts.kvCache === 'f16' ? 'F16' : 'F32';
    let context: NlcContext;
    try {
      context = await model.createContext({
        contextSize, sequences: parallel, flashAttention: opts.flashAttention ?? false,
        experimentalKvCacheKeyType: kv, experimentalKvCacheValueType: kv, threads,
      });
    } catch (e) {
      await model.dispose();
      throw new UserError(`llama.cpp could not create a context of ${parallel} × ${contextSize} tokens for ${opts.gguf}: ${errorMessage(e)}`, { cause: e });
    }
    const sequences = Array.from({ length: parallel }, () => context.getSequence());
    const description = `llama.cpp ${opts.gguf} (${llama.gpu === false ? 'cpu' : llama.gpu}, kv ${kv.toLowerCase()})`;
    return new LlamaCppBackend(model, context, new SequencePool(sequences), opts.vocabSize, Math.min(context.contextSize, contextSize), description, llama.gpu);
  }

  private async withSequence<T>(fn: (s: NlcSequence) => Promise<T>): Promise<T> {
    if (this.disposed) throw new Error('the llama.cpp back end was disposed');
    const s = await this.pool.acquire();
    try {
      await s.clearHistory();
      return await fn(s);
    } finally {
      this.pool.release(s);
    }
  }

  async generateGreedy(prompts: ReadonlyArray<ArrayLike<number>>, opts: GreedyOptions): Promise<Generation[]> {
    checkPrompts(prompts, this.contextSize, this.vocabSize);
    const stop = new Set(opts.stopIds);
    const results: Generation[] = new Array(prompts.length);
    let next = 0;
    const decodeOne = async (s: NlcSequence, index: number): Promise<Generation> => {
      const prompt = Array.from(prompts[index]!);
      const out: number[] = [];
      let finish: Generation['finish'] | null = null;
      for await (const tok of s.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
        out.push(tok);
        finish = stop.has(tok) ? 'stop' : out.length >= opts.maxNewTokens ? 'length' : prompt.length + out.length >= this.contextSize ? 'context' : null;
        if (finish) break;
      }
      if (!finish) throw new Error(`llama.cpp stopped generating prompt ${index} after ${out.length} tokens without a reason`);
      return { tokens: out, finish };
    };
    const worker = async (): Promise<void> => {
      while (next < prompts.length) {
        const index = next++;
        const g = await this.withSequence((s) => decodeOne(s, index));
        results[index] = g;
        opts.onFinish?.(index, g);
      }
    };
    const lanes = Math.max(1, Math.min(opts.batchSize ?? this.pool.all.length, this.pool.all.length, prompts.length));
    await Promise.all(Array.from({ length: lanes }, worker));
    return results;
  }

  async stepLogits(promptIds: ArrayLike<number>, generated: ArrayLike<number>): Promise<Float32Array> {
    const T = generated.length, V = this.vocabSize;
    if (T === 0) return new Float32Array(0);
    if (promptIds.length === 0) throw new UserError('stepLogits: the prompt is empty');
    checkIds(promptIds, V, 'prompt');
    checkIds(generated, V, 'continuation');
    const seq = [...Array.from(promptIds), ...Array.from(generated).slice(0, T - 1)];
    if (seq.length > this.contextSize) throw new UserError(`a sequence of ${seq.length} tokens does not fit the llama.cpp context of ${this.contextSize} tokens`);
    const first = promptIds.length - 1;
    const res = await this.withSequence((s) => s.controlledEvaluate(seq.map((t, i) => (i >= first ? [t, { generateNext: { probabilities: true } }] : t))));
    const out = new Float32Array(T * V);
    for (let t = 0; t < T; t++) {
      const probs = res[first + t]?.next.probabilities;
      if (!probs || probs.size !== V) throw new Error(`llama.cpp returned ${probs ? probs.size : 'no'} probabilities at position ${first + t}, expected ${V}`);
      const row = t * V;
      for (const [id, p] of probs) out[row + id] = p > 0 ? Math.log(p) : LOG_FLOAT32_MIN;
    }
    return out;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.context.dispose();
    await this.model.dispose();
  }
}
