#!/usr/bin/env node
// The CLI entry point; the commands live in dist/src/cli (compiled from src/cli).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist/src/cli/index.js');
if (!existsSync(entry)) {
  console.error(`lightreasoner: ${entry} is missing; run ./setup.sh (or npm run build) in ${root} first`);
  process.exit(1);
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv);
