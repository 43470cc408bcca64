/**
 * How a fuzz case ended, and the tally printed per suite. A case may end in exactly two ways:
 * a UserError (named by a short category read off its message), or an accepted input that the
 * suite's own check confirms (a "documented acceptance"). Anything else — another exception
 * (stack trace, RangeError), an unbounded message, an accepted input that breaks the format's rules,
 * a rejected input the generator built valid, a NaN output — is a failure.
 */
import { UserError } from '../../src/util/errors.js';

/** What the generator knows of its case. */
export type Expect = 'accept' | 'reject' | 'either';

export interface Outcome {
  ok: boolean;
  /** e.g. "rejected: duplicate key", "accepted", "FAIL crash: RangeError: ..." */
  label: string;
}

/** Longest message a UserError may carry (it names a path, a field and a bounded value). */
export const MAX_MESSAGE_CHARS = 1500;

/** Message patterns → category, first match wins. */
const CATEGORIES: Array<[RegExp, string]> = [
  [/appears twice/, 'duplicate key'],
  [/nesting deeper/, 'nesting too deep'],
  [/an array longer than/, 'array too long'],
  [/not valid UTF-8/, 'header not UTF-8'],
  [/does not start with "\{"/, 'header not an object'],
  [/header length .* (larger|exceeds)|too short for the 8-byte|only the first/, 'header length'],
  [/not valid JSON/, 'not JSON'],
  [/header is not a JSON object|expected a JSON object/, 'not an object'],
  [/trailing byte/, 'trailing bytes'],
  [/belong to no tensor \(a hole/, 'hole in data'],
  [/overlap/, 'overlapping tensors'],
  [/is truncated/, 'truncated'],
  [/unknown dtype/, 'dtype'],
  [/has shape/, 'shape'],
  [/data_offsets .*expected/, 'data_offsets'],
  [/needs \d+ bytes but data_offsets/, 'size != dtype x shape'],
  [/size overflows/, 'size overflow'],
  [/not a whole number of bytes/, 'size not whole bytes'],
  [/__metadata__/, 'metadata'],
  [/header entry for tensor/, 'tensor entry not an object'],
  [/more than \d+ tensors/, 'too many tensors'],
  [/holds (NaN|\+Inf|-Inf)/, 'NaN/Inf weight'],
  [/logit/, 'NaN/Inf output'],
  [/num_hidden_layers is \d+ but/, 'layer count vs weights'],
  [/does not belong to these weights/, 'config size vs weights'],
  [/attention biases|MLP biases|does not use/, 'unused tensors'],
  [/architecture .* not supported/, 'architecture'],
  [/larger than any model/, 'config size cap'],
  [/between .* \(exclusive\)|must be larger than low_freq_factor/, 'config value range'],
  [/expected a positive integer/, 'config not a positive integer'],
  [/expected a number/, 'config not a number'],
  [/is missing/, 'missing field or tensor'],
  [/expected true or false/, 'config not a boolean'],
  [/tokenizer_config\.json: (field|additional_special_tokens)/, 'tokenizer config field'],
  [/is not supported/, 'unsupported setting'],
  [/rope_scaling/, 'rope_scaling'],
  [/model\.vocab is a list/, 'vocabulary is a list'],
  [/model\.vocab gives .* (a string;|id)/, 'vocabulary ids'],
  [/vocabulary is empty/, 'vocabulary empty'],
  [/model\.vocab/, 'vocabulary'],
  [/added_tokens/, 'added tokens'],
  [/could not build the tokenizer/, 'tokenizer library refused'],
  [/is not in the vocabulary/, 'special token not in vocabulary'],
  [/malformed line|bad record/, 'bad JSONL lines'],
  [/is empty/, 'empty file'],
];

export function categorize(message: string): string {
  for (const [re, name] of CATEGORIES) if (re.test(message)) return name;
  return 'other UserError';
}

/**
 * Run one case. `check` runs on a normal return and says what is wrong with the result (or null);
 * `expect` is what the generator knows.
 */
export function runCase<T>(expect: Expect, f: () => T, check: (r: T) => string | null = () => null): Outcome {
  let result: T;
  try {
    result = f();
  } catch (e) {
    if (!(e instanceof UserError)) {
      const name = e instanceof Error ? e.name : typeof e;
      return { ok: false, label: `FAIL crash: ${name}: ${String(e instanceof Error ? e.message : e).slice(0, 120)}` };
    }
    if (e.message.length > MAX_MESSAGE_CHARS) return { ok: false, label: `FAIL unbounded message (${e.message.length} characters): ${e.message.slice(0, 80)}` };
    if (expect === 'accept') return { ok: false, label: `FAIL rejected a valid input: ${e.message.slice(0, 160)}` };
    const category = categorize(e.message);
    if (category === 'other UserError' && process.env.FUZZ_SHOW_OTHER) process.stderr.write(`other: ${e.message.slice(0, 200)}\n`);
    return { ok: true, label: `rejected: ${category}` };
  }
  const wrong = check(result);
  if (wrong !== null) return { ok: false, label: `FAIL accepted but ${wrong}` };
  if (expect === 'reject') return { ok: false, label: 'FAIL accepted an invalid input' };
  return { ok: true, label: 'accepted' };
}

export class Tally {
  readonly counts = new Map<string, number>();
  readonly failures: string[] = [];
  cases = 0;

  add(o: Outcome, what: string): void {
    this.cases++;
    this.counts.set(o.label, (this.counts.get(o.label) ?? 0) + 1);
    if (!o.ok && this.failures.length < 20) this.failures.push(`${what}: ${o.label}`);
  }

  get failed(): number {
    let n = 0;
    for (const [label, c] of this.counts) if (label.startsWith('FAIL')) n += c;
    return n;
  }

  /** Counts by outcome, most frequent first. */
  format(title: string): string {
    const rows = [...this.counts].sort((a, b) => b[1] - a[1]).map(([label, c]) => `  ${String(c).padStart(7)}  ${label}`);
    return `${title}: ${this.cases} cases, ${this.failed} failed\n${rows.join('\n')}`;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]));
  }
}
