import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testTempDir } from '../testing/tmp.js';
import { UserError } from './errors.js';
import { acquireRunLock, fingerprintDifferences, lockPathFor, openAppendLog, pidAlive, prepareOutputPath, settingDifferences } from './run-dir.js';

const runDirModule = fileURLToPath(new URL('./run-dir.js', import.meta.url));

/** A second, real process that takes the lock on `target` and holds it until killed. */
async function holdLockInChild(target: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e',
    `const m = await import(${JSON.stringify(runDirModule)}); m.acquireRunLock(${JSON.stringify(target)}, 'file'); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`,
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('locked')) res(); });
    child.on('exit', (code) => rej(new Error(`lock holder exited with ${code}`)));
  });
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  const gone = new Promise<void>((res) => child.on('exit', () => res()));
  child.kill('SIGKILL');
  await gone;
}

test('a second process is refused with the holder\'s pid, host and command; once the holder is killed its stale lock is taken over and reported', async () => {
  const target = join(testTempDir('lr-lock-'), 'out.jsonl');
  const child = await holdLockInChild(target);
  try {
    assert.throws(() => acquireRunLock(target, 'file'), (e: unknown) => e instanceof UserError
      && e.message.includes(`${target} is being written by another run: pid ${child.pid} on `)
      && /started \d{4}-\d\d-\d\dT/.test(e.message)
      && e.message.includes(`If no such process is running, remove ${target}.lock`));
  } finally {
    await kill9(child);
  }
  assert.ok(existsSync(`${target}.lock`), 'a killed holder leaves its lock file');
  assert.equal(pidAlive(child.pid!), false);
  const warnings: string[] = [];
  const lock = acquireRunLock(target, 'file', { onWarning: (m) => warnings.push(m) });
  assert.match(warnings.join('\n'), new RegExp(`took over the lock of pid ${child.pid} .*no longer running`));
  assert.equal((JSON.parse(readFileSync(lock.path, 'utf8')) as { pid: number }).pid, process.pid);
  lock.release();
  assert.ok(!existsSync(lock.path), 'release removes the lock file');
});

test('within one process a second job on the same output is refused too, and release never removes another holder\'s lock', () => {
  const dir = join(testTempDir('lr-lock-'), 'run');
  const first = acquireRunLock(dir, 'dir');
  assert.equal(first.path, lockPathFor(dir, 'dir'));
  assert.throws(() => acquireRunLock(dir, 'dir'), /is being written by another run: this process \(pid \d+\), in another job/);
  first.release();
  const second = acquireRunLock(dir, 'dir');
  first.release(); // a late second release of the old lock must not remove the new one
  assert.ok(existsSync(second.path));
  second.release();
});

test('a lock file we cannot read is never taken over', () => {
  const target = join(testTempDir('lr-lock-'), 'x.jsonl');
  writeFileSync(`${target}.lock`, 'garbage');
  assert.throws(() => acquireRunLock(target, 'file'), /is being written by another run: an unreadable lock file/);
  assert.equal(readFileSync(`${target}.lock`, 'utf8'), 'garbage');
});

test('a torn last line of an append-only output is cut on reopening and reported with its line and size; a whole last record missing only its newline is kept', () => {
  const dir = testTempDir('lr-append-');
  const path = join(dir, 'log.jsonl');
  writeFileSync(path, '{"a":1}\n{"a":2}\n{"a":');
  const warnings: string[] = [];
  const log = openAppendLog(path, (m) => warnings.push(m));
  log.append({ a: 3 });
  log.close();
  assert.equal(readFileSync(path, 'utf8'), '{"a":1}\n{"a":2}\n{"a":3}\n');
  assert.deepEqual(warnings, [`${path}: cut an incomplete last line (line 3, 5 bytes without a newline) left by an interrupted run (killed, or a full disk); that record is written again`]);

  const whole = join(dir, 'whole.jsonl');
  writeFileSync(whole, '{"a":1}\n{"a":2}');
  const quiet: string[] = [];
  const w = openAppendLog(whole, (m) => quiet.push(m));
  w.append({ a: 3 });
  w.close();
  assert.equal(readFileSync(whole, 'utf8'), '{"a":1}\n{"a":2}\n{"a":3}\n');
  assert.deepEqual(quiet, []);
});

test('a full disk while appending is a clear error that says the whole records are kept and how to continue', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, () => {
  const log = openAppendLog('/dev/full', () => {});
  assert.throws(() => log.append({ a: 1 }), (e: unknown) => e instanceof UserError
    && /could not append to \/dev\/full: no space left on device/.test(e.message)
    && /run the same command again to continue/.test(e.message));
  log.close();
});

test('an output path that cannot be written says why (a file in the way, a read-only directory), never ENOENT', () => {
  const dir = testTempDir('lr-out-');
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  assert.throws(() => prepareOutputPath(join(file, 'sub', 'out.jsonl'), 'file'), (e: unknown) => e instanceof UserError && /a-file is a file, so the directory .* cannot be created/.test(e.message) && !/ENOENT/.test(e.message));
  assert.throws(() => prepareOutputPath(file, 'dir'), /exists and is not a directory/);
  assert.throws(() => prepareOutputPath(dir, 'file'), /is a directory; give a file path/);
  prepareOutputPath(join(dir, 'new', 'deeper', 'out.jsonl'), 'file');
  assert.ok(existsSync(join(dir, 'new', 'deeper')));
});

test('a read-only parent directory is reported as not writable', { skip: process.getuid?.() === 0 && 'root can write to read-only directories' }, () => {
  const dir = join(testTempDir('lr-out-'), 'ro');
  prepareOutputPath(dir, 'dir');
  chmodSync(dir, 0o555);
  try {
    assert.throws(() => acquireRunLock(join(dir, 'run', 'out.jsonl'), 'file'), /cannot write there: .*ro is not writable by this user \(permission denied\)/);
  } finally {
    chmodSync(dir, 0o755);
  }
});

test('setting differences name each changed setting with its old and new value', () => {
  assert.deepEqual(settingDifferences([{ label: '--beta', was: 0.4, now: 0.5 }, { label: '--alpha', was: 0.2, now: 0.2 }]), ['--beta: was 0.4, now 0.5']);
  assert.deepEqual(fingerprintDifferences({ lr: 1, seed: 0 }, { lr: 2, seed: 0, pack: true }, (k) => `--${k}`), ['--lr: was 1, now 2', '--pack: was undefined, now true']);
});
