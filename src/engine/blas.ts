/**
 * The one entry point to matrix multiplication: `sgemm`, row-major, with transpose flags and
 * element offsets so callers address sub-matrices (one head, one sequence) without copies.
 *
 * Three tiers, chosen once per process:
 *   1. "openblas": the native addon calling a BLAS library it dlopen()s (OpenBLAS by default).
 *   2. "portable": the native addon's own packed C++ kernel, sgemmPortable (no BLAS library found).
 *   3. "js": a JavaScript kernel, sgemmJs (the addon was not built, e.g. no C++ compiler).
 * The addon itself is loaded by src/engine/native.ts.
 * `LIGHTREASONER_ENGINE=openblas|portable|js` forces a tier; `LIGHTREASONER_BLAS=/path/lib.so`
 * names the BLAS library to open.
 *
 * Why the CPU detection: Debian's OpenBLAS 0.3.21 does not recognise recent CPUs (AMD Zen 4,
 * newer Intel) and falls back to SSE3 kernels, 4-5x slower. OPENBLAS_CORETYPE must be set before
 * the library initialises, so we pick it from /proc/cpuinfo here, before loading, unless the
 * user has set it.
 */
import { readFileSync } from 'node:fs';
import { sgemmJs } from './sgemm-js.js';
import { loadNative, type NativeAddon, type SgemmFn } from './native.js';

export type { SgemmFn } from './native.js';

export type EngineKind = 'openblas' | 'portable' | 'js';

export interface EngineInfo {
  kind: EngineKind;
  /** Path of the BLAS library in use (openblas tier only). */
  blas: string | null;
  /** OpenBLAS kernel family in use, e.g. "SkylakeX" (from openblas_get_corename). */
  coreName: string | null;
  /** OpenBLAS build configuration string. */
  config: string | null;
  threads: number;
  /** Threads of the native kernels that split their own work (decoding attention); null: as many as BLAS (setKernelThreads). */
  kernelThreads: number | null;
  /** OPENBLAS_CORETYPE as it was when the library loaded, and who set it. */
  coreType: string | null;
  coreTypeSource: 'user' | 'detected' | 'none';
  addonPath: string | null;
  /** Why a faster tier is not in use; null when on the fastest tier. */
  warning: string | null;
}

/** OpenBLAS core type for this CPU, from its instruction-set flags (Linux x86-64 only). */
export function detectCoreType(cpuinfo?: string): string | null {
  let text = cpuinfo;
  if (text === undefined) {
    if (process.platform !== 'linux' || process.arch !== 'x64') return null;
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return null;
    }
  }
  const line = text.split('\n').find((l) => l.startsWith('flags'));
  if (!line) return null;
  const flags = new Set(line.split(':')[1]?.trim().split(/\s+/) ?? []);
  // SkylakeX kernels need AVX-512 F/BW/VL/DQ/CD; they are the fastest sgemm in 0.3.21 on both
  // Intel and AMD Zen 4 parts that have these.
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512cd'].every((f) => flags.has(f))) return 'SKYLAKEX';
  if (flags.has('avx2') && flags.has('fma')) return 'HASWELL';
  return null;
}

function blasCandidates(): string[] {
  if (process.env.LIGHTREASONER_BLAS) return [process.env.LIGHTREASONER_BLAS];
  if (process.platform === 'darwin') {
    return [
      '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
      '/usr/local/opt/openblas/lib/libopenblas.dylib',
      'libopenblas.dylib',
      '/System/Library/Frameworks/Accelerate.framework/Accelerate',
    ];
  }
  return ['libopenblas.so.0', 'libopenblas.so', 'libopenblas64_.so.0', 'libopenblasp.so.0'];
}

const FAST_PATH_HINT =
  'for the fast path install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas-dev; macOS: brew install openblas) and a C++ compiler, then run: npm rebuild lightreasoner';

