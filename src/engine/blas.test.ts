import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableSgemms, detectCoreType, engineInfo, sgemm } from './blas.js';

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
