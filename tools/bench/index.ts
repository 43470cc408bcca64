/**
 * `npm run bench`: our engine against PyTorch and llama.cpp on this CPU, in one invocation.
 *
 *   npm run bench                              # every row, 7 interleaved repetitions per side
 *   npm run bench -- --rows train,score --reps 9 --json bench.json
 *   node --cpu-prof dist/tools/bench/index.js --rows train --no-baseline   # profile our side
 *
 * The rows are in spec.ts, our side of each in ours.ts, PyTorch's in torch_bench.py, llama.cpp's in
 * llama-baseline.ts.
 */
import { main } from './run.js';

process.exitCode = await main(process.argv);
