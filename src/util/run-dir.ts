/**
 * The one home of what every long-running command (sample, eval, sft, train, pretrain, demo) needs
 * so that a killed, restarted or doubled run never mixes, loses or doubles work:
 *
 *   - a lock: one writer per output (`acquireRunLock`). A second process is refused with the
 *     holder's pid, host, start time and command; a lock left by a killed process (its pid is no
 *     longer alive on this host) is taken over.
 *   - a manifest: the settings an output was started with, kept beside it and compared on restart
 *     (`readManifest`, `writeManifest`, `settingDifferences`, `fingerprintDifferences`), so that a
 *     restart with other settings is refused naming each changed argument.
 *   - append-only JSONL (`openAppendLog`, a `JsonlAppender` whose repair is reported): records are
 *     appended in whole chunks and flushed, and a torn last line (a killed process or a full disk)
 *     is cut on the next run and reported (which line, how many bytes).
 *   - an output check before any model is loaded (`prepareOutputPath`): a bad --out fails fast with
 *     the real reason (read-only directory, a file where a directory should be), never as ENOENT.
 */
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync, constants as fsConstants, accessSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError, errorMessage } from './errors.js';
import { readJsonFile, writeJsonAtomic } from './fsx.js';
import { JsonlAppender, type TornTailRepair } from './jsonl.js';

export type { TornTailRepair } from './jsonl.js';