function initEngine(): { info: EngineInfo; sgemm: SgemmFn; addon: NativeAddon | null } {
  const forced = process.env.LIGHTREASONER_ENGINE as EngineKind | undefined;
  if (forced !== undefined && !['openblas', 'portable', 'js'].includes(forced)) {
    throw new Error(`LIGHTREASONER_ENGINE=${forced}: expected one of openblas, portable, js`);
  }
  let coreTypeSource: EngineInfo['coreTypeSource'] = 'none';
  if (process.env.OPENBLAS_CORETYPE) {
    coreTypeSource = 'user';
  } else {
    const detected = detectCoreType();
    if (detected) {
      process.env.OPENBLAS_CORETYPE = detected; // read by OpenBLAS when it initialises (dlopen below)
      coreTypeSource = 'detected';
    }
  }
  const base = {
    blas: null, coreName: null, config: null, threads: 1, kernelThreads: null,
    coreType: process.env.OPENBLAS_CORETYPE ?? null, coreTypeSource, addonPath: null,
  };
  if (forced === 'js') {
    return { info: { ...base, kind: 'js', warning: null }, sgemm: sgemmJs, addon: null };
  }
  const { addon, path, error } = loadNative();
  if (!addon) {
    if (forced) throw new Error(`LIGHTREASONER_ENGINE=${forced} but ${error}`);
    return {
      info: { ...base, kind: 'js', warning: `lightreasoner: ${error}; using JavaScript kernels (slow); ${FAST_PATH_HINT}` },
      sgemm: sgemmJs, addon: null,
    };
  }
  if (forced === 'portable') {
    return { info: { ...base, kind: 'portable', addonPath: path, warning: null }, sgemm: addon.sgemmPortable, addon };
  }
  const r = addon.loadBlas(blasCandidates());
  if (!r.blas) {
    if (forced === 'openblas') throw new Error(`LIGHTREASONER_ENGINE=openblas but no BLAS library could be opened:\n${r.loadErrors ?? ''}`);
    return {
      info: { ...base, kind: 'portable', addonPath: path, warning: `lightreasoner: no BLAS library found; using the portable C++ kernel (several times slower); ${FAST_PATH_HINT}` },
      sgemm: addon.sgemm, addon,
    };
  }
  return {
    info: { ...base, kind: 'openblas', addonPath: path, blas: r.blas, coreName: r.coreName, config: r.config, threads: r.threads, warning: null },
    sgemm: addon.sgemm, addon,
  };
}

let state: ReturnType<typeof initEngine> | null = null;
let warned = false;

function engine(): ReturnType<typeof initEngine> {
  if (!state) {
    state = initEngine();
    if (state.info.warning && !warned && process.env.LIGHTREASONER_QUIET !== '1') {
      warned = true;
      process.stderr.write(`${state.info.warning}\n`);
    }
  }
  return state;
}

export function engineInfo(): EngineInfo {
  return { ...engine().info };
}

/** Row-major C = alpha * op(A) * op(B) + beta * C, on the fastest tier available. */
export const sgemm: SgemmFn = (ta, tb, M, N, K, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc) => {
  engine().sgemm(ta, tb, M, N, K, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc);
};

/** The tiers this process can run, for tests that compare them against each other. */
export function availableSgemms(): Partial<Record<EngineKind, SgemmFn>> {
  const e = engine();
  const out: Partial<Record<EngineKind, SgemmFn>> = { js: sgemmJs };
  if (e.addon) {
    out.portable = e.addon.sgemmPortable;
    if (e.info.kind === 'openblas') out.openblas = e.addon.sgemm;
  }
  return out;
}

/**
 * Run `f` with OpenBLAS on one thread. For the many small products of attention (one head of one
 * sequence at a time) waking the other threads costs more than it saves: measured 2.3x faster
 * single-threaded for 120-token sequences on 2 cores. Switching costs about a microsecond.
 */
export function withSingleBlasThread<T>(f: () => T): T {
  const e = engine();
  const n = e.info.threads;
  if (!e.addon || e.info.kind !== 'openblas' || n <= 1) return f();
  e.addon.setThreads(1);
  try {
    return f();
  } finally {
    e.addon.setThreads(n);
  }
}

/**
 * Threads for the native kernels that split their own work — decoding attention splits its
 * sequences — or null (the default) for as many as BLAS uses. The benchmarks set it to the
 * baseline's own thread count for its non-BLAS operations, so that both sides have the same.
 */
export function setKernelThreads(n: number | null): void {
  const e = engine();
  e.info.kernelThreads = n;
  e.addon?.setKernelThreads(n ?? 0);
}

export function setBlasThreads(n: number): void {
  const e = engine();
  if (e.addon && e.info.kind === 'openblas') e.info.threads = e.addon.setThreads(n).threads;
}

