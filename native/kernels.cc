// Element-wise kernels that dominate the JavaScript profile after the matrix products: the ones
// built on exp (softmax, log-sum-exp, SiLU). Written so gcc vectorises them (-O3 -march=native):
// a branch-free exp with Cephes' polynomial instead of libm's expf. Single-threaded on purpose:
// OpenBLAS's worker threads spin on the other cores for a while after each sgemm.
#include "kernels.h"
#include <cmath>
#include <cstring>

namespace {

// exp(x) for float, relative error ~2 ulp on [-87, 88]; saturates outside (no inf/NaN handling
// beyond clamping, which softmax-style callers never need).
inline float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float fx = std::floor(x * 1.44269504088896341f + 0.5f);
  float r = x - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(fx) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);  // vectorises only with -fno-trapping-math (binding.gyp)
  return e * scale;
}

// softmax over row[0, n) in place (n >= 1), max-subtracted for range.
inline void softmax_inplace(float* row, int64_t n) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) mx = row[j] > mx ? row[j] : mx;
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    const float e = exp_approx(row[j] - mx);
    row[j] = e;
    sum += e;
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) row[j] *= inv;
}

}  // namespace

void softmax_rows(float* a, int64_t rows, int64_t len, int64_t valid0) {
  for (int64_t i = 0; i < rows; ++i) {
    float* row = a + i * len;
    int64_t valid = valid0 + i;
    if (valid > len) valid = len;
    softmax_inplace(row, valid);
    for (int64_t j = valid; j < len; ++j) row[j] = 0.0f;
  }
}

void log_softmax_rows(const float* z, int64_t rows, int64_t n, float* out, float* lse_out) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = z + i * n;
    float mx = -INFINITY;
    for (int64_t j = 0; j < n; ++j) mx = row[j] > mx ? row[j] : mx;
    double sum = 0.0;
    float part = 0.0f;
    // Sum in float blocks (vectorised), accumulated in double across blocks for large vocabularies.
    for (int64_t j0 = 0; j0 < n; j0 += 1024) {
      const int64_t j1 = j0 + 1024 < n ? j0 + 1024 : n;
      part = 0.0f;
      for (int64_t j = j0; j < j1; ++j) part += exp_approx(row[j] - mx);
      sum += part;
    }
    const float lse = mx + static_cast<float>(std::log(sum));
    if (lse_out) lse_out[i] = lse;
    if (out) {
      float* o = out + i * n;
      for (int64_t j = 0; j < n; ++j) o[j] = row[j] - lse;
    }
  }
}

void exp_shift_scale(const float* z, int64_t n, float shift, float scale, float* out) {
  for (int64_t j = 0; j < n; ++j) out[j] = scale * exp_approx(z[j] - shift);
}

void swiglu_forward(const float* g, const float* u, float* a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float x = g[i];
    a[i] = x / (1.0f + exp_approx(-x)) * u[i];
  }
}

void swiglu_backward(const float* da, const float* g, const float* u, float* dg, float* du, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float x = g[i];
    const float s = 1.0f / (1.0f + exp_approx(-x));
    du[i] = da[i] * x * s;
    dg[i] = da[i] * u[i] * s * (1.0f + x * (1.0f - s));
  }
}

void rmsnorm_forward(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* y, float* rstd) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    double ss = 0.0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float s = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dim) + eps));
    if (rstd) rstd[r] = s;
    for (int64_t i = 0; i < dim; ++i) yr[i] = w[i] * (xr[i] * s);
  }
}

void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, int64_t rows, int64_t dim, float* dx, float* dw) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * dim;
    const float* xr = x + r * dim;
    float* dxr = dx + r * dim;
    const float s = rstd[r];
    double dot = 0.0;
    for (int64_t i = 0; i < dim; ++i) dot += static_cast<double>(dyr[i]) * w[i] * xr[i];
    const float c = static_cast<float>(dot * s * s / static_cast<double>(dim));
    for (int64_t i = 0; i < dim; ++i) dxr[i] += s * (dyr[i] * w[i] - xr[i] * c);
    if (dw) for (int64_t i = 0; i < dim; ++i) dw[i] += dyr[i] * xr[i] * s;
  }
}

void attention_decode(const float* q, const int32_t* rows, const float* const* k, const float* const* v, const int32_t* lens,
                      int64_t S, int64_t nH, int64_t nKV, int64_t hd, float* out, float* scratch) {
  const int64_t group = nH / nKV, qStride = nH * hd, kvStride = nKV * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int64_t s = 0; s < S; ++s) {
    const int64_t row = rows[s], tk = lens[s];
    const float* K = k[s];
    const float* V = v[s];
    for (int64_t h = 0; h < nH; ++h) {
      const float* qh = q + row * qStride + h * hd;
      const int64_t g = h / group;
      for (int64_t j = 0; j < tk; ++j) {
        const float* kj = K + j * kvStride + g * hd;
        float d = 0.0f;
        for (int64_t i = 0; i < hd; ++i) d += qh[i] * kj[i];
        scratch[j] = d * scale;
      }
      softmax_inplace(scratch, tk);
      float* oh = out + row * qStride + h * hd;
      for (int64_t i = 0; i < hd; ++i) oh[i] = 0.0f;
      for (int64_t j = 0; j < tk; ++j) {
        const float p = scratch[j];
        const float* vj = V + j * kvStride + g * hd;
        for (int64_t i = 0; i < hd; ++i) oh[i] += p * vj[i];
      }
    }
  }
}

void adamw_update(float* w, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2, float eps,
                  float weight_decay, float step_size, float sqrt_bc2) {
  const float decay = 1.0f - lr * weight_decay;
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    float wi = weight_decay != 0.0f ? w[i] * decay : w[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - step_size * mi / (std::sqrt(vi) / sqrt_bc2 + eps);
  }
}

double sum_squares(const float* a, int64_t n) {
  double total = 0.0;
  for (int64_t i0 = 0; i0 < n; i0 += 4096) {
    const int64_t i1 = i0 + 4096 < n ? i0 + 4096 : n;
    float part = 0.0f;
    for (int64_t i = i0; i < i1; ++i) part += a[i] * a[i];
    total += part;
  }
  return total;
}
