/**
 * The native addon (native/, built by scripts/build-native.mjs): loading it, and the shape of what
 * it exports. It holds sgemm (src/engine/blas.ts picks the tier) and the vectorised element-wise
 * kernels; each kernel's JavaScript reference lives beside the op that calls it (src/engine/ops/,
 * src/train/adamw.ts) and is what the native one is tested against (native.test.ts).
 *
 * `LIGHTREASONER_ENGINE=js` keeps the addon unloaded, so the whole engine runs on JavaScript.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C. Offsets and ld* in elements. */
export type SgemmFn = (
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Float32Array, offA: number, lda: number,
  B: Float32Array, offB: number, ldb: number,
  beta: number, C: Float32Array, offC: number, ldc: number,
) => void;

/** The addon's element-wise kernels (native/kernels.cc). Shapes are row-major float32. */
export interface NativeKernels {
  /** In-place softmax of rows of a [rows, len] at off; row i keeps its first valid0 + i entries, zeroes the rest. */
  softmaxRows(a: Float32Array, off: number, rows: number, len: number, valid0: number): void;
  /**
   * Backward of softmaxRows in place, from the weights p (at pOff) and the gradient d (at dOff) of
   * [rows, len]: d ← p ⊙ (d − rowsum(p ⊙ d)) over row i's first valid0 + i entries (in double, in
   * order), zero after them.
   */
  softmaxBackwardRows(p: Float32Array, pOff: number, d: Float32Array, dOff: number, rows: number, len: number, valid0: number): void;
  /** log-softmax of rows of z [rows, n] into out (optional) and each row's logsumexp into lse (optional). */
  logSoftmaxRows(z: Float32Array, off: number, rows: number, n: number, out: Float32Array | null, outOff: number, lse: Float32Array | null, lseOff: number): void;
  /** out[j] = scale · exp(z[off + j] − shift), j < n. */
  expShiftScale(z: Float32Array, off: number, n: number, shift: number, scale: number, out: Float32Array, outOff: number): void;
  /** a = silu(g) ⊙ u */
  swigluForward(g: Float32Array, u: Float32Array, a: Float32Array, n: number): void;
  /** dg = da ⊙ u ⊙ σ(g)(1 + g(1 − σ(g))), du = da ⊙ silu(g) */
  swigluBackward(da: Float32Array, g: Float32Array, u: Float32Array, dg: Float32Array, du: Float32Array, n: number): void;
  /** RMSNorm rows of x [rows, dim]: y = w ⊙ x / √(mean(x²) + eps); rstd [rows] (optional) receives the 1/√(…) */
  rmsnormForward(x: Float32Array, w: Float32Array, rows: number, dim: number, eps: number, y: Float32Array, rstd: Float32Array | null): void;
  /** Backward of rmsnormForward: dx accumulated into; dw accumulated into when given. */
  rmsnormBackward(dy: Float32Array, x: Float32Array, w: Float32Array, rstd: Float32Array, rows: number, dim: number, dx: Float32Array, dw: Float32Array | null): void;
  /**
   * One decoding step of causal grouped-query attention for several sequences: query row rows[s]
   * of q [*, heads·d] attends all lens[s] cached keys kts[s] (tiled: KEY_TILE in ops/attention.ts)
   * and values vs[s] [len, kvHeads·d]; the result goes to row rows[s] of out. One call for every
   * sequence and head of a layer; the native kernel splits the sequences over OpenBLAS's thread count.
   */
  attentionDecode(q: Float32Array, rows: Int32Array, kts: Float32Array[], vs: Float32Array[], lens: Int32Array, heads: number, kvHeads: number, d: number, out: Float32Array): void;
  /**
   * LoRA dropout: mask[i] = 1 and xd[i] = x[i]·keep where the i-th draw of the Rng stream at `state`
   * (src/util/rng.ts) is ≥ p, else 0 (xd and mask fully written). Returns the stream's next state.
   */
  dropoutForward(x: Float32Array, p: number, keep: number, state: number, xd: Float32Array, mask: Uint8Array): number;
  /** dx[i] += dxd[i]·keep where mask[i]. */
  dropoutBackward(dxd: Float32Array, mask: Uint8Array, keep: number, dx: Float32Array): void;
  /** One torch.optim.AdamW update of w from g with moments m, v (see src/train/adamw.ts). */
  adamwUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, stepSize: number, sqrtBc2: number): void;
  /** Σ a² */
  sumSquares(a: Float32Array): number;
}

