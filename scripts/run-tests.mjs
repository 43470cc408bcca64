#!/usr/bin/env node
// Runs every compiled test (dist/**/*.test.js) with Node's built-in test runner.
// Usage: npm test [-- name-filter]   e.g. `npm test -- sgemm` runs files whose path contains "sgemm".
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

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
const filters = process.argv.slice(2);
const chosen = files.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (chosen.length === 0) {
  console.error(`no test files matched ${filters.join(' ') || '(all)'}; run npm run build first`);
  process.exit(1);
}
console.log(`running ${chosen.length} test files: ${chosen.map((f) => relative('dist', f)).join(', ')}`);
// Tests never reach the real Hugging Face Hub: a path that looks like ORG/NAME and does not exist is
// looked up in the Hub cache only (tests of downloads run their own Hub on 127.0.0.1).
const env = { ...process.env, HF_HUB_OFFLINE: '1' };
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...chosen], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
