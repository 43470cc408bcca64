// Portable row-major single-precision GEMM (the "portable" engine tier): C = alpha * op(A) * op(B) + beta * C.
// op(X) is X or X^T. Shapes: op(A) [M,K], op(B) [K,N], C [M,N]; ld* are row strides.
#pragma once
#include <cstdint>

void gemm_portable(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                   float* C, int64_t ldc);