/** Where a job's notices go when its caller gave no `onWarning`: stderr, as the CLI prints warnings. */
export function defaultWarn(message: string): void {
  process.stderr.write(`lightreasoner: warning: ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Output paths

function codeOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** The nearest existing ancestor of `path` (itself included). */
function nearestExisting(path: string): string {
  let p = resolve(path);
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

/**
 * Make sure `path` can be written as a `kind` ('file': its directory is created; 'dir': the
 * directory itself) and say exactly why not: a read-only directory is reported as such (not as the
 * ENOENT a later write would give), a file standing where a directory is needed likewise. Call it
 * before loading any model.
 */
export function prepareOutputPath(path: string, kind: 'file' | 'dir', flag = '--out'): void {
  const dir = kind === 'dir' ? resolve(path) : dirname(resolve(path));
  if (kind === 'file' && existsSync(path) && statSync(path).isDirectory()) throw new UserError(`${flag} ${path} is a directory; give a file path`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UserError(`${flag} ${path}: ${dir} exists and is not a directory`);
  const base = nearestExisting(dir);
  if (!statSync(base).isDirectory()) throw new UserError(`${flag} ${path}: ${base} is a file, so the directory ${dir} cannot be created`);
  const writable = (p: string, what: string): void => {
    try {
      accessSync(p, fsConstants.W_OK | (what === 'directory' ? fsConstants.X_OK : 0));
    } catch (e) {
      const why = codeOf(e) === 'EROFS' ? 'is on a read-only file system' : 'is not writable by this user (permission denied)';
      throw new UserError(`${flag} ${path}: cannot write there: the ${what} ${p} ${why}`, { cause: e });
    }
  };
  writable(base, 'directory');
  if (kind === 'file' && existsSync(path)) writable(path, 'file');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const why = codeOf(e) === 'EACCES' || codeOf(e) === 'EPERM' ? `permission denied creating ${dir}` : codeOf(e) === 'EROFS' ? `${dir} is on a read-only file system` : errorMessage(e);
    throw new UserError(`${flag} ${path}: cannot create the output directory: ${why}`, { cause: e });
  }
}

// ---------------------------------------------------------------------------------------------
// Lock

/** What a lock file holds: who writes the output. */
export interface LockHolder {
  pid: number;
  host: string;
  started: string;
  command: string;
  /** Random: tells this lock from a later one of the same pid. */
  token: string;
  /** The holder's start time as the kernel counts it (Linux), so a reused pid is not mistaken for the holder. */
  procStart?: string;
}

/** The lock file of an output: `<file>.lock` beside a file, `<dir>/.lightreasoner.lock` inside a directory. */
export function lockPathFor(target: string, kind: 'file' | 'dir'): string {
  return kind === 'dir' ? join(target, '.lightreasoner.lock') : `${target}.lock`;
}

/** True when `pid` is a live process on this host (EPERM: alive, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return codeOf(e) === 'EPERM';
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or null where there is no /proc. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** True when the lock's holder is still running: its pid is alive and (where known) started when the holder did. */
function holderAlive(h: LockHolder): boolean {
  if (!pidAlive(h.pid)) return false;
  if (h.procStart === undefined) return true;
  const now = processStartTime(h.pid);
  return now === null || now === h.procStart;
}

function readHolder(path: string): LockHolder | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return null;
    throw e;
  }
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.token === 'string') {
      return { pid: v.pid, host: v.host, started: String(v.started ?? '?'), command: String(v.command ?? '?'), token: v.token, ...(typeof v.procStart === 'string' ? { procStart: v.procStart } : {}) };
    }
  } catch { /* fall through: not a lock we wrote */ }
  return { pid: -1, host: '?', started: '?', command: '?', token: `unreadable:${text.slice(0, 64)}` };
}

/** Sleep `ms` milliseconds synchronously (lock takeover waits are a few milliseconds). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const held = new Set<RunLock>();
let exitHooked = false;

/** An exclusive lock on one output, held until `release()` (or until this process exits). */
export class RunLock {
  private released = false;
  constructor(readonly target: string, readonly path: string, readonly holder: LockHolder) {}

  get isHeld(): boolean {
    return !this.released;
  }

  /** Remove the lock file if it is still this lock's (never another process's). */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this);
    try {
      if (readHolder(this.path)?.token === this.holder.token) unlinkSync(this.path);
    } catch { /* already gone */ }
  }
}

function describeHolder(h: LockHolder): string {
  if (h.pid === -1) return 'an unreadable lock file';
  const who = h.pid === process.pid && h.host === hostname() ? `this process (pid ${h.pid}), in another job` : `pid ${h.pid} on ${h.host}`;
  return `${who}, started ${h.started}: ${h.command}`;
}

/**
 * Take the exclusive lock on `target` (an output file or directory). The lock file is written
 * whole under a temp name and linked into place, so it appears atomically and complete; a second
 * writer gets a UserError naming the holder. A lock whose holder is dead (same host, pid no longer
 * alive, or alive but started at another time: a reused pid) is taken over: under a takeover
 * mutex it is checked to still be the dead one and removed, then created afresh as usual (so two
 * processes taking over at once cannot both win).
 */
export function acquireRunLock(target: string, kind: 'file' | 'dir', options: { flag?: string; onWarning?: (m: string) => void } = {}): RunLock {
  const flag = options.flag ?? '--out';
  prepareOutputPath(target, kind, flag);
  const path = lockPathFor(target, kind);
  const holder: LockHolder = {
    pid: process.pid, host: hostname(), started: new Date().toISOString(),
    command: ['lightreasoner', ...process.argv.slice(2)].join(' ').slice(0, 300), token: randomBytes(8).toString('hex'),
  };
  const procStart = processStartTime(process.pid);
  if (procStart !== null) holder.procStart = procStart;
  const tmp = `${path}.${process.pid}.${holder.token}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        linkSync(tmp, path);
        const lock = new RunLock(target, path, holder);
        held.add(lock);
        if (!exitHooked) {
          exitHooked = true;
          process.on('exit', () => { for (const l of [...held]) l.release(); });
        }
        return lock;
      } catch (e) {
        if (codeOf(e) !== 'EEXIST') throw new UserError(`${flag} ${target}: cannot create the lock file ${path}: ${errorMessage(e)}`, { cause: e });
      }
      const other = readHolder(path);
      if (other === null) continue; // released between our link and read: try again
      const stale = other.pid !== -1 && other.host === hostname() && !holderAlive(other);
      if (!stale) {
        throw new UserError(`${target} is being written by another run: ${describeHolder(other)}. Two writers would double its records; wait for that run to finish or use another ${flag}. If no such process is running, remove ${path}`);
      }
      // Take the dead holder's lock over without ever touching a live one: one process at a time
      // (a takeover mutex, itself created atomically) checks that the lock is still the dead one
      // and removes it; everyone then races to create it afresh, and exactly one wins.
      const mutex = `${path}.takeover`;
      try {
        linkSync(tmp, mutex);
      } catch (e) {
        if (codeOf(e) !== 'EEXIST') throw e;
        const m = readHolder(mutex);
        // A takeover whose process died inside it (a window of microseconds) is itself stale.
        if (m !== null && m.pid !== -1 && m.host === hostname() && !holderAlive(m)) {
          try { unlinkSync(mutex); } catch { /* another process removed it */ }
        }
        pause(2);
        continue;
      }
      try {
        if (readHolder(path)?.token === other.token) {
          unlinkSync(path);
          options.onWarning?.(`${target}: took over the lock of pid ${other.pid} (started ${other.started}), which is no longer running`);
        }
      } finally {
        unlinkSync(mutex);
      }
    }
    const now = readHolder(path);
    throw new UserError(`${target} is being written by another run: ${now ? describeHolder(now) : 'unknown holder'}; use another ${flag}`);
  } finally {
    try { unlinkSync(tmp); } catch { /* gone */ }
  }
}

