// Products with weights held as bfloat16 (inference only): C[M,N] = A[M,K] · Wᵀ + beta · C with A
// float32 and W [N,K] bfloat16, row-major. See gemm_bf16.cc for the two paths and when each runs.
#pragma once
#include <cstdint>

// float32 -> bfloat16, round to nearest even (NaN stays NaN), as torch.Tensor.to(torch.bfloat16).
void bf16_from_f32(const float* src, uint16_t* dst, int64_t n);
// bfloat16 -> float32 (exact).
void f32_from_bf16(const uint16_t* src, float* dst, int64_t n);

// A float32 sgemm the widening path hands its chunks to (row-major, A [M,K], B [N,K] transposed).
using sgemm_nt_fn = void (*)(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                             const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

enum class Bf16Path { Auto = 0, Dot = 1, Widen = 2 };

// True when this CPU runs the AVX512-BF16 dot kernel.
bool bf16_dot_supported();

// Returns the path taken (Dot or Widen). threads: how many the dot kernel may use (the widening
// path's sgemm has its own).
Bf16Path gemm_bf16_nt(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint16_t* W,
                      int64_t ldw, float beta, float* C, int64_t ldc, sgemm_nt_fn sgemm, Bf16Path path, int threads);
