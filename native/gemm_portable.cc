// Portable GEMM used when no BLAS library can be loaded. It packs op(A) and op(B) into
// contiguous row-major tiles so the inner loop is a unit-stride axpy the compiler vectorises
// (-O3 -march=native). Single-threaded; roughly an order of magnitude slower than OpenBLAS,
// and an order of magnitude faster than plain JavaScript loops.
#include "gemm_portable.h"
#include <vector>
#include <algorithm>

namespace {
constexpr int64_t KC = 256;  // depth of a packed panel (fits L1/L2 together with a C row)
constexpr int64_t NC = 1024; // width of a packed panel of op(B)
}

void gemm_portable(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                   float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < N; ++j) c[j] = 0.0f;
    } else if (beta != 1.0f) {
      for (int64_t j = 0; j < N; ++j) c[j] *= beta;
    }
  }
  if (alpha == 0.0f || K == 0) return;
  std::vector<float> bpack(static_cast<size_t>(KC * NC));
  std::vector<float> apack(static_cast<size_t>(KC));
  for (int64_t j0 = 0; j0 < N; j0 += NC) {
    const int64_t nb = std::min(NC, N - j0);
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
      const int64_t kb = std::min(KC, K - k0);
      // bpack[kk, jj] = op(B)[k0+kk, j0+jj]
      for (int64_t kk = 0; kk < kb; ++kk) {
        float* dst = bpack.data() + kk * nb;
        if (!transB) {
          const float* src = B + (k0 + kk) * ldb + j0;
          for (int64_t jj = 0; jj < nb; ++jj) dst[jj] = src[jj];
        } else {
          const float* src = B + j0 * ldb + (k0 + kk);
          for (int64_t jj = 0; jj < nb; ++jj) dst[jj] = src[jj * ldb];
        }
      }
      for (int64_t i = 0; i < M; ++i) {
        for (int64_t kk = 0; kk < kb; ++kk) {
          apack[kk] = alpha * (transA ? A[(k0 + kk) * lda + i] : A[i * lda + k0 + kk]);
        }
        float* __restrict c = C + i * ldc + j0;
        for (int64_t kk = 0; kk < kb; ++kk) {
          const float a = apack[kk];
          if (a == 0.0f) continue;
          const float* __restrict b = bpack.data() + kk * nb;
          for (int64_t jj = 0; jj < nb; ++jj) c[jj] += a * b[jj];
        }
      }
    }
  }
}
