/**
 * Files that survive a killed process: whole files are written atomically (temp file, fsync,
 * rename), logs are appended and flushed record by record.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { UserError, errorMessage } from './errors.js';

/** Write `data` to `path` so that readers see either the old file or the whole new one. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  writeFileAtomicStreaming(path, (write) => write(buf));
}

/** Writes of at most this many bytes per call: some platforms cap a single write near 2 GiB. */
const MAX_WRITE_BYTES = 64 << 20;

/**
 * Like writeFileAtomic, for files too large to build in memory: `fill` hands the bytes over piece
 * by piece. Any failure (a full disk, an error thrown by `fill`) removes the temp file, leaves
 * whatever was at `path` untouched and throws a UserError naming `path`.
 */
export function writeFileAtomicStreaming(path: string, fill: (write: (bytes: Uint8Array) => void) => void): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd = -1;
  let created = false;
  try {
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(tmp, 'w');
    created = true;
    const out = fd;
    fill((bytes) => {
      let off = 0;
      while (off < bytes.length) off += writeSync(out, bytes, off, Math.min(bytes.length - off, MAX_WRITE_BYTES));
    });
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    if (created) rmSync(tmp, { force: true });
    throw new UserError(`could not write ${path}: ${errorMessage(e)}`, { cause: e });
  }
}

/** Read a UTF-8 text file; a missing or unreadable file is a UserError naming it as `what` and its path. */
export function readTextFile(path: string, what: string): string {
  if (!existsSync(path)) throw new UserError(`${what} not found: ${path}`);
  // Reading a FIFO or a device would block or never end.
  if (!statSync(path).isFile()) throw new UserError(`${what} ${path} is not a regular file`);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`could not read ${what} ${path}: ${errorMessage(e)}`);
  }
}

/** Read and parse a JSON file, naming the file in every error. */
export function readJsonFile<T = unknown>(path: string, what = 'JSON file'): T {
  const text = readTextFile(path, what);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UserError(`${path} is not valid JSON: ${errorMessage(e)}`);
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
