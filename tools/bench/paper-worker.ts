/**
 * Our side of one paper row in a process of its own (started by paper-run.ts with fork), so its
 * peak RSS is the row's alone and its ~6 GB of weights are gone when it exits. Receives one
 * message { spec, modelDir, reps, warmup, threads }, builds the model from modelDir/config.json
 * with random weights, runs the repetitions and replies { samples } or { error }.
 */
import { readJsonFile } from '../../src/util/fsx.js';
import { join } from 'node:path';
import { setBlasThreads } from '../../src/engine/blas.js';
import { errorMessage } from '../../src/util/errors.js';
import { prepareOurs } from './ours.js';
import { paperModel } from './paper.js';
import { holdWeightsAsBf16, type WeightsDtype } from '../../src/model/bf16-weights.js';
import type { RowSpec, Sample } from './spec.js';

export interface WorkerRequest {
  spec: RowSpec;
  modelDir: string;
  reps: number;
  warmup: number;
  threads: number | null;
  /** Weights of the inference rows (score, generate, stage 1); LoRA rows always train f32 weights. */
  weightsDtype: WeightsDtype;
}

export type WorkerReply = { samples: Sample[]; loadSeconds: number } | { error: string };

const peakRssKb = (): number => process.resourceUsage().maxRSS;

// Only as a forked child (an import elsewhere, e.g. by a test, must not wait for a message).
if (process.send) process.once('message', (msg: WorkerRequest) => {
  void (async (): Promise<WorkerReply> => {
    try {
      if (msg.threads !== null) setBlasThreads(msg.threads);
      const t0 = performance.now();
      const config = readJsonFile<Record<string, unknown>>(join(msg.modelDir, 'config.json'), 'model config');
      // bf16 as `--weights-dtype bf16` loads it: linear layers, embedding and LM head (training refuses them).
      const bf16 = msg.weightsDtype === 'bf16' && msg.spec.kind !== 'train-lightreasoner' && msg.spec.kind !== 'train';
      const build = (cfg: Record<string, unknown>, seed: number): ReturnType<typeof paperModel> => {
        const m = paperModel(cfg, seed);
        if (bf16) holdWeightsAsBf16(m.params);
        return m;
      };
      const run = prepareOurs(msg.spec, build(config, 1), build);
      const loadSeconds = (performance.now() - t0) / 1000;
      for (let w = 0; w < msg.warmup; w++) await run();
      const samples: Sample[] = [];
      for (let r = 0; r < msg.reps; r++) samples.push({ ...(await run()), peakRssKb: peakRssKb() });
      return { samples, loadSeconds };
    } catch (e) {
      return { error: errorMessage(e) };
    }
  })().then((reply) => process.send!(reply, () => process.exit(0)));
});
