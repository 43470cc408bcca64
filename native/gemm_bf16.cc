// Products with bfloat16 weights: C[M,N] = A[M,K] · Wᵀ + beta · C, A float32, W [N,K] bfloat16.
//
// Why not OpenBLAS's cblas_sbgemm: Debian's and Ubuntu's OpenBLAS packages (0.3.21 and others)
// are built without BUILD_BFLOAT16, so the symbol is not there; a kernel of our own works with the
// OpenBLAS users already have. Two paths:
//  - Dot (CPUs with AVX512-BF16): A's rows are rounded to bfloat16 once per call and each weight
//    row is streamed from memory once, feeding VDPBF16PS (pairs of bf16 products accumulated in
//    float32) for a block of 4 rows of A × 4 rows of W. Decoding is bound by the bytes of weight
//    read, so half the bytes is about half the time; and VDPBF16PS does twice the multiply-adds of
//    an f32 FMA, so it also beat sgemm at 256 rows (tools/bench/sbgemm.ts: 1.7x single-threaded on
//    an EPYC with AVX512-BF16). Large products are split by columns over as many threads as
//    OpenBLAS is set to use.
//  - Widen (CPUs without AVX512-BF16): chunks of W are widened to float32 (exact) into a scratch
//    that stays in cache and handed to sgemm; A is not rounded on this path. Half the memory,
//    about f32's speed.
// Both match torch's bf16 Linear up to summation order (Dot) or the rounding of A (Widen).
#include "gemm_bf16.h"
#include <cstring>
#include <thread>
#include <vector>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LR_BF16_DOT 1
#include <immintrin.h>
#endif

namespace {

// Rows of W widened per sgemm call: 32 rows × K floats stay in L2 for K up to ~8k.
constexpr int64_t kWidenChunk = 32;

inline uint16_t round_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN stays NaN (quiet)
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

#ifdef LR_BF16_DOT
template <int MR, int NR>
__attribute__((target("avx512f,avx512bw,avx512bf16"))) inline void dot_block(
    int64_t K, const uint16_t* A, int64_t lda, const uint16_t* W, int64_t ldw, float beta, float* C, int64_t ldc) {
  __m512 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    __m512bh a[MR];
    for (int i = 0; i < MR; ++i) a[i] = (__m512bh)_mm512_loadu_si512(A + i * lda + k);
    for (int j = 0; j < NR; ++j) {
      const __m512bh w = (__m512bh)_mm512_loadu_si512(W + j * ldw + k);
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], a[i], w);
    }
  }
  if (k < K) {  // tail: masked loads read nothing past the row
    const __mmask32 m = static_cast<__mmask32>((1ull << (K - k)) - 1);
    __m512bh a[MR];
    for (int i = 0; i < MR; ++i) a[i] = (__m512bh)_mm512_maskz_loadu_epi16(m, A + i * lda + k);
    for (int j = 0; j < NR; ++j) {
      const __m512bh w = (__m512bh)_mm512_maskz_loadu_epi16(m, W + j * ldw + k);
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], a[i], w);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      const float s = _mm512_reduce_add_ps(acc[i][j]);
      float& c = C[i * ldc + j];
      c = beta == 0.0f ? s : s + beta * c;
    }
}

// Columns [n0, n1) of C from A already rounded to bf16 (a [M,K], dense).
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void dot_columns(
    int64_t M, int64_t n0, int64_t n1, int64_t K, const uint16_t* a, const uint16_t* W, int64_t ldw, float beta,
    float* C, int64_t ldc) {
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {  // each block of 4 weight rows is read from memory once, for every row of A
    int64_t m = 0;
    for (; m + 4 <= M; m += 4) dot_block<4, 4>(K, a + m * K, K, W + n * ldw, ldw, beta, C + m * ldc + n, ldc);
    for (; m < M; ++m) dot_block<1, 4>(K, a + m * K, K, W + n * ldw, ldw, beta, C + m * ldc + n, ldc);
  }
  for (; n < n1; ++n) {
    int64_t m = 0;
    for (; m + 4 <= M; m += 4) dot_block<4, 1>(K, a + m * K, K, W + n * ldw, ldw, beta, C + m * ldc + n, ldc);
    for (; m < M; ++m) dot_block<1, 1>(K, a + m * K, K, W + n * ldw, ldw, beta, C + m * ldc + n, ldc);
  }
}