/**
 * Run `f` holding the lock on `target` (the one wrapper every job uses): the caller's `lock` when it
 * took it already (checked to be for `target`), else our own, taken first and released when `f` is
 * done — when its promise settles, for an async `f`. `check` runs once our own lock is held and
 * before `f` (e.g. that the output directory can hold this run); a caller holding the lock has checked.
 */
export function withRunLock<T>(target: string, kind: 'file' | 'dir', lock: RunLock | undefined, f: (lock: RunLock) => T, check?: () => void): T {
  if (lock) {
    assertLockFor(lock, target);
    return f(lock);
  }
  const own = acquireRunLock(target, kind);
  let result: T;
  try {
    check?.();
    result = f(own);
  } catch (e) {
    own.release();
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => own.release()) as T;
  own.release();
  return result;
}

function assertLockFor(lock: RunLock, target: string): void {
  if (!lock.isHeld || resolve(lock.target) !== resolve(target)) {
    throw new Error(`internal: the lock passed in is ${lock.isHeld ? `for ${lock.target}` : 'released'}, not held for ${target}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Manifest

/** Read a manifest (null when there is none). */
export function readManifest<T>(path: string, what: string): T | null {
  return existsSync(path) ? readJsonFile<T>(path, what) : null;
}

export function writeManifest(path: string, manifest: unknown): void {
  writeJsonAtomic(path, manifest);
}

/** "label: was X, now Y" for each field whose value changed (compared as JSON). */
export function settingDifferences(fields: ReadonlyArray<{ label: string; was: unknown; now: unknown }>): string[] {
  return fields.filter((f) => JSON.stringify(f.was) !== JSON.stringify(f.now)).map((f) => `${f.label}: was ${JSON.stringify(f.was)}, now ${JSON.stringify(f.now)}`);
}

/** Key-by-key differences of two flat records (every key of either), labelled by `label`. */
export function fingerprintDifferences(saved: Record<string, unknown>, now: Record<string, unknown>, label: (key: string) => string = (k) => k): string[] {
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])].sort();
  return settingDifferences(keys.map((k) => ({ label: label(k), was: saved[k], now: now[k] })));
}

// ---------------------------------------------------------------------------------------------
// Append-only JSONL

/** How a repaired torn tail is reported. */
function describeRepair(r: TornTailRepair): string {
  return `${r.path}: cut an incomplete last line (line ${r.line}, ${r.bytes} byte${r.bytes === 1 ? '' : 's'} without a newline) left by an interrupted run (killed, or a full disk); that record is written again`;
}

/**
 * Open one of our append-only outputs for appending. A torn last line is cut and reported through
 * `onWarning` (default: stderr), so the file is always whole records.
 */
export function openAppendLog(path: string, onWarning: (m: string) => void = defaultWarn, options: { fsync?: boolean } = {}): JsonlAppender {
  return new JsonlAppender(path, { ...options, onRepair: (r) => onWarning(describeRepair(r)) });
}
