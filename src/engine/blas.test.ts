import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  availableSgemms, bf16FromF32, bf16Round, bf16Support, bf16Value, detectCoreType, engineInfo, f32FromBf16, gemmBf16, setBlasThreads, sgemm, type Bf16Path,
} from './blas.js';

/** Naive triple loop in float64: the reference every tier is checked against. */
function naive(ta: boolean, tb: boolean, M: number, N: number, K: number, alpha: number,
  A: Float32Array, offA: number, lda: number, B: Float32Array, offB: number, ldb: number,
  beta: number, C: Float32Array, offC: number, ldc: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = ta ? A[offA + k * lda + i]! : A[offA + i * lda + k]!;
        const b = tb ? B[offB + j * ldb + k]! : B[offB + k * ldb + j]!;
        s += a * b;
      }
      out[i * N + j] = alpha * s + (beta === 0 ? 0 : beta * C[offC + i * ldc + j]!);
    }
  }
  return out;
}

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

const shapes: Array<[number, number, number]> = [[1, 1, 1], [3, 5, 7], [17, 1, 33], [1, 65, 9], [64, 48, 130], [129, 67, 257]];

for (const [tier, fn] of Object.entries(availableSgemms())) {
  test(`sgemm tier ${tier} matches a naive loop for every transpose combination and odd shapes`, () => {
    let seed = 1;
    for (const [M, N, K] of shapes) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          for (const [alpha, beta] of [[1, 0], [0.5, 1], [-1.5, 0.25]] as const) {
            // Padded leading dimensions and non-zero offsets exercise strided sub-matrix views.
            const lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
            const offA = 5, offB = 7, offC = 11;
            const A = rand(offA + (ta ? K : M) * lda, seed++);
            const B = rand(offB + (tb ? N : K) * ldb, seed++);
            const C = rand(offC + M * ldc, seed++);
            const expected = naive(ta, tb, M, N, K, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc);
            const before = C.slice();
            fn(ta, tb, M, N, K, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc);
            for (let i = 0; i < M; i++) {
              for (let j = 0; j < N; j++) {
                const got = C[offC + i * ldc + j]!, want = expected[i * N + j]!;
                assert.ok(Math.abs(got - want) <= 1e-4 * (1 + Math.abs(want)) * Math.sqrt(K),
                  `${tier} ${M}x${N}x${K} ta=${ta} tb=${tb} alpha=${alpha} beta=${beta} at (${i},${j}): ${got} vs ${want}`);
              }
              // Padding between rows of C is never written.
              for (let j = N; j < ldc && i < M - 1; j++) assert.equal(C[offC + i * ldc + j], before[offC + i * ldc + j]);
            }
            for (let p = 0; p < offC; p++) assert.equal(C[p], before[p]);
          }
        }
      }
    }
  });

  test(`sgemm tier ${tier} refuses views that run past the array`, () => {
    const A = new Float32Array(6), B = new Float32Array(6), C = new Float32Array(4);
    assert.throws(() => fn(false, false, 2, 2, 3, 1, A, 1, 3, B, 0, 2, 0, C, 0, 2), /A is too short/);
    assert.throws(() => fn(false, false, 2, 2, 3, 1, A, 0, 3, B, 0, 2, 0, C, 1, 2), /C is too short/);
    assert.throws(() => fn(false, false, 2, 2, 3, 1, A, 0, 2, B, 0, 2, 0, C, 0, 2), /leading dimension of A/);
  });
}

test('the default sgemm is the fastest tier this machine can run', () => {
  const info = engineInfo();
  const tiers = availableSgemms();
  if (tiers.openblas) assert.equal(info.kind, 'openblas');
  else if (tiers.portable) assert.equal(info.kind, 'portable');
  const A = new Float32Array([1, 2, 3, 4]), B = new Float32Array([5, 6, 7, 8]), C = new Float32Array(4);
  sgemm(false, false, 2, 2, 2, 1, A, 0, 2, B, 0, 2, 0, C, 0, 2);
  assert.deepEqual([...C], [19, 22, 43, 50]);
});

test('detectCoreType picks SkylakeX kernels for AVX-512 CPUs and Haswell for AVX2+FMA', () => {
  assert.equal(detectCoreType('flags\t: fpu sse avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl\n'), 'SKYLAKEX');
  assert.equal(detectCoreType('flags\t: fpu sse avx avx2 fma\n'), 'HASWELL');
  assert.equal(detectCoreType('flags\t: fpu sse sse2\n'), null);
  assert.equal(detectCoreType('no flags line'), null);
});

