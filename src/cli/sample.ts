/**
 * `lightreasoner sample`: Stage 1 — the Expert reasons greedily on each question, both models score
 * its tokens, and the steps where they disagree (KL(pE‖pA) ≥ β) become contrastive soft labels.
 *
 *   lightreasoner sample --expert models/expert --amateur models/amateur \
 *     --input shared/data/gsm8k/train.jsonl --max-questions 1000 --out runs/samples.jsonl
 *
 * Everything that can be refused (bad input lines, tokenizers that differ, an output started with
 * other settings) is refused before any weights are loaded.
 */
import { Option, type Command } from 'commander';
import { formatProblems, readQuestions, requireValidQuestions } from '../data/questions.js';
import { checkSampleOutput, DEFAULT_SAMPLE_SETTINGS, lockSampleOutput, runSample, sampleManifest, type SampleSettings, type SampleStats } from '../method/sample.js';
import { assertSameVocabulary, vocabularyFingerprint } from '../tokenizer/index.js';
import { loadModel } from '../model/load.js';
import { addWeightsDtypeOption, weightsDtypeOption } from './weights-dtype.js';
import { UserError } from '../util/errors.js';
import { writeJsonAtomic } from '../util/fsx.js';
import { cliProgressCallback } from '../util/progress.js';
import { finiteNumber, JSON_HELP, nonNegativeInt, optional, positiveInt, printSummary } from './flags.js';
import { addBackendOptions, backendSettings, remoteFor } from './backend-options.js';
import { openModel, requireWeightsDtypeFits } from '../backends/open.js';
import { addRevisionOptions, resolveCliAdapter, resolveCliModel } from './hub-options.js';

interface SampleCliOptions {
  expert: string;
  weightsDtype?: string;
  amateur: string;
  expertAdapter?: string;
  amateurAdapter?: string;
  revision?: string;
  amateurRevision?: string;
  input: string;
  out: string;
  maxQuestions?: string;
  maxNewTokens: string;
  alpha: string;
  beta: string;
  batchSize: string;
  systemPrompt: string;
  firstStep: string;
  label: 'contrastive' | 'expert';
  expertRescore?: boolean;
  skipBadLines?: boolean;
  statsJson?: string;
  json?: boolean;
  expertGguf?: string;
  amateurGguf?: string;
  backend?: string;
  expertUrl?: string[];
  amateurUrl?: string[];
}

const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** The end-of-run summary, a few aligned lines. */
export function formatSampleStats(st: SampleStats, s: SampleSettings, input: string): string {
  const p = st.klPercentiles, t = st.throughput;
  const here = st.questions - st.resumedQuestions;
  const lines = [
    `sampled ${st.questions} questions of ${input} → ${st.out} (trajectories: ${st.trajectories})${st.resumedQuestions > 0 ? `; ${st.resumedQuestions} were done by an earlier run` : ''}`,
    `questions  ${st.questions - st.skipped} sampled, ${st.skipped} skipped`,
    `steps      ${st.generatedSteps} generated, ${st.contrastedSteps} contrasted, ${st.keptSteps} kept${st.contrastedSteps > 0 ? ` (${(100 * st.keptFraction).toFixed(1)}%)` : ''} at beta ${s.beta}`,
    st.contrastedSteps > 0
      ? `KL(pE‖pA)  p10 ${fmt(p.p10)}  p25 ${fmt(p.p25)}  p50 ${fmt(p.p50)}  p75 ${fmt(p.p75)}  p90 ${fmt(p.p90)}  p99 ${fmt(p.p99)}  max ${fmt(p.max)} (nats, over contrasted steps)`
      : 'KL(pE‖pA)  no step was contrasted',
    st.keptSteps > 0
      ? `plausible  ${fmt(st.meanPlausibleSetSize, 2)} tokens per kept step on average (alpha ${s.alpha}, label ${s.label})`
      : `plausible  no step was kept (alpha ${s.alpha}, label ${s.label})`,
    here > 0
      ? `speed      ${fmt(t.questionsPerSecond, 2)} questions/s; expert generates ${fmt(t.expertGenerationTokensPerSecond, 1)} tokens/s, ${t.expertScoringTokensPerSecond === null ? 'its logits kept for the contrast (no re-score)' : `scores ${fmt(t.expertScoringTokensPerSecond, 1)} tokens/s`}; amateur scores ${fmt(t.amateurScoringTokensPerSecond, 1)} tokens/s (this process, ${fmt(t.seconds, 1)} s)`
      : `speed      nothing was left to do: all ${st.questions} questions were done by an earlier run`,
  ];
  const shown = st.skippedQuestions.slice(0, 5).map((q) => `  question ${q.index} ("${q.id}"): ${q.reason}`);
  if (shown.length > 0) lines.push('skipped:', ...shown, ...(st.skipped > 5 ? [`  ... and ${st.skipped - 5} more (see "skipped" in the trajectories file)`] : []));
  return lines.join('\n');
}

