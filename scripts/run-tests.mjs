#!/usr/bin/env node
// Runs the compiled tests (dist/**/*.test.js) with Node's built-in test runner.
//
//   npm test [-- name-filter...]            the full suite (what CI and the README's checks run)
//   npm run test:fast [-- name-filter...]   everything except the slow end-to-end files in SLOW below
//
// A filter keeps the files whose path contains it, e.g. `npm test -- sgemm`.
//
// The fast path exists for the edit-build-test loop: one op or one parser changed, and the answer
// comes in well under a minute instead of waiting for the demo. It leaves out whole files, by the
// list below (a file is slow when one run of it takes tens of seconds on the 2-core machine); a
// slow file is named here with the reason, and its tests stay in `npm test`. Keep slow tests in
// their own files so nothing quick hides among them.
//
// Only test files that still have their source (src/**/x.test.ts or tools/**/x.test.ts) run, so
// a test that was moved or deleted does not keep running from a stale dist/ copy.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Slow end-to-end files skipped by --fast (paths under dist/, without the extension). */
const SLOW = new Map([
  ['src/demo/end-to-end.test', 'demo --quick end to end: data, sample, train, merge and five evals'],
  ['src/backends/llama-cpp.test', 'llama.cpp runs: GGUF export and both back ends on five models'],
  ['src/backends/sample-llama-cpp.test', 'llama.cpp runs: sampling 20 questions on both back ends'],
  ['tools/bench/llama-baseline.test', 'llama.cpp runs: the bench\'s back-end rows'],
  ['src/package.slow.test', 'npm pack, an offline install into a temp project (compiling the addon) and the README Library examples'],
]);

const args = process.argv.slice(2);
const fast = args.includes('--fast');
const filters = args.filter((a) => a !== '--fast');

const roots = ['dist/src', 'dist/tools'];
const files = [];
function walk(dir) {
  let entries;
  try { entries = readdirSync(dir); } catch { return; }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (e.endsWith('.test.js')) files.push(p);
  }
}
roots.forEach(walk);
const id = (f) => relative('dist', f).replace(/\.js$/, '');
const hasSource = (f) => existsSync(`${id(f)}.ts`);
const chosen = files
  .filter(hasSource)
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .filter((f) => !(fast && SLOW.has(id(f))))
  .sort();
if (chosen.length === 0) {
  console.error(`no test files matched ${filters.join(' ') || '(all)'}; run npm run build first`);
  process.exit(1);
}
if (fast) console.log(`test:fast leaves out ${[...SLOW.keys()].join(', ')} (npm test runs them)`);
console.log(`running ${chosen.length} test files: ${chosen.map((f) => relative('dist', f)).join(', ')}`);
// Tests never reach the real Hugging Face Hub: a path that looks like ORG/NAME and does not exist is
// looked up in the Hub cache only (tests of downloads run their own Hub on 127.0.0.1).
const env = { ...process.env, HF_HUB_OFFLINE: '1' };
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...chosen], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