test('bf16Round rounds float32 to bfloat16 to nearest, ties to even, as torch does', () => {
  // Values and bit patterns as torch.tensor(x, dtype=torch.float32).to(torch.bfloat16).view(torch.int16).
  assert.equal(bf16Round(1), 0x3f80);
  assert.equal(bf16Round(-2), 0xc000);
  assert.equal(bf16Round(0), 0);
  assert.equal(bf16Round(-0), 0x8000);
  assert.equal(bf16Round(Infinity), 0x7f80);
  assert.equal(bf16Round(-Infinity), 0xff80);
  assert.ok(Number.isNaN(bf16Value(bf16Round(NaN))));
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: the tie goes to the even mantissa (1).
  assert.equal(bf16Round(1 + 2 ** -8), 0x3f80);
  // 1 + 3·2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): up.
  assert.equal(bf16Round(1 + 3 * 2 ** -8), 0x3f82);
  // Just above the tie rounds up.
  assert.equal(bf16Round(1 + 2 ** -8 + 2 ** -20), 0x3f81);
  assert.equal(bf16Value(0x3f81), 1 + 2 ** -7);
  // The largest finite float32 overflows to infinity, as in torch.
  assert.equal(bf16Round(3.4028234663852886e38), 0x7f80);
});

test('bf16FromF32 and f32FromBf16 agree with bf16Round and bf16Value element by element, at offsets', () => {
  const src = rand(1000, 99);
  for (let i = 0; i < 1000; i += 7) src[i] = 1 + (2 * (i % 5) + 1) * 2 ** -8; // ties
  src[3] = NaN;
  src[4] = -0;
  const dst = new Uint16Array(1003).fill(0xabcd);
  bf16FromF32(src, dst, 990, 5, 3);
  assert.equal(dst[0], 0xabcd);
  assert.equal(dst[993], 0xabcd);
  for (let i = 0; i < 990; i++) {
    const want = bf16Round(src[5 + i]!);
    assert.equal(dst[3 + i], want, `element ${i}: ${src[5 + i]}`);
  }
  const back = new Float32Array(995);
  f32FromBf16(dst, back, 990, 3, 5);
  for (let i = 0; i < 990; i++) assert.equal(back[5 + i], bf16Value(dst[3 + i]!));
  const nanBits = new Uint16Array(1);
  bf16FromF32(new Float32Array([NaN]), nanBits);
  assert.ok(Number.isNaN(bf16Value(nanBits[0]!)));
});

/**
 * Float64 reference for C = A·Wᵀ + beta·C with W given as bfloat16 bits; roundA rounds A to
 * bfloat16 first (the dot kernel's inputs), so the only difference left is summation order.
 */
function naiveBf16(M: number, N: number, K: number, A: Float32Array, offA: number, lda: number, W: Uint16Array, offW: number, ldw: number,
  beta: number, C: Float32Array, offC: number, ldc: number, roundA: boolean): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = A[offA + i * lda + k]!;
        s += (roundA ? bf16Value(bf16Round(a)) : a) * bf16Value(W[offW + j * ldw + k]!);
      }
      out[i * N + j] = s + (beta === 0 ? 0 : beta * C[offC + i * ldc + j]!);
    }
  }
  return out;
}