export interface BlasLoadResult {
  blas: string | null;
  coreName: string | null;
  config: string | null;
  threads: number;
  loadErrors?: string;
}

export interface NativeAddon extends NativeKernels {
  /** dlopen the first of `candidates` that exports cblas_sgemm (a no-op once one is open). */
  loadBlas(candidates: string[]): BlasLoadResult;
  setThreads(n: number): { threads: number };
  /** Threads for the kernels that split their own work (attentionDecode); 0: as many as OpenBLAS uses. */
  setKernelThreads(n: number): void;
  /** BLAS when loadBlas found one, else the portable kernel. */
  sgemm: SgemmFn;
  /** Always the portable kernel (native/gemm_portable.cc), whether or not a BLAS library is open. */
  sgemmPortable: SgemmFn;
  /** float32 -> bfloat16 (round to nearest even), n elements. */
  bf16FromF32(src: Float32Array, srcOff: number, dst: Uint16Array, dstOff: number, n: number): void;
  /** bfloat16 -> float32 (exact), n elements. */
  f32FromBf16(src: Uint16Array, srcOff: number, dst: Float32Array, dstOff: number, n: number): void;
  /**
   * C[M,N] = A[M,K] · Wᵀ + beta · C with W [N,K] bfloat16 (native/gemm_bf16.cc). path 0 auto,
   * 1 the AVX512-BF16 dot kernel, 2 widen W to float32 chunks for sgemm. Returns the path taken.
   */
  gemmBf16(M: number, N: number, K: number, A: Float32Array, offA: number, lda: number, W: Uint16Array, offW: number, ldw: number,
    beta: number, C: Float32Array, offC: number, ldc: number, path: 0 | 1 | 2): 'dot' | 'widen' | 'none';
  /** What gemmBf16 runs here, and whether the open BLAS library exports cblas_sbgemm. */
  bf16Info(): { dot: boolean; sbgemm: boolean };
}

export interface NativeLoad {
  addon: NativeAddon | null;
  /** Path of the addon file (null when it is not built or not wanted). */
  path: string | null;
  /** Why there is no addon: not built, failed to load, or LIGHTREASONER_ENGINE=js. */
  error: string | null;
}

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

let loaded: NativeLoad | null = null;

/** The addon, loaded once per process (nothing is loaded under LIGHTREASONER_ENGINE=js). */
export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  if (process.env.LIGHTREASONER_ENGINE === 'js') {
    loaded = { addon: null, path: null, error: 'LIGHTREASONER_ENGINE=js' };
    return loaded;
  }
  const path = join(packageRoot, 'build/Release/lightreasoner_native.node');
  if (!existsSync(path)) {
    loaded = { addon: null, path: null, error: `native addon not built (${path} missing)` };
  } else {
    try {
      loaded = { addon: createRequire(import.meta.url)(path) as NativeAddon, path, error: null };
    } catch (e) {
      loaded = { addon: null, path, error: `native addon failed to load: ${(e as Error).message}` };
    }
  }
  return loaded;
}

/**
 * The native element-wise kernels, or null when the engine runs on JavaScript. Ops call this on
 * every use (a cached lookup). Loading the addon opens no BLAS library (loadBlas does, from
 * src/engine/blas.ts, after it has set OPENBLAS_CORETYPE), so an op may be the first to load it.
 */
export function nativeKernels(): NativeKernels | null {
  return loadNative().addon;
}
