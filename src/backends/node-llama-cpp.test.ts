import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../util/errors.js';
import { chooseLlamaThreads, importNodeLlamaCpp, physicalCores } from './node-llama-cpp.js';

test('a missing node-llama-cpp is reported with the command that installs the pinned version', async () => {
  await assert.rejects(importNodeLlamaCpp('node-llama-cpp-not-installed-here'), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /needs the optional package node-llama-cpp, which is not installed; install it with `npm install node-llama-cpp@3\.21\.1`/);
    return true;
  });
});

test('llama.cpp threads default to the physical cores minus the load average, with a warning when load took some away', () => {
  assert.deepEqual(chooseLlamaThreads(8, 0.3), { threads: 8, warning: null });
  assert.deepEqual(chooseLlamaThreads(8, 0), { threads: 8, warning: null });
  const busy = chooseLlamaThreads(8, 2.6);
  assert.equal(busy.threads, 5);
  assert.match(busy.warning!, /busy \(load average 2\.60 over the last minute on 8 physical cores\); using 5 threads\. Choose with --llama-threads/);
  const overloaded = chooseLlamaThreads(2, 7.99);
  assert.equal(overloaded.threads, 1);
  assert.match(overloaded.warning!, /using 1 thread, and it will run slower/);
  assert.deepEqual(chooseLlamaThreads(1, 0.2), { threads: 1, warning: null });
  assert.equal(chooseLlamaThreads(4, NaN).threads, 4);
});

test('physical cores are the distinct (physical id, core id) pairs of /proc/cpuinfo, capped by the usable CPUs', () => {
  const cpu = (n: number, phys: number, core: number): string => `processor\t: ${n}\nphysical id\t: ${phys}\ncore id\t\t: ${core}\n`;
  // Two sockets, two cores each, two hyper-threads per core: 8 logical CPUs, 4 physical cores.
  const smt = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => cpu(n, n >> 2, (n >> 1) & 1)).join('\n');
  assert.equal(physicalCores(smt, 8), 4);
  assert.equal(physicalCores(smt, 3), 3);
  assert.equal(physicalCores('processor\t: 0\nmodel name\t: some vm\n', 6), 6);
  assert.ok(physicalCores() >= 1);
});