const paths: Bf16Path[] = bf16Support().dot ? ['dot', 'widen', 'auto'] : ['widen', 'auto'];
for (const path of paths) {
  test(`gemmBf16 (${path}) is A·Wᵀ on the bfloat16 weights for odd shapes, offsets and padded rows`, () => {
    // K around the kernel's 32-element step (masked tail) and M, N around its 4×4 blocks.
    const cases: Array<[number, number, number]> = [[1, 1, 1], [3, 5, 31], [4, 4, 32], [5, 9, 33], [8, 13, 100], [17, 6, 64], [70, 7, 45]];
    let seed = 500;
    for (const [M, N, K] of cases) {
      for (const beta of [0, 1]) {
        const lda = K + 3, ldw = K + 1, ldc = N + 2, offA = 2, offW = 5, offC = 3;
        const A = rand(offA + M * lda, seed++), Wf = rand(offW + N * ldw, seed++), C = rand(offC + M * ldc, seed++);
        const W = new Uint16Array(Wf.length);
        bf16FromF32(Wf, W);
        const before = C.slice();
        const taken = gemmBf16(M, N, K, A, offA, lda, W, offW, ldw, beta, C, offC, ldc, path);
        const want = naiveBf16(M, N, K, A, offA, lda, W, offW, ldw, beta, before, offC, ldc, taken === 'dot');
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            const got = C[offC + i * ldc + j]!, w = want[i * N + j]!;
            // Float32 accumulation of exactly representable products: only summation order differs.
            assert.ok(Math.abs(got - w) <= 2e-6 * Math.sqrt(K) * (1 + Math.abs(w)), `${taken} ${M}x${N}x${K} beta=${beta} (${i},${j}): ${got} vs ${w}`);
          }
          for (let j = N; j < ldc && i < M - 1; j++) assert.equal(C[offC + i * ldc + j], before[offC + i * ldc + j]);
        }
        for (let p = 0; p < offC; p++) assert.equal(C[p], before[p]);
      }
    }
  });
}

test('gemmBf16 splits a large product over threads without changing a value', () => {
  // 4.2M weights: above the addon's threshold for a second thread (when OpenBLAS runs 2+ threads).
  const M = 3, N = 2051, K = 2048;
  const A = rand(M * K, 41), Wf = rand(N * K, 42), W = new Uint16Array(N * K);
  bf16FromF32(Wf, W);
  const C1 = new Float32Array(M * N), C2 = new Float32Array(M * N);
  const threads = engineInfo().threads;
  setBlasThreads(1);
  gemmBf16(M, N, K, A, 0, K, W, 0, K, 0, C1, 0, N);
  setBlasThreads(2);
  gemmBf16(M, N, K, A, 0, K, W, 0, K, 0, C2, 0, N);
  setBlasThreads(threads);
  // Each column is computed by one thread with the same code: bit-identical.
  assert.deepEqual(C2, C1);
  const taken = gemmBf16(M, N, K, A, 0, K, W, 0, K, 0, C2, 0, N);
  const want = naiveBf16(M, N, K, A, 0, K, W, 0, K, 0, C2, 0, N, taken === 'dot');
  for (let i = 0; i < M * N; i += 7) assert.ok(Math.abs(C1[i]! - want[i]!) <= 2e-6 * Math.sqrt(K) * (1 + Math.abs(want[i]!)), `${i}: ${C1[i]} vs ${want[i]}`);
});

test('gemmBf16 on bfloat16 weights stays within bfloat16 rounding of sgemm on the float32 weights, and its checks name the view', () => {
  const M = 8, N = 64, K = 1536;
  const A = rand(M * K, 1), Wf = rand(N * K, 2), W = new Uint16Array(N * K);
  bf16FromF32(Wf, W);
  const C32 = new Float32Array(M * N), C16 = new Float32Array(M * N);
  sgemm(false, true, M, N, K, 1, A, 0, K, Wf, 0, K, 0, C32, 0, N);
  gemmBf16(M, N, K, A, 0, K, W, 0, K, 0, C16, 0, N);
  // Each product carries a relative error below 2^-8 (2^-7 when A is rounded too) with random
  // signs: about 0.3% of rms(C) here, 1% at the extremes. (The exact-rounding checks are the tests
  // above; this one pins the scale of the difference a user sees.)
  let maxErr = 0;
  for (let i = 0; i < C32.length; i++) maxErr = Math.max(maxErr, Math.abs(C32[i]! - C16[i]!));
  const rms = Math.sqrt(C32.reduce((s, x) => s + x * x, 0) / C32.length);
  assert.ok(maxErr > 0, 'bf16 weights must differ from f32 somewhere');
  assert.ok(maxErr < 0.02 * rms, `max |Δ| ${maxErr} vs rms ${rms}`);
  assert.throws(() => gemmBf16(2, 2, 3, new Float32Array(5), 0, 3, new Uint16Array(6), 0, 3, 0, new Float32Array(4), 0, 2), /A is too short/);
  assert.throws(() => gemmBf16(2, 2, 3, new Float32Array(6), 0, 3, new Uint16Array(6), 1, 3, 0, new Float32Array(4), 0, 2), /W is too short/);
});
