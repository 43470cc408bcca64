/**
 * Every CLI flag parser: flag text → a typed value, or a UserError naming the flag. All of them have
 * one shape, `(value, flag) => T` (FlagParser); `option(parse, flag)` makes one commander-ready,
 * `optional(parse, value, flag)` passes an absent flag through as undefined. They check the form (a
 * number, an integer, a list) and the bounds a flag's type implies (an integer >= 1); whether a value
 * makes sense for the job is checked once by the job, beside its settings type (validateSampleSettings,
 * validateEvalSettings, ...). Defaults live there too, never here.
 */
import { UserError } from '../util/errors.js';

/** Flag text → value, or a UserError naming `flag`. */
export type FlagParser<T> = (value: string, flag: string) => T;

/** A finite number. */
export const finiteNumber: FlagParser<number> = (value, flag) => {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n)) throw new UserError(`${flag} must be a number, got "${value}"`);
  return n;
};

/** A number that may also be Infinity (e.g. --max-grad-norm Infinity turns clipping off); never NaN. */
export const extendedNumber: FlagParser<number> = (value, flag) => {
  const n = Number(value.trim());
  if (value.trim() === '' || Number.isNaN(n)) throw new UserError(`${flag} must be a number, got "${value}"`);
  return n;
};

/** An integer >= min (a safe integer written in decimal digits, with a sign only where min < 0). */
export function integerAtLeast(value: string, flag: string, min: number): number {
  const t = value.trim();
  const n = Number(t);
  if (!(min < 0 ? /^-?\d+$/ : /^\d+$/).test(t) || !Number.isSafeInteger(n) || n < min) {
    const what = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
    throw new UserError(`${flag} must be ${what}, got "${value}"`);
  }
  return n;
}

/** An integer >= 1. */
export const positiveInt: FlagParser<number> = (value, flag) => integerAtLeast(value, flag, 1);

/** An integer >= 0. */
export const nonNegativeInt: FlagParser<number> = (value, flag) => integerAtLeast(value, flag, 0);

/** The word `word`, or a positive integer (e.g. --server-logprobs full | k). */
export function wordOrPositiveInt<W extends string>(value: string, flag: string, word: W): W | number {
  if (value === word) return word;
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value)) || Number(value) < 1) throw new UserError(`${flag} must be "${word}" or a positive integer, got "${value}"`);
  return Number(value);
}

/** Comma-separated entries, trimmed, empty ones dropped (may be an empty list). */
export const commaList: FlagParser<string[]> = (value) => value.split(',').map((s) => s.trim()).filter((s) => s !== '');

/** Comma-separated entries, at least one. */
export const nonEmptyList: FlagParser<string[]> = (value, flag) => {
  const list = commaList(value, flag);
  if (list.length === 0) throw new UserError(`${flag}: expected one or more entries separated by commas, got "${value}"`);
  return list;
};

/** Non-negative integers separated by commas and/or spaces (token ids, steps), at least one. */
export const nonNegativeIntList: FlagParser<number[]> = (value, flag) => {
  const parts = value.split(/[\s,]+/).filter((p) => p !== '');
  if (parts.length === 0) throw new UserError(`${flag} is empty; give non-negative integers separated by commas, e.g. ${flag} 12,7,301`);
  return parts.map((p) => {
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(Number(p))) throw new UserError(`${flag}: "${p}" is not a non-negative integer`);
    return Number(p);
  });
};

/** One of `choices`. */
export function oneOf<T extends string>(value: string, flag: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) throw new UserError(`${flag} must be ${choices.join(' or ')}, got "${value}"`);
  return value as T;
}

/** `parse` applied to a flag that may be absent. */
export function optional<T>(parse: FlagParser<T>, value: string | undefined, flag: string): T | undefined {
  return value === undefined ? undefined : parse(value, flag);
}

/** `parse` as commander's option argument parser (`.option('--n <n>', help, option(positiveInt, '--n'), default)`). */
export function option<T>(parse: FlagParser<T>, flag: string): (value: string) => T {
  return (value) => parse(value, flag);
}

/** A help text that names its default, taken from the job's constant (for options whose commander default cannot be that value). */
export function withDefault(help: string, value: unknown): string {
  return `${help} (default ${Array.isArray(value) ? value.join(',') : String(value)})`;
}

/**
 * `--json`, the same on every command: the end-of-run summary (or report) as one JSON object on
 * stdout instead of the text. Progress and warnings stay on stderr.
 */
export const JSON_HELP = 'print the end-of-run summary as one JSON object on stdout instead of the text (progress and warnings stay on stderr)';

/** Writes the summary: JSON on stdout with --json, else the text on `stream` (stdout by default). */
export function printSummary<T>(summary: T, json: boolean | undefined, text: (s: T) => string, stream: { write(text: string): unknown } = process.stdout): void {
  if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else stream.write(`${text(summary)}\n`);
}
