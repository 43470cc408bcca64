/**
 * JSONL in and out. Reading reports malformed lines with their line number (the caller decides
 * whether to skip or stop); appending writes one whole line per call and flushes it, so a killed
 * process loses at most the record it was writing, and `readJsonl` ignores a torn last line.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync, ftruncateSync, fstatSync } from 'node:fs';
import { UserError, errorMessage } from './errors.js';
import { readTextFile } from './fsx.js';

export interface JsonlLine<T> {
  /** 1-based line number in the file. */
  line: number;
  value: T;
}

export interface JsonlProblem {
  line: number;
  message: string;
}

export interface JsonlRead<T> {
  records: JsonlLine<T>[];
  problems: JsonlProblem[];
  /** True when the file ends in a line without a newline that did not parse (a torn write). */
  tornTail: boolean;
  /** That line's number (null when the file ends whole). */
  tornLine: number | null;
}

/**
 * For an input file a cut-off last line is damage, not an interrupted append of ours: the message
 * every reader of an input reports it with (null when the file ends whole).
 */
export function tornInputMessage(read: JsonlRead<unknown>): string | null {
  return read.tornLine === null ? null : 'the last line is cut off (not complete JSON and no final newline): the file is truncated';
}

/** Parse every line of a JSONL file. Blank lines are skipped; bad lines go to `problems`. */
export function readJsonl<T = unknown>(path: string, what = 'JSONL file'): JsonlRead<T> {
  const text = readTextFile(path, what);
  const lines = text.split('\n');
  const records: JsonlLine<T>[] = [];
  const problems: JsonlProblem[] = [];
  let tornTail = false;
  let tornLine: number | null = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    try {
      records.push({ line: i + 1, value: JSON.parse(raw) as T });
    } catch (e) {
      if (i === lines.length - 1 && !text.endsWith('\n')) { tornTail = true; tornLine = i + 1; }
      else problems.push({ line: i + 1, message: errorMessage(e) });
    }
  }
  return { records, problems, tornTail, tornLine };
}

/** What repairing a torn last line cut off. */
export interface TornTailRepair {
  path: string;
  /** 1-based line number of the cut line. */
  line: number;
  /** Bytes removed (the partial record). */
  bytes: number;
}

/**
 * An append-only JSONL writer. Opening it repairs a torn last line (left by a killed process or a
 * full disk) by truncating it, and reports the cut through `onRepair`, so the file is always a
 * sequence of whole records. src/util/run-dir.ts's `openAppendLog` is how jobs open one.
 */
export class JsonlAppender {
  private fd: number;
  private size: number;
  /** Set when opening cut a torn last line. */
  readonly repaired: TornTailRepair | null;
  constructor(readonly path: string, options: { fsync?: boolean; onRepair?: (r: TornTailRepair) => void } = {}) {
    this.fsync = options.fsync ?? false;
    try {
      this.fd = openSync(path, 'a+');
      this.repaired = truncateTornTail(this.fd, path);
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`could not open ${path} for appending: ${errorMessage(e)}`);
    }
    if (this.repaired) options.onRepair?.(this.repaired);
  }
  private readonly fsync: boolean;

  append(value: unknown): void {
    this.appendMany([value]);
  }

  /**
   * Write several records as one chunk: they land together or not at all. A failed write (a full
   * disk) is cut back to the last whole record before the error is thrown; if even that fails, the
   * next run finds a torn tail and repairs it.
   */
  appendMany(values: unknown[]): void {
    if (values.length === 0) return;
    const buf = Buffer.from(values.map((v) => `${JSON.stringify(v)}\n`).join(''), 'utf8');
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
      if (this.fsync) fsyncSync(this.fd);
      this.size += buf.length;
    } catch (e) {
      let cut = '';
      try {
        ftruncateSync(this.fd, this.size);
        cut = '; the partial record was removed';
      } catch { /* the next run repairs it */ }
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOSPC' ? 'no space left on device' : errorMessage(e);
      throw new UserError(`could not append to ${this.path}: ${why}${cut}. Whole records written so far are kept: free the problem and run the same command again to continue`, { cause: e });
    }
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * Make the file end in a whole line. A last line without its newline that still parses is a whole
 * record whose newline was not written (readers count it): the newline is added. Anything else is
 * a partial record: it is cut, and the cut is returned.
 */
function truncateTornTail(fd: number, path: string): TornTailRepair | null {
  const size = fstatSync(fd).size;
  if (size === 0) return null;
  const text = readFileSync(path);
  if (text[text.length - 1] === 0x0a) return null;
  const lastNl = text.lastIndexOf(0x0a);
  try {
    JSON.parse(text.subarray(lastNl + 1).toString('utf8'));
    writeSync(fd, '\n');
    return null;
  } catch { /* a partial record */ }
  ftruncateSync(fd, lastNl + 1);
  let line = 1;
  for (let i = 0; i <= lastNl; i++) if (text[i] === 0x0a) line++;
  return { path, line, bytes: size - (lastNl + 1) };
}