// Splitting across threads pays only when each thread has enough weight to stream: starting a
// thread costs tens of microseconds, a 1536 x 1536 bf16 matrix takes ~0.2 ms on one core.
constexpr int64_t kMinWeightsPerThread = 1 << 20;

void gemm_dot(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint16_t* W, int64_t ldw, float beta,
              float* C, int64_t ldc, int threads) {
  thread_local std::vector<uint16_t> a16;
  a16.resize(static_cast<size_t>(M * K));
  for (int64_t i = 0; i < M; ++i) bf16_from_f32(A + i * lda, a16.data() + i * K, K);
  const uint16_t* a = a16.data();
  int64_t t = threads < 1 ? 1 : threads;
  while (t > 1 && N * K / t < kMinWeightsPerThread) --t;
  if (t > N / 4) t = N / 4 > 1 ? N / 4 : 1;
  if (t <= 1) {
    dot_columns(M, 0, N, K, a, W, ldw, beta, C, ldc);
    return;
  }
  // Contiguous column ranges, multiples of 4 but the last; the caller works on the first.
  const int64_t per = ((N / t) + 3) / 4 * 4;
  std::vector<std::thread> pool;
  for (int64_t i = 1; i < t; ++i) {
    const int64_t n0 = i * per < N ? i * per : N, n1 = i == t - 1 || (i + 1) * per > N ? N : (i + 1) * per;
    if (n0 < n1) pool.emplace_back(dot_columns, M, n0, n1, K, a, W, ldw, beta, C, ldc);
  }
  dot_columns(M, 0, per < N ? per : N, K, a, W, ldw, beta, C, ldc);
  for (auto& th : pool) th.join();
}

#endif  // LR_BF16_DOT

void gemm_widen(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint16_t* W, int64_t ldw,
                float beta, float* C, int64_t ldc, sgemm_nt_fn sgemm) {
  thread_local std::vector<float> w32;
  w32.resize(static_cast<size_t>(kWidenChunk * K));
  for (int64_t n = 0; n < N; n += kWidenChunk) {
    const int64_t nn = N - n < kWidenChunk ? N - n : kWidenChunk;
    for (int64_t j = 0; j < nn; ++j) f32_from_bf16(W + (n + j) * ldw, w32.data() + j * K, K);
    sgemm(M, nn, K, A, lda, w32.data(), K, beta, C + n, ldc);
  }
}

}  // namespace

void bf16_from_f32(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = round_bf16(src[i]);
}

void f32_from_bf16(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = static_cast<uint32_t>(src[i]) << 16;
    std::memcpy(dst + i, &u, 4);
  }
}

bool bf16_dot_supported() {
#ifdef LR_BF16_DOT
  static const bool ok = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16");
  return ok;
#else
  return false;  // not x86-64: the widening path
#endif
}

Bf16Path gemm_bf16_nt(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint16_t* W,
                      int64_t ldw, float beta, float* C, int64_t ldc, sgemm_nt_fn sgemm, Bf16Path path, int threads) {
  if (path == Bf16Path::Auto) path = bf16_dot_supported() ? Bf16Path::Dot : Bf16Path::Widen;
  if (path == Bf16Path::Dot && !bf16_dot_supported()) path = Bf16Path::Widen;
  if (path == Bf16Path::Dot) {
#ifdef LR_BF16_DOT
    gemm_dot(M, N, K, A, lda, W, ldw, beta, C, ldc, threads);
#endif
  } else {
    gemm_widen(M, N, K, A, lda, W, ldw, beta, C, ldc, sgemm);
  }
  return path;
}
