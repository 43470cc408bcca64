// Vectorised element-wise kernels (see kernels.cc). Row-major float32 buffers.
#pragma once
#include <cstdint>

// In-place softmax of each row of a [rows, len]; row i uses its first valid0 + i entries (the
// causal mask) and zeroes the rest.
void softmax_rows(float* a, int64_t rows, int64_t len, int64_t valid0);
// Backward of softmax_rows in place: d <- p ⊙ (d − rowsum(p ⊙ d)) over each row's valid0 + i
// entries (in double, in order), zero after them.
void softmax_backward_rows(const float* p, float* d, int64_t rows, int64_t len, int64_t valid0);
// log-softmax of each row of z [rows, n] into out (may be null); logsumexp of each row into lse (may be null).
void log_softmax_rows(const float* z, int64_t rows, int64_t n, float* out, float* lse);
// out[j] = scale * exp(z[j] - shift)
void exp_shift_scale(const float* z, int64_t n, float shift, float scale, float* out);
void swiglu_forward(const float* g, const float* u, float* a, int64_t n);
void swiglu_backward(const float* da, const float* g, const float* u, float* dg, float* du, int64_t n);
// RMSNorm over rows of x [rows, dim]: y = w * x / sqrt(mean(x^2) + eps); rstd (optional) receives 1/sqrt(...).
void rmsnorm_forward(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* y, float* rstd);
// Backward of rmsnorm_forward; dx is accumulated into, dw (optional) too.
void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, int64_t rows, int64_t dim, float* dx, float* dw);
// Decoding attention reads keys in tiles of kKeyTile positions, each transposed to
// [nKV*hd][kKeyTile]: key j, element c is at (j / kKeyTile) * kKeyTile * nKV*hd + c * kKeyTile + j % kKeyTile.
constexpr int64_t kKeyTile = 16;
// One decoding step of causal grouped-query attention for S sequences: query row rows[s] of
// q [*, nH*hd] attends all lens[s] cached keys kt[s] (tiled as above, whole tiles allocated) and
// values v[s] [len, nKV*hd]; the result goes to the same row of out. scratch holds
// attention_decode_scratch(max(lens), nH) floats; up to `threads` threads share the sequences (each
// extra thread gets its own scratch).
int64_t attention_decode_scratch(int64_t maxLen, int64_t nH);
void attention_decode(const float* q, const int32_t* rows, const float* const* kt, const float* const* v, const int32_t* lens,
                      int64_t S, int64_t nH, int64_t nKV, int64_t hd, float* out, float* scratch, int threads);
// LoRA dropout: mask[i] = 1 and xd[i] = x[i]·keep where the i-th draw of the stream at `state`
// (src/util/rng.ts) is >= p, else 0 and 0; returns the stream's state after n draws.
uint32_t dropout_forward(const float* x, int64_t n, double p, double keep, uint32_t state, float* xd, uint8_t* mask);
// Backward of dropout_forward into dx: dx[i] += dxd[i]·keep where mask[i].
void dropout_backward(const float* dxd, const uint8_t* mask, int64_t n, double keep, float* dx);
// One AdamW update (torch.optim.AdamW): decoupled decay, moments, bias-corrected step.
void adamw_update(float* w, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2, float eps,
                  float weight_decay, float step_size, float sqrt_bc2);
// Σ a², accumulated in double across blocks.
double sum_squares(const float* a, int64_t n);
