/**
 * A strict JSON parser for headers of binary files (safetensors): RFC 8259 JSON, but a repeated
 * object key is an error instead of JSON.parse's silent last-wins, nesting deeper than `maxDepth`
 * is an error, and nothing recurses on the input's depth (containers are tracked on an explicit
 * stack), so hostile input ends in a `StrictJsonError` with a byte position — never a RangeError.
 *
 * Objects come back with a null prototype, so a key such as "__proto__" is data, not a setter.
 */

export class StrictJsonError extends Error {
  /** syntax: not JSON; duplicate: a repeated key; limit: valid JSON beyond maxDepth or maxArrayItems. */
  constructor(message: string, readonly position: number, readonly kind: 'syntax' | 'duplicate' | 'limit' = 'syntax') {
    super(`${message} at position ${position}`);
    this.name = 'StrictJsonError';
  }
}

export interface StrictJsonOptions {
  /** Deepest nesting of arrays and objects accepted (default 64). */
  maxDepth?: number;
  /** Most items one array may hold (default unlimited): a format with short arrays stops a huge one at once. */
  maxArrayItems?: number;
}

type Container = { kind: 'array'; value: unknown[] } | { kind: 'object'; value: Record<string, unknown>; key: string | null };

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Parse `text` as one JSON value (surrounding whitespace allowed). */
export function parseJsonStrict(text: string, opts: StrictJsonOptions = {}): unknown {
  const maxDepth = opts.maxDepth ?? 64;
  const maxArrayItems = opts.maxArrayItems ?? Infinity;
  const stack: Container[] = [];
  let pos = 0;
  const n = text.length;
  const skipWs = (): void => {
    while (pos < n && isWs(text.charCodeAt(pos))) pos++;
  };
  const fail = (what: string): never => {
    throw new StrictJsonError(pos >= n ? `unexpected end of JSON (${what})` : `${what}, found ${JSON.stringify(text.slice(pos, pos + 12))}`, pos);
  };
  const refuse = (what: string): never => {
    throw new StrictJsonError(what, pos, 'limit');
  };
  // A hand-written scan: a regex over a multi-megabyte string could exhaust the regex engine's stack.
  const readString = (): string => {
    const start = pos;
    let escaped = false;
    let i = pos + 1;
    for (;;) {
      if (i >= n) {
        pos = i;
        fail('unterminated string');
      }
      const ch = text.charCodeAt(i);
      if (ch === 0x22) break;
      if (ch < 0x20) {
        pos = i;
        fail('control character in a string (it must be escaped)');
      }
      if (ch === 0x5c) {
        escaped = true;
        const e = text.charCodeAt(i + 1);
        if (e === 0x75 /* u */) {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            pos = i;
            fail('bad \\u escape in a string');
          }
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(String.fromCharCode(e)) || Number.isNaN(e)) {
          pos = i;
          fail('bad escape in a string');
        }
        i += 2;
        continue;
      }
      i++;
    }
    pos = i + 1;
    // Escapes are decoded by the engine: JSON.parse of one flat string literal.
    return escaped ? (JSON.parse(text.slice(start, pos)) as string) : text.slice(start + 1, i);
  };
  let result: unknown;
  let done = false;
  // Each turn reads one value (scalar, or the opening of a container) and places it.
  for (;;) {
    skipWs();
    let value: unknown;
    let opened: Container | null = null;
    const c = text.charCodeAt(pos);
    if (c === 0x7b /* { */) {
      pos++;
      opened = { kind: 'object', value: Object.create(null) as Record<string, unknown>, key: null };
    } else if (c === 0x5b /* [ */) {
      pos++;
      opened = { kind: 'array', value: [] };
    } else if (c === 0x22 /* " */) value = readString();
    else if (text.startsWith('true', pos)) { value = true; pos += 4; }
    else if (text.startsWith('false', pos)) { value = false; pos += 5; }
    else if (text.startsWith('null', pos)) { value = null; pos += 4; }
    else {
      NUMBER.lastIndex = pos;
      const m = NUMBER.exec(text);
      if (!m) fail('expected a JSON value');
      pos = NUMBER.lastIndex;
      value = Number(m![0]);
    }
    if (opened) {
      if (stack.length >= maxDepth) refuse(`nesting deeper than ${maxDepth} levels`);
      stack.push(opened);
      skipWs();
      const close = opened.kind === 'array' ? 0x5d : 0x7d;
      if (text.charCodeAt(pos) === close) {
        pos++;
        stack.pop();
        value = opened.value;
        opened = null;
      } else if (opened.kind === 'object') {
        if (text.charCodeAt(pos) !== 0x22) fail('expected an object key (a string)');
        readKey(opened);
        continue;
      } else continue;
    }
    // Place `value` in its parent, then close every container that ends here.
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) {
        result = value;
        done = true;
        break;
      }
      if (top.kind === 'array') {
        if (top.value.length >= maxArrayItems) refuse(`an array longer than ${maxArrayItems} items`);
        top.value.push(value);
      }
      else top.value[top.key!] = value;
      skipWs();
      const ch = text.charCodeAt(pos);
      if (ch === 0x2c /* , */) {
        pos++;
        if (top.kind === 'object') {
          skipWs();
          if (text.charCodeAt(pos) !== 0x22) fail('expected an object key (a string)');
          readKey(top);
        }
        break;
      }
      if ((top.kind === 'array' && ch === 0x5d) || (top.kind === 'object' && ch === 0x7d)) {
        pos++;
        stack.pop();
        value = top.value;
        continue;
      }
      fail(top.kind === 'array' ? 'expected "," or "]"' : 'expected "," or "}"');
    }
    if (done) break;
  }
  skipWs();
  if (pos < n) fail('unexpected data after the JSON value');
  return result;

  function readKey(obj: Container & { kind: 'object' }): void {
    const at = pos;
    const key = readString();
    if (Object.hasOwn(obj.value, key)) {
      throw new StrictJsonError(`key ${JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key)} appears twice in one object`, at, 'duplicate');
    }
    skipWs();
    if (text.charCodeAt(pos) !== 0x3a /* : */) fail('expected ":" after an object key');
    pos++;
    obj.key = key;
  }
}
