/**
 * JavaScript GEMM, the last-resort tier when the native addon is not built. Same contract as
 * the native one (row-major, transpose flags, element offsets). op(B) is packed row-major so the
 * inner loop walks memory with unit stride; that is the one thing that matters for V8 here.
 */
export function sgemmJs(
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Float32Array, offA: number, lda: number,
  B: Float32Array, offB: number, ldb: number,
  beta: number, C: Float32Array, offC: number, ldc: number,
): void {
  checkView('A', A, offA, transA ? K : M, transA ? M : K, lda);
  checkView('B', B, offB, transB ? N : K, transB ? K : N, ldb);
  checkView('C', C, offC, M, N, ldc);
  for (let i = 0; i < M; i++) {
    const c = offC + i * ldc;
    if (beta === 0) C.fill(0, c, c + N);
    else if (beta !== 1) for (let j = 0; j < N; j++) C[c + j]! *= beta;
  }
  if (alpha === 0 || K === 0 || M === 0 || N === 0) return;
  // bp[k, j] = op(B)[k, j]
  const bp = new Float32Array(K * N);
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < N; j++) bp[k * N + j] = transB ? B[offB + j * ldb + k]! : B[offB + k * ldb + j]!;
  }
  for (let i = 0; i < M; i++) {
    const c = offC + i * ldc;
    for (let k = 0; k < K; k++) {
      const a = alpha * (transA ? A[offA + k * lda + i]! : A[offA + i * lda + k]!);
      if (a === 0) continue;
      const b = k * N;
      for (let j = 0; j < N; j++) C[c + j]! += a * bp[b + j]!;
    }
  }
}

function checkView(name: string, a: Float32Array, off: number, rows: number, cols: number, ld: number): void {
  if (ld < cols || ld < 1) throw new RangeError(`sgemm: leading dimension of ${name} is smaller than its row`);
  const extent = rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
  if (off < 0 || off + extent > a.length) throw new RangeError(`sgemm: ${name} is too short for the requested view`);
}
