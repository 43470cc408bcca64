/**
 * Errors a user can act on. `UserError` carries a message that names the file, the field and what
 * was expected; the CLI prints it without a stack trace and exits with status 2.
 */
export class UserError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** Narrow an unknown thrown value to a message. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Longest text `describeValue` returns by default. */
const DESCRIBE_MAX_CHARS = 200;

/**
 * A bad value as an error message shows it: JSON-like, at most `maxChars` characters (an ellipsis
 * and the size of what was cut), whatever the value. Input files are hostile: a value may be a
 * 50-million-element array or nested a million levels deep, and JSON.stringify would then build a
 * 150 MB message or overflow the stack. This walks the value with an explicit stack and stops as
 * soon as the budget is spent, so its cost is bounded by `maxChars`, not by the value.
 */
export function describeValue(value: unknown, maxChars = DESCRIBE_MAX_CHARS): string {
  let out = '';
  let full = false;
  const emit = (s: string): void => {
    if (full) return;
    if (out.length + s.length > maxChars) {
      out += s.slice(0, Math.max(0, maxChars - out.length));
      full = true;
    } else out += s;
  };
  // Work items: a value to print, or literal text (closing brackets, separators).
  type Item = { v: unknown } | { text: string };
  const stack: Item[] = [{ v: value }];
  while (stack.length > 0 && !full) {
    const item = stack.pop()!;
    if ('text' in item) {
      emit(item.text);
      continue;
    }
    const v = item.v;
    if (v === null) emit('null');
    else if (v === undefined) emit('undefined');
    else if (typeof v === 'string') emit(JSON.stringify(v.length > maxChars ? v.slice(0, maxChars) : v));
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') emit(String(v));
    else if (Array.isArray(v)) {
      emit('[');
      // Push in reverse so items come out in order; at most maxChars items can ever be shown.
      const n = Math.min(v.length, maxChars);
      stack.push({ text: v.length > n ? ', …]' : ']' });
      for (let i = n - 1; i >= 0; i--) {
        stack.push({ v: v[i] });
        if (i > 0) stack.push({ text: ', ' });
      }
    } else if (typeof v === 'object') {
      emit('{');
      const keys: string[] = [];
      // for..in stops early: Object.keys of a huge object would copy every key first.
      for (const k in v as object) {
        if (!Object.hasOwn(v as object, k)) continue;
        if (keys.length > maxChars) break;
        keys.push(k);
      }
      const n = Math.min(keys.length, maxChars);
      stack.push({ text: keys.length > n ? ', …}' : '}' });
      for (let i = n - 1; i >= 0; i--) {
        stack.push({ v: (v as Record<string, unknown>)[keys[i]!] });
        stack.push({ text: `${JSON.stringify(keys[i]!.length > maxChars ? keys[i]!.slice(0, maxChars) : keys[i]!)}: ` });
        if (i > 0) stack.push({ text: ', ' });
      }
    } else emit(typeof v);
  }
  if (full || stack.length > 0) {
    const kind = Array.isArray(value) ? `an array of ${value.length} items` : typeof value === 'string' ? `a string of ${value.length} characters` : typeof value === 'object' && value !== null ? 'an object' : typeof value;
    const note = `… (${kind}, cut)`;
    return out.slice(0, Math.max(0, maxChars - note.length)) + note;
  }
  return out;
}
