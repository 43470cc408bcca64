import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { testTempDir } from '../testing/tmp.js';
import { UserError } from './errors.js';
import { acquireRunLock, withRunLock, fingerprintDifferences, lockPathFor, openAppendLog, pidAlive, prepareOutputPath, processStartTime, settingDifferences } from './run-dir.js';

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

test('a lock whose pid is alive but belongs to a process started later (a reused pid) is stale', { skip: processStartTime(process.pid) === null && 'no /proc here' }, () => {
  const target = join(testTempDir('lr-lock-'), 'reused.jsonl');
  writeFileSync(`${target}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), started: '2020-01-01T00:00:00.000Z', command: 'lightreasoner sample', token: 'old', procStart: '1' }));
  const warnings: string[] = [];
  const lock = acquireRunLock(target, 'file', { onWarning: (m) => warnings.push(m) });
  assert.match(warnings.join('\n'), /took over the lock of pid \d+ \(started 2020-01-01/);
  lock.release();
});

test('processes racing for one stale lock: exactly one gets it, the others are refused naming the winner', async () => {
  const target = join(testTempDir('lr-lock-'), 'race.jsonl');
  const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((res) => dead.on('exit', res));
  writeFileSync(`${target}.lock`, JSON.stringify({ pid: dead.pid, host: hostname(), started: 'then', command: 'lightreasoner eval', token: 'dead' }));
  const go = join(testTempDir('lr-lock-'), 'go');
  const racers = Array.from({ length: 4 }, () => spawn(process.execPath, ['--input-type=module', '-e', `
    import { existsSync } from 'node:fs';
    const m = await import(${JSON.stringify(runDirModule)});
    while (!existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 1));
    try { m.acquireRunLock(${JSON.stringify(target)}, 'file'); process.stdout.write('won'); await new Promise((r) => setTimeout(r, 1500)); }
    catch (e) { process.stdout.write('lost: ' + e.message); }
  `], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const outputs = racers.map((c) => new Promise<string>((res) => { let o = ''; c.stdout!.on('data', (d: Buffer) => { o += d.toString(); }); c.on('exit', () => res(o)); }));
  await new Promise((res) => setTimeout(res, 300));
  writeFileSync(go, '');
  const results = await Promise.all(outputs);
  const winners = racers.filter((_, i) => results[i] === 'won');
  assert.equal(winners.length, 1, results.join('\n'));
  for (const r of results.filter((x) => x !== 'won')) assert.match(r, new RegExp(`^lost: .*race\\.jsonl is being written by another run: pid ${winners[0]!.pid} on `));
  assert.ok(!existsSync(`${target}.lock`), 'the winner released it');
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

test('a read-only parent directory is reported as not writable (as root: checked as user nobody)', { skip: process.getuid?.() === 0 && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser') && 'root, and no runuser to drop to another user' }, (t) => {
  // The second user must be able to load this checkout's code: a clone under a 0700 directory
  // (`mktemp -d`) is out of its reach, and the check would then fail for a reason of its own.
  if (process.getuid?.() === 0 && spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', runDirModule]).status !== 0) {
    t.skip(`user nobody cannot read ${runDirModule} (a parent directory is not readable by other users)`);
    return;
  }
  const base = testTempDir('lr-out-');
  chmodSync(base, 0o777);
  const dir = join(base, 'ro');
  prepareOutputPath(dir, 'dir');
  chmodSync(dir, 0o555);
  const target = join(dir, 'run', 'out.jsonl');
  let message: string;
  if (process.getuid?.() === 0) {
    // Root writes anywhere: ask as an ordinary user, in a real second process.
    const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '--input-type=module', '-e',
      `const m = await import(${JSON.stringify(runDirModule)}); try { m.acquireRunLock(${JSON.stringify(target)}, 'file'); process.stdout.write('acquired'); } catch (e) { process.stdout.write(e.message); }`], { encoding: 'utf8' });
    message = r.stdout;
  } else {
    message = '';
    try {
      acquireRunLock(target, 'file');
    } catch (e) {
      message = (e as Error).message;
    }
  }
  chmodSync(dir, 0o755);
  assert.match(message, /cannot write there: the directory .*ro is not writable by this user \(permission denied\)/);
  assert.doesNotMatch(message, /ENOENT/);
});

test('a directory the kernel refuses to create in (sysfs, even for root) is reported as refused, not as ENOENT', { skip: !existsSync('/sys/kernel') && 'no sysfs here' }, () => {
  assert.throws(() => acquireRunLock('/sys/lightreasoner-test/out.jsonl', 'file'), (e: unknown) => e instanceof UserError
    && /--out \/sys\/lightreasoner-test\/out\.jsonl: cannot (create the output directory: (permission denied creating|.* is on a read-only file system)|write there)/.test(e.message)
    && !/ENOENT/.test(e.message));
});

test('setting differences name each changed setting with its old and new value', () => {
  assert.deepEqual(settingDifferences([{ label: '--beta', was: 0.4, now: 0.5 }, { label: '--alpha', was: 0.2, now: 0.2 }]), ['--beta: was 0.4, now 0.5']);
  assert.deepEqual(fingerprintDifferences({ lr: 1, seed: 0 }, { lr: 2, seed: 0, pack: true }, (k) => `--${k}`), ['--lr: was 1, now 2', '--pack: was undefined, now true']);
});

test('withRunLock holds the lock for the whole job, sync or async, releases it on success and on failure, and checks a caller\'s lock is for this target', async () => {
  const dir = testTempDir('with-run-lock');
  const target = join(dir, 'out.jsonl');
  const lockFile = lockPathFor(target, 'file');
  assert.equal(withRunLock(target, 'file', undefined, (l) => { assert.ok(existsSync(lockFile) && l.isHeld); return 7; }), 7);
  assert.ok(!existsSync(lockFile), 'released after a sync job');
  let heldDuring = false;
  const p = withRunLock(target, 'file', undefined, async () => { await new Promise((r) => setTimeout(r, 10)); heldDuring = existsSync(lockFile); return 'done'; });
  assert.ok(existsSync(lockFile), 'held while the async job runs');
  assert.equal(await p, 'done');
  assert.ok(heldDuring && !existsSync(lockFile), 'released when its promise settles');
  await assert.rejects(withRunLock(target, 'file', undefined, async () => { throw new Error('job failed'); }), /job failed/);
  assert.ok(!existsSync(lockFile), 'released after an async failure');
  let ran = false;
  assert.throws(() => withRunLock(target, 'file', undefined, () => { ran = true; }, () => { throw new UserError('out is foreign'); }), /out is foreign/);
  assert.ok(!ran && !existsSync(lockFile), 'a failed check runs nothing and releases');
  const other = acquireRunLock(join(dir, 'other.jsonl'), 'file');
  try {
    assert.throws(() => withRunLock(target, 'file', other, () => 1), /internal: the lock passed in is for .*other\.jsonl/);
    assert.equal(withRunLock(join(dir, 'other.jsonl'), 'file', other, () => 2, () => { throw new Error('not run: the caller checked'); }), 2);
  } finally {
    other.release();
  }
});
