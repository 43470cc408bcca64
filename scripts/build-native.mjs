#!/usr/bin/env node
// Builds the native addon (sgemm and the element-wise kernels: native/, binding.gyp) with node-gyp. Runs at `npm install`.
// A failed build is not an install failure: lightreasoner then runs on its JavaScript kernels and
// says so once per process, with the command that gets the fast path.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

if (process.env.LIGHTREASONER_SKIP_NATIVE === '1') {
  console.log('lightreasoner: LIGHTREASONER_SKIP_NATIVE=1, not building the native addon');
  process.exit(0);
}

// npm passes its own node-gyp and nodedir to lifecycle scripts; outside npm, find npm's copy.
const npmPrefix = resolve(dirname(process.execPath), '..');
const gypCandidates = [
  process.env.npm_config_node_gyp,
  join(npmPrefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  join(root, 'node_modules/node-gyp/bin/node-gyp.js'),
].filter((p) => p && existsSync(p));
if (gypCandidates.length === 0) {
  console.warn('lightreasoner: node-gyp not found; the native addon was not built (JavaScript kernels will be used).');
  process.exit(0);
}
const args = [gypCandidates[0], 'rebuild'];
// Use the headers that ship with this Node.js when they are there, so no download is attempted.
const nodedir = process.env.npm_config_nodedir || (existsSync(join(npmPrefix, 'include/node/node_api.h')) ? npmPrefix : undefined);
if (nodedir) args.push(`--nodedir=${nodedir}`);

const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-15).join('\n');
  console.warn(`${tail}\nlightreasoner: building the native addon failed (above); JavaScript kernels will be used.\n` +
    'lightreasoner: for the fast path install a C++ compiler (and libopenblas-dev), then run: npm rebuild lightreasoner');
  process.exit(0);
}
console.log('lightreasoner: native addon built (build/Release/lightreasoner_native.node)');