export function registerSample(program: Command): void {
  const cmd = program
    .command('sample')
    .description('Stage 1: the Expert reasons greedily on each question; the Amateur scores every generated token in one teacher-forced pass and is contrasted with the logits the Expert chose each token from; steps where KL(pE‖pA) >= beta are written as contrastive soft labels (samples.jsonl), with the exact prompt and generated ids of every question beside it (samples.trajectories.jsonl). A killed run continues where it stopped when started again with the same arguments, and writes exactly what an uninterrupted run would.')
    .requiredOption('--expert <dir>', 'the Expert: Hugging Face model directory (config.json, model.safetensors, tokenizer.json), or a Hugging Face id ORG/NAME (from the Hub cache, downloaded when absent), that generates and is later tuned')
    .requiredOption('--amateur <dir>', 'the Amateur: a weaker model directory, or a Hugging Face id ORG/NAME, with the same tokenizer as the Expert (checked before anything is loaded)')
    .option('--expert-adapter <dir>', 'LoRA adapter (PEFT layout) applied on top of --expert')
    .option('--amateur-adapter <dir>', 'LoRA adapter (PEFT layout) applied on top of --amateur')
    .requiredOption('--input <file>', 'questions JSONL: {"id"?, "question"} per line (GSM8K files work as they are; "answer" is ignored), or {"id"?, "prompt"} for a raw prompt used without the chat template. Malformed lines stop the run before any work, listed with their line numbers (see --skip-bad-lines)')
    .option('--skip-bad-lines', 'warn about malformed input lines (with line numbers) and sample the valid ones instead of stopping')
    .requiredOption('--out <file>', 'samples JSONL, one line per kept step ({prompt_id, step, prefix, tokens, token_ids, weights, kl_divergence, id, trajectory}); samples.trajectories.jsonl and samples.manifest.json are written beside it. If it exists, the run continues it — refused when the models or any setting below differ')
    .option('--max-questions <n>', 'sample only the first n (valid) questions of --input; a later run with a larger n continues the same output')
    .option('--max-new-tokens <n>', 'tokens the Expert generates per question (a reasoning prefix, not a whole solution; it stops earlier at its end of sequence, <|im_end|> or <|endoftext|>)', String(DEFAULT_SAMPLE_SETTINGS.maxNewTokens))
    .option('--alpha <x>', 'plausibility threshold: the soft label covers tokens with pE >= alpha * max pE', String(DEFAULT_SAMPLE_SETTINGS.alpha))
    .option('--beta <x>', 'KL threshold in nats: a step is kept when KL(pE‖pA) over the full vocabulary is >= beta', String(DEFAULT_SAMPLE_SETTINGS.beta))
    .option('--batch-size <n>', 'questions the Expert decodes together; also the fixed chunk a resumed run re-decodes, so it must stay the same across restarts', String(DEFAULT_SAMPLE_SETTINGS.batchSize))
    .option('--system-prompt <text>', 'system message of the chat-formatted prompt ("" for none, in which case a Qwen chat template inserts its own default)', DEFAULT_SAMPLE_SETTINGS.systemPrompt)
    .option('--first-step <n>', 'first generated step to contrast (0 = the first generated token; the reference code starts at 1)', String(DEFAULT_SAMPLE_SETTINGS.firstStep))
    .addOption(new Option('--label <kind>', 'soft label of kept steps: "contrastive" (softmax of log pE - log pA on the plausible set, the method) or "expert" (pE renormalised on the plausible set, the ablation without contrast)').choices(['contrastive', 'expert']).default(DEFAULT_SAMPLE_SETTINGS.label))
    .option('--expert-rescore', 'score the Expert\'s trajectory with a teacher-forced pass of its own, as runs did before this flag existed, instead of keeping the logits its decoding chose each token from (the same distributions up to float32 summation order: KL and soft labels agree to ~1e-5 relative; needed to resume or reproduce such a run). Back ends other than the engine always re-score')
    .option('--json', JSON_HELP)
    .option('--stats-json <file>', 'also write the end-of-run statistics (the object --json prints: counts, KL percentiles, plausible-set size, throughput) to this JSON file, whatever is printed');
  addRevisionOptions(cmd, '--expert', true);
  addWeightsDtypeOption(cmd);
  addBackendOptions(cmd, [{ flag: 'expert-gguf', model: 'Expert' }, { flag: 'amateur-gguf', model: 'Amateur' }], [{ flag: 'expert-url', model: 'Expert' }, { flag: 'amateur-url', model: 'Amateur' }]);
  cmd.action(async (opts: SampleCliOptions) => {
      const settings: SampleSettings = {
        alpha: finiteNumber(opts.alpha, '--alpha'),
        beta: finiteNumber(opts.beta, '--beta'),
        maxNewTokens: positiveInt(opts.maxNewTokens, '--max-new-tokens'),
        batchSize: positiveInt(opts.batchSize, '--batch-size'),
        systemPrompt: opts.systemPrompt,
        firstStep: nonNegativeInt(opts.firstStep, '--first-step'),
        label: opts.label,
        expertRescore: opts.expertRescore === true,
      };
      const maxQuestions = optional(positiveInt, opts.maxQuestions, '--max-questions');

      const read = readQuestions(opts.input);
      if (read.problems.length > 0 && opts.skipBadLines) {
        const n = read.problems.length;
        process.stderr.write(`warning: skipping ${n} malformed line${n === 1 ? '' : 's'} of ${opts.input} (--skip-bad-lines):\n${formatProblems(read.problems)}\n`);
      }
      const valid = opts.skipBadLines ? read.questions : requireValidQuestions(read);
      if (valid.length === 0) throw new UserError(`${opts.input} has no valid question lines`);
      const questions = maxQuestions === undefined ? valid : valid.slice(0, maxQuestions);

      opts.expert = await resolveCliModel(opts.expert, opts.revision, 'Expert model');
      opts.amateur = await resolveCliModel(opts.amateur, opts.amateurRevision, 'Amateur model');
      opts.expertAdapter = await resolveCliAdapter(opts.expertAdapter);
      opts.amateurAdapter = await resolveCliAdapter(opts.amateurAdapter);
      // Config and tokenizer only (the weights load below): a missing model is named as one, before any output is touched.
      const expertTok = (await loadModel(opts.expert, { weights: false, what: 'Expert model' })).tokenizer;
      const amateurTok = (await loadModel(opts.amateur, { weights: false, what: 'Amateur model' })).tokenizer;
      assertSameVocabulary(expertTok, amateurTok, `the expert tokenizer (${opts.expert})`, `the amateur tokenizer (${opts.amateur})`);
      // bf16 weights mark the models' fingerprints (a run is not continued across dtypes).
      const weightsDtype = weightsDtypeOption(opts.weightsDtype);
      const expertRef = { dir: opts.expert, adapterDir: opts.expertAdapter ?? null, weightsDtype };
      const amateurRef = { dir: opts.amateur, adapterDir: opts.amateurAdapter ?? null, weightsDtype };
      const bs = { ...backendSettings(opts as unknown as Record<string, unknown>), weightsDtype };
      requireWeightsDtypeFits(weightsDtype, bs.backend);
      const want = sampleManifest(expertRef, amateurRef, vocabularyFingerprint(expertTok), opts.input, settings, bs.backend);
      if (typeof bs.server?.logprobs === 'number') want.approximation = { kl: 'top-k, uniform tail', top_k: bs.server.logprobs };
      // The output's lock before any weights load: a second writer, or an --out that cannot be written, fails fast.
      const lock = lockSampleOutput(opts.out);
      let stats: SampleStats;
      try {
        checkSampleOutput(opts.out, want);
        const progress = cliProgressCallback({ project: ['sample'], summary: 'sample' });
        try {
          const shared = (opts.expertUrl ?? []).filter((u) => (opts.amateurUrl ?? []).includes(u));
          if (shared.length > 0) throw new UserError(`${shared.join(', ')} is given as both an Expert and an Amateur server; each server runs one model, and contrasting a model with itself keeps nothing`);
          const expert = await openModel({ ...bs, ...remoteFor(bs, opts.expertUrl, '--expert-url'), modelDir: opts.expert, ...(opts.expertAdapter ? { adapter: opts.expertAdapter } : {}), ...(opts.expertGguf ? { gguf: opts.expertGguf } : {}), onProgress: progress });
          const amateur = await openModel({ ...bs, ...remoteFor(bs, opts.amateurUrl, '--amateur-url'), modelDir: opts.amateur, ...(opts.amateurAdapter ? { adapter: opts.amateurAdapter } : {}), ...(opts.amateurGguf ? { gguf: opts.amateurGguf } : {}), onProgress: progress });
          try {
            stats = await runSample({ expert, amateur, questions, inputPath: opts.input, out: opts.out, settings, onProgress: progress, lock });
          } finally {
            await expert.backend.dispose();
            await amateur.backend.dispose();
          }
        } finally {
          progress.stopAll();
        }
      } finally {
        lock.release();
      }
      if (opts.statsJson !== undefined) writeJsonAtomic(opts.statsJson, stats);
      printSummary(stats, opts.json, (st) => formatSampleStats(st, settings, opts.input));
    });
}
