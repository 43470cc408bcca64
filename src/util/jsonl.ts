/**
 * JSONL in and out. Reading reports malformed lines with their line number (the caller decides
 * whether to skip or stop); appending writes one whole line per call and flushes it, so a killed
 * process loses at most the record it was writing, and `readJsonl` ignores a torn last line.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync, ftruncateSync, fstatSync } from 'node:fs';
import { UserError, errorMessage } from './errors.js';

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
}

/** Parse every line of a JSONL file. Blank lines are skipped; bad lines go to `problems`. */
export function readJsonl<T = unknown>(path: string, what = 'JSONL file'): JsonlRead<T> {
  if (!existsSync(path)) throw new UserError(`${what} not found: ${path}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`could not read ${what} ${path}: ${errorMessage(e)}`);
  }
  const lines = text.split('\n');
  const records: JsonlLine<T>[] = [];
  const problems: JsonlProblem[] = [];
  let tornTail = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    try {
      records.push({ line: i + 1, value: JSON.parse(raw) as T });
    } catch (e) {
      if (i === lines.length - 1 && !text.endsWith('\n')) tornTail = true;
      else problems.push({ line: i + 1, message: errorMessage(e) });
    }
  }
  return { records, problems, tornTail };
}

/**
 * An append-only JSONL writer. Opening it repairs a torn last line (left by a killed process) by
 * truncating it, so the file is always a sequence of whole records.
 */
export class JsonlAppender {
  private fd: number;
  constructor(readonly path: string, options: { fsync?: boolean } = {}) {
    this.fsync = options.fsync ?? false;
    try {
      this.fd = openSync(path, 'a+');
      truncateTornTail(this.fd, path);
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`could not open ${path} for appending: ${errorMessage(e)}`);
    }
  }
  private readonly fsync: boolean;

  append(value: unknown): void {
    this.appendMany([value]);
  }

  /** Write several records as one write call: they land together or (if killed) as a torn tail. */
  appendMany(values: unknown[]): void {
    if (values.length === 0) return;
    const buf = Buffer.from(values.map((v) => `${JSON.stringify(v)}\n`).join(''), 'utf8');
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
      if (this.fsync) fsyncSync(this.fd);
    } catch (e) {
      throw new UserError(`could not append to ${this.path}: ${errorMessage(e)}`);
    }
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

function truncateTornTail(fd: number, path: string): void {
  const size = fstatSync(fd).size;
  if (size === 0) return;
  const text = readFileSync(path);
  if (text[text.length - 1] === 0x0a) return;
  const lastNl = text.lastIndexOf(0x0a);
  ftruncateSync(fd, lastNl + 1);
}
