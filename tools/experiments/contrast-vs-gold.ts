/**
 * Does the contrast point at the right token? For every kept step of a samples file whose prefix is
 * still on the gold worked solution (synthetic problems have exactly one), compare the Expert's own
 * greedy token with the soft label's top token. Where the two differ, count which of them continues
 * the gold solution. If the contrast is to teach the Expert anything its greedy choice does not already
 * say, the soft label must be right more often than the Expert at those steps.
 *
 *   node dist/tools/experiments/contrast-vs-gold.js --samples S.jsonl --questions Q.jsonl [--json]
 *
 * S.trajectories.jsonl must lie beside S.jsonl (sample writes it); Q.jsonl holds the sampled questions
 * with their GSM8K-style answers.
 */
import { readJsonl } from '../../src/util/jsonl.js';
import { UserError } from '../../src/util/errors.js';

interface SampleRecord { id: string; prompt_id: string; step: number; prefix: string; tokens: string[]; token_ids: number[]; weights: number[] }
interface Trajectory { id: string; generated_token_ids: number[] }

export interface ContrastVsGold {
  keptSteps: number;
  onGold: number;
  /** Kept on-gold steps where the soft label's top token is not the Expert's greedy token. */
  differ: number;
  expertRight: number;
  labelRight: number;
  /** The same three counts restricted to steps whose gold continuation starts with a digit. */
  digits: { differ: number; expertRight: number; labelRight: number };
}

/** Every record of a JSONL file; a malformed line stops the measurement, naming the file and line. */
function jsonl<T>(path: string, what: string): T[] {
  const r = readJsonl<T>(path, what);
  const bad = r.problems[0];
  if (bad) throw new UserError(`${path}: line ${bad.line} is not JSON (${bad.message})`);
  return r.records.map((x) => x.value);
}

export function contrastVsGold(samplesPath: string, questionsPath: string): ContrastVsGold {
  const gold = new Map<string, string>();
  for (const q of jsonl<{ question: string; answer: string }>(questionsPath, 'questions file')) gold.set(q.question, q.answer.split('\n####')[0]!);
  const traj = new Map<string, number[]>();
  for (const t of jsonl<Trajectory>(samplesPath.replace(/\.jsonl$/, '.trajectories.jsonl'), 'trajectories file (written by sample beside the samples)')) traj.set(t.id, t.generated_token_ids);
  const r: ContrastVsGold = { keptSteps: 0, onGold: 0, differ: 0, expertRight: 0, labelRight: 0, digits: { differ: 0, expertRight: 0, labelRight: 0 } };
  for (const s of jsonl<SampleRecord>(samplesPath, 'samples file')) {
    r.keptSteps++;
    const g = gold.get(s.prompt_id);
    if (g === undefined || !g.startsWith(s.prefix) || s.prefix.length >= g.length) continue;
    r.onGold++;
    const rest = g.slice(s.prefix.length);
    const expertId = traj.get(s.id)?.[s.step];
    const expertToken = s.tokens[s.token_ids.indexOf(expertId ?? -1)];
    if (expertToken === undefined) throw new Error(`${samplesPath}: step ${s.step} of ${s.id}: the Expert's greedy token is not in the plausible set`);
    let top = 0;
    for (let i = 1; i < s.weights.length; i++) if (s.weights[i]! > s.weights[top]!) top = i;
    const labelToken = s.tokens[top]!;
    if (labelToken === expertToken) continue;
    const er = rest.startsWith(expertToken) ? 1 : 0, lr = rest.startsWith(labelToken) ? 1 : 0;
    r.differ++; r.expertRight += er; r.labelRight += lr;
    if (/^\d/.test(rest)) { r.digits.differ++; r.digits.expertRight += er; r.digits.labelRight += lr; }
  }
  return r;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const samples = arg('--samples'), questions = arg('--questions');
  if (!samples || !questions) {
    console.error('usage: contrast-vs-gold --samples S.jsonl --questions Q.jsonl [--json]');
    process.exit(2);
  }
  let r: ContrastVsGold;
  try {
    r = contrastVsGold(samples, questions);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    console.error(`contrast-vs-gold: ${e.message}`);
    process.exit(1);
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify(r));
  else {
    console.log(`kept steps ${r.keptSteps}; on the gold solution ${r.onGold}; soft label's top token ≠ Expert's greedy token at ${r.differ}`);
    console.log(`  there, the Expert continues the gold solution ${r.expertRight} times, the soft label ${r.labelRight} times`);
    console.log(`  digits only: ${r.digits.differ} differ; Expert right ${r.digits.expertRight}, soft label right ${r.digits.labelRight}`);
  }
}
