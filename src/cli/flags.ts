/**
 * Turning flag text into typed values, naming the flag when the text is not one. These check the
 * form only (a number, an integer); whether a value is in range is the job's business, checked once
 * beside its settings type (e.g. validateSampleSettings, validateEvalSettings).
 */
import { UserError } from '../util/errors.js';

/** A finite number, or a UserError naming the flag. */
export function finiteNumber(value: string, flag: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n)) throw new UserError(`${flag} must be a number, got "${value}"`);
  return n;
}

/** A positive integer (undefined when the flag was not given), or a UserError naming the flag. */
export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new UserError(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

/** An integer >= 0, or a UserError naming the flag. */
export function nonNegativeInt(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new UserError(`${flag} must be a non-negative integer, got "${value}"`);
  return n;
}
