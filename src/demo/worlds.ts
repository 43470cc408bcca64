/**
 * The demo's two synthetic worlds and every setting that differs between them, in one place.
 *
 * - `base` (the default): the paper's main regime (docs/experiments.md §5) — a domain-pretrained
 *   *base* Expert that never saw the evaluation's chat format with a math answer, and a small
 *   *general* Amateur, as Qwen2.5-Math-1.5B and Qwen2.5-0.5B. Evaluated as the Qwen2.5-Math toolkit
 *   does, with a budget long enough for a base model to run on into new problems.
 * - `instruct`: the first world (§1–§4) — an instruct-like Expert pretrained on chat-formatted
 *   worked solutions, and an early checkpoint of the same run as Amateur, as the paper's Instruct rows.
 *
 * Every number here was chosen on the dev split (the section named by `chosenIn`); none on test.
 */
import type { BundledModelName } from '../util/bundled.js';
import type { LinearName } from '../model/params.js';

export const DEMO_WORLDS = ['base', 'instruct'] as const;
export type DemoWorld = (typeof DEMO_WORLDS)[number];
export const DEFAULT_DEMO_WORLD: DemoWorld = 'base';

export interface WorldDefaults {
  /** A few words for titles and --help. */
  description: string;
  expert: BundledModelName;
  amateur: BundledModelName;
  /** Default --out (the --quick run appends "-quick"). */
  out: string;
  evalMaxNewTokens: number;
  evalBatchSize: number;
  lightreasoner: { lr: number; steps: number; targets: LinearName[]; beta: number; alpha: number };
  sft: { lr: number; steps: number; maxNewTokens: number };
  cd: { cdAlpha: number; cdBeta: number };
  /** --quick: a few-minute run of the same pipeline (a check that it works, not a result). */
  quick: { testCount: number; sampleCount: number; steps: number; sftSteps: number };
  /** Where the settings were chosen (on dev). */
  chosenIn: string;
}

export const WORLDS: Readonly<Record<DemoWorld, WorldDefaults>> = {
  base: {
    description: 'base-regime world: a math-pretrained base Expert and a small general Amateur, as the paper\'s main pair',
    expert: 'base-expert', amateur: 'base-amateur', out: 'lightreasoner-demo',
    // The registered evaluation's budget. The engine writes byte-identical completions at any batch
    // size (8 vs 32 on 400 dev problems, docs/experiments.md §5.5; and the demo's tables at 32 and
    // 128); larger batches make fuller matrix products: 128 took 29% less time than 32 on 2 cores.
    evalMaxNewTokens: 400, evalBatchSize: 128,
    // Chosen on dev by the registered rule (docs/experiments.md §5.6).
    lightreasoner: { lr: 1e-3, steps: 300, targets: ['q_proj', 'v_proj'], beta: 0.8, alpha: 0.2 },
    // SFT's schedule and β_CD: chosen on dev by the same rule (§5.6).
    sft: { lr: 1e-3, steps: 250, maxNewTokens: 400 },
    cd: { cdAlpha: 0.1, cdBeta: 0.5 },
    // Every evaluation here runs to the 400-token budget and every SFT step trains whole 400-token
    // solutions (about 2 s a step on 2 cores), so --quick evaluates two batches and takes few SFT
    // steps, to stay near 3 minutes on 2 cores (measured: 100 problems and 20 SFT steps took 3 min 34 s).
    quick: { testCount: 64, sampleCount: 40, steps: 60, sftSteps: 10 },
    chosenIn: 'docs/experiments.md §5.6',
  },
  instruct: {
    description: 'instruct-like world: an Expert pretrained on chat-formatted worked solutions, and an early checkpoint of it as Amateur',
    expert: 'expert', amateur: 'amateur', out: 'lightreasoner-demo-instruct',
    evalMaxNewTokens: 192, evalBatchSize: 32,
    lightreasoner: { lr: 2e-3, steps: 500, targets: ['q_proj', 'v_proj'], beta: 0.4, alpha: 0.2 },
    // SFT's own schedule and β_CD, chosen on this world's dev split (§5.6; §4's demo had given SFT
    // LightReasoner's 500 steps, an untuned baseline that overfit).
    sft: { lr: 2e-3, steps: 100, maxNewTokens: 192 },
    cd: { cdAlpha: 0.1, cdBeta: 0.5 },
    quick: { testCount: 100, sampleCount: 40, steps: 60, sftSteps: 60 },
    chosenIn: 'docs/experiments.md §2 (LightReasoner), §5.6 (SFT, CD)',
  },
};