// ---- bfloat16 weights (inference only) ----------------------------------------------------------
// Weights held as bfloat16 halve the bytes a decoding step reads; products accumulate in float32.
// Debian's OpenBLAS has no cblas_sbgemm (built without BUILD_BFLOAT16), so the addon carries its
// own kernel (native/gemm_bf16.cc): VDPBF16PS on CPUs with AVX512-BF16, W widened to float32
// chunks for sgemm otherwise. tools/bench/sbgemm.ts measures both.

const f32View = new Float32Array(1);
const u32View = new Uint32Array(f32View.buffer);

/** float32 -> bfloat16 bits, round to nearest even, NaN kept NaN: torch's `.to(torch.bfloat16)`. */
export function bf16Round(x: number): number {
  f32View[0] = x;
  const u = u32View[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits -> float32 value (exact). */
export function bf16Value(h: number): number {
  u32View[0] = (h & 0xffff) << 16;
  return f32View[0]!;
}

/** dst[dstOff + i] = bfloat16(src[srcOff + i]), i < n. */
export function bf16FromF32(src: Float32Array, dst: Uint16Array, n = src.length, srcOff = 0, dstOff = 0): void {
  const addon = loadNative().addon;
  if (addon) return addon.bf16FromF32(src, srcOff, dst, dstOff, n);
  for (let i = 0; i < n; i++) dst[dstOff + i] = bf16Round(src[srcOff + i]!);
}

/** dst[dstOff + i] = float32(src[srcOff + i]), i < n (exact). */
export function f32FromBf16(src: Uint16Array, dst: Float32Array, n = src.length, srcOff = 0, dstOff = 0): void {
  const addon = loadNative().addon;
  if (addon) return addon.f32FromBf16(src, srcOff, dst, dstOff, n);
  const bits = new Uint32Array(dst.buffer, dst.byteOffset + dstOff * 4, n);
  for (let i = 0; i < n; i++) bits[i] = src[srcOff + i]! << 16;
}

export type Bf16Path = 'auto' | 'dot' | 'widen';
const PATH_CODE = { auto: 0, dot: 1, widen: 2 } as const;

/**
 * Row-major C[M,N] = A[M,K] · Wᵀ + beta · C, W [N,K] held as bfloat16 (the linear layers' layout).
 * Forward only: nothing differentiates through bfloat16 weights. Returns the path taken.
 */
export function gemmBf16(
  M: number, N: number, K: number, A: Float32Array, offA: number, lda: number,
  W: Uint16Array, offW: number, ldw: number, beta: number, C: Float32Array, offC: number, ldc: number,
  path: Bf16Path = 'auto',
): 'dot' | 'widen' | 'none' {
  const e = engine();
  if (e.addon && e.info.kind !== 'js') return e.addon.gemmBf16(M, N, K, A, offA, lda, W, offW, ldw, beta, C, offC, ldc, PATH_CODE[path]);
  if (M === 0 || N === 0) return 'none';
  const check = (name: string, length: number, off: number, rows: number, ld: number): void => {
    if (ld < K || ld < 1 || off < 0 || off + (rows - 1) * ld + K > length) {
      throw new RangeError(`gemmBf16: ${name} is too short for the requested view or its leading dimension is smaller than its row`);
    }
  };
  check('A', A.length, offA, M, lda);
  check('W', W.length, offW, N, ldw);
  if (ldc < N || offC < 0 || offC + (M - 1) * ldc + N > C.length) throw new RangeError('gemmBf16: C is too short for the requested view');
  // JavaScript tier: widen a chunk of W rows and hand it to sgemm, as the addon's widening path.
  const chunk = 32, w32 = new Float32Array(chunk * K);
  for (let n = 0; n < N; n += chunk) {
    const nn = Math.min(chunk, N - n);
    for (let j = 0; j < nn; j++) f32FromBf16(W, w32, K, offW + (n + j) * ldw, j * K);
    e.sgemm(false, true, M, nn, K, 1, A, offA, lda, w32, 0, K, beta, C, offC + n, ldc);
  }
  return 'widen';
}

/** What gemmBf16 can run in this process (for benchmarks and `lightreasoner doctor`-style reports). */
export function bf16Support(): { dot: boolean; sbgemm: boolean } {
  const e = engine();
  return e.addon && e.info.kind !== 'js' ? e.addon.bf16Info() : { dot: false, sbgemm: false };
}
