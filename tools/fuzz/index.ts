/**
 * The fuzz suite on demand (CI runs fuzz.test.ts): see run.ts for the flags.
 *
 *   node dist/tools/fuzz/index.js --safetensors-headers 100000
 */
import { main } from './run.js';

process.exitCode = await main(process.argv);
