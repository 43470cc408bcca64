/**
 * bfloat16 weights against float32 at the engine's real shapes (issue 15, item 3): is a product
 * with bf16 weights faster here than OpenBLAS's sgemm, and by how much?
 *
 *   node dist/tools/bench/sbgemm.js                    # decode (M = 8, 32) and scoring (M = 256), threads 1 and 2
 *   node dist/tools/bench/sbgemm.js --rows 8 --threads 1 --reps 5
 *   OPENBLAS_CORETYPE=COOPERLAKE node dist/tools/bench/sbgemm.js   # another OpenBLAS kernel family
 *
 * Shapes are those of Qwen2.5-Math-1.5B (hidden 1536, intermediate 8960, 2 KV heads × 128, vocab
 * 151,936 tied): C[M,N] = A[M,K] · Wᵀ with W [N,K] as the linear layers store it. Columns:
 *  - f32: sgemm on float32 weights (what the engine runs today);
 *  - bf16 dot: native/gemm_bf16.cc's AVX512-BF16 kernel (VDPBF16PS; single-threaded), the time
 *    includes rounding A to bf16 on every call;
 *  - bf16 widen: W widened to float32 in cache-sized chunks and handed to sgemm (A stays float32);
 *  - cblas_sbgemm: whether the open BLAS library exports it (Debian's 0.3.21 does not: built
 *    without BUILD_BFLOAT16), so it cannot be timed there.
 * Weights are converted to bf16 once, outside the timing. Each cell is the median of --reps calls
 * (one untimed call first); the 1-minute load average is printed beside each row because the
 * machine may be shared.
 */
import { loadavg } from 'node:os';
import { bf16FromF32, bf16Support, engineInfo, gemmBf16, setBlasThreads, sgemm, type Bf16Path } from '../../src/engine/blas.js';

interface Shape { name: string; N: number; K: number }
const SHAPES: Shape[] = [
  { name: 'gate/up (N=8960)', N: 8960, K: 1536 },
  { name: 'q/o (N=1536)', N: 1536, K: 1536 },
  { name: 'k/v (N=256)', N: 256, K: 1536 },
  { name: 'down (K=8960)', N: 1536, K: 8960 },
  { name: 'lm_head (N=151936)', N: 151936, K: 1536 },
];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
function numbers(s: string): number[] {
  const out = s.split(',').map(Number);
  if (out.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`expected comma-separated positive integers, got "${s}"`);
  return out;
}

if (process.argv.includes('--help')) {
  console.log('usage: node dist/tools/bench/sbgemm.js [--rows 8,32,256] [--threads 1,2] [--reps 5] [--shapes gate,q,k,down,lm_head]');
  process.exit(0);
}
const rowsList = numbers(arg('rows', '8,32,256'));
const threadsList = numbers(arg('threads', '1,2'));
const reps = numbers(arg('reps', '5'))[0]!;
const shapeFilter = arg('shapes', '').split(',').filter(Boolean);
const shapes = shapeFilter.length ? SHAPES.filter((s) => shapeFilter.some((f) => s.name.startsWith(f))) : SHAPES;

function rand(n: number, seed: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function time(f: () => void): number {
  f(); // untimed: page-in, JIT, scratch allocation
  const t: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    f();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(t);
}

const info = engineInfo(), support = bf16Support();
console.log(`engine ${info.kind}, OpenBLAS core ${info.coreName ?? '-'} (OPENBLAS_CORETYPE=${info.coreType ?? 'unset'}, ${info.coreTypeSource}), ${info.blas ?? 'no BLAS'}`);
console.log(`bf16: dot kernel ${support.dot ? 'available (AVX512-BF16)' : 'not available on this CPU'}; cblas_sbgemm ${support.sbgemm ? 'exported' : 'NOT exported by this BLAS library'}`);
console.log(`medians of ${reps} calls; ms and GFLOP/s; speedup = f32 ms / bf16 ms; load = 1-min load average before the row\n`);
console.log('| M | shape | threads | f32 ms | f32 GF/s | bf16 dot ms | dot GF/s | dot × | bf16 widen ms | widen × | auto | load |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');

let maxRel = 0;
for (const shape of shapes) {
  const { N, K } = shape;
  const W = rand(N * K, 7 + N + K, 0.05);
  const W16 = new Uint16Array(N * K);
  bf16FromF32(W, W16);
  for (const M of rowsList) {
    const A = rand(M * K, 3 + M, 1);
    const C = new Float32Array(M * N), C2 = new Float32Array(M * N);
    const gflop = (2 * M * N * K) / 1e9;
    for (const threads of threadsList) {
      setBlasThreads(threads);
      const load = loadavg()[0]!.toFixed(2);
      const f32 = time(() => sgemm(false, true, M, N, K, 1, A, 0, K, W, 0, K, 0, C, 0, N));
      const run = (path: Bf16Path): number => time(() => { gemmBf16(M, N, K, A, 0, K, W16, 0, K, 0, C2, 0, N, path); });
      const dot = support.dot ? run('dot') : NaN;
      const widen = run('widen');
      const auto = gemmBf16(M, N, K, A, 0, K, W16, 0, K, 0, C2, 0, N, 'auto');
      // Sanity: the bf16 result is the f32 one up to bf16 rounding (checked properly in tests).
      let scale = 0, diff = 0;
      for (let i = 0; i < C.length; i++) { scale = Math.max(scale, Math.abs(C[i]!)); diff = Math.max(diff, Math.abs(C[i]! - C2[i]!)); }
      maxRel = Math.max(maxRel, diff / scale);
      const f = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(2));
      console.log(`| ${M} | ${shape.name} | ${threads} | ${f(f32)} | ${(gflop / (f32 / 1e3)).toFixed(1)} | ${f(dot)} | ${Number.isNaN(dot) ? '-' : (gflop / (dot / 1e3)).toFixed(1)} | ${Number.isNaN(dot) ? '-' : (f32 / dot).toFixed(2)} | ${f(widen)} | ${(f32 / widen).toFixed(2)} | ${auto} | ${load} |`);
    }
  }
}
console.log(`\nlargest |C_bf16 − C_f32| / max|C_f32| over all rows: ${maxRel.toExponential(2)} (bf16 keeps 8 significant bits)`);
console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
