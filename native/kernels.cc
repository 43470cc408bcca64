// Element-wise kernels that dominate the JavaScript profile after the matrix products: the ones
// built on exp (softmax, log-sum-exp, SiLU). Written so gcc vectorises them (-O3 -march=native):
// a branch-free exp with Cephes' polynomial instead of libm's expf. Single-threaded on purpose:
// OpenBLAS's worker threads spin on the other cores for a while after each sgemm.
#include "kernels.h"
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

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

// Backward of the causal softmax rows of one attention head, in place: d[j] = p[j]·(d[j] − Σ_k p[k]·d[k])
// over row i's first valid0 + i entries, zero after them. In double and in order, as the JavaScript
// reference: each product of two floats is exact in double, so the sum is the same fused or not.
// Four rows run side by side (independent chains; each row's sum keeps its order).
void softmax_backward_rows(const float* p, float* d, int64_t rows, int64_t len, int64_t valid0) {
  auto finish = [&](int64_t i, double dot, int64_t from) {
    const float* pr = p + i * len;
    float* dr = d + i * len;
    int64_t valid = valid0 + i;
    if (valid > len) valid = len;
    for (int64_t j = from; j < valid; ++j) dot += static_cast<double>(pr[j]) * static_cast<double>(dr[j]);
    for (int64_t j = 0; j < valid; ++j) dr[j] = static_cast<float>(static_cast<double>(pr[j]) * (static_cast<double>(dr[j]) - dot));
    for (int64_t j = valid; j < len; ++j) dr[j] = 0.0f;
  };
  int64_t i = 0;
  for (; i + 4 <= rows; i += 4) {
    int64_t common = valid0 + i;  // the shortest of the four rows
    if (common > len) common = len;
    const float *p0 = p + i * len, *p1 = p0 + len, *p2 = p1 + len, *p3 = p2 + len;
    const float *d0 = d + i * len, *d1 = d0 + len, *d2 = d1 + len, *d3 = d2 + len;
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    for (int64_t j = 0; j < common; ++j) {
      s0 += static_cast<double>(p0[j]) * static_cast<double>(d0[j]);
      s1 += static_cast<double>(p1[j]) * static_cast<double>(d1[j]);
      s2 += static_cast<double>(p2[j]) * static_cast<double>(d2[j]);
      s3 += static_cast<double>(p3[j]) * static_cast<double>(d3[j]);
    }
    finish(i, s0, common);
    finish(i + 1, s1, common);
    finish(i + 2, s2, common);
    finish(i + 3, s3, common);
  }
  for (; i < rows; ++i) finish(i, 0.0, 0);
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

// Decoding attention is where cached generation spends most of its time on small models, so this
// kernel is written for speed but computes exactly what a one-key-at-a-time loop computes (greedy
// completions are bit-identical to the loop it replaced, for head dims that are multiples of 16):
//   score_j = (((0 + q_0 k_j0) + q_1 k_j1) + ...) · scale   products rounded, summed in order (no fusion),
//   p = softmax(score) (softmax_inplace),  out_i = Σ_j p_j v_ji accumulated (fused) in key order.
// Keys arrive in tiles of 16 positions transposed (attention_decode's comment in kernels.h), so the
// 16 scores of a tile are the 16 lanes of one vector: the order inside each score is unchanged, only
// independent scores run side by side. All query heads of a key/value group share each tile, and the
// value rows are read once, with several heads' accumulators in registers. Sequences are split over
// threads; no sequence's arithmetic depends on the split or on the batch.
#if defined(__GNUC__)
namespace {

typedef float vf16 __attribute__((vector_size(64)));
typedef float vf16u __attribute__((vector_size(64), aligned(4), may_alias));
inline vf16 load16(const float* p) { return *reinterpret_cast<const vf16u*>(p); }
inline void store16(float* p, vf16 x) { *reinterpret_cast<vf16u*>(p) = x; }

// Scores of one key tile for G query heads (G independent chains). Products are rounded before each
// add, as the scalar loop computed them: no fused multiply-add here.
template <int G>
#if !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
void group_scores(const float* qg, int64_t hd, const float* tile, float scale, float* scores, int64_t ld, int64_t j0) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  vf16 acc[G] = {};
  for (int64_t i = 0; i < hd; ++i) {
    const vf16 kv = load16(tile + i * kKeyTile);
#pragma GCC unroll 8
    for (int r = 0; r < G; ++r) {
      const vf16 prod = qg[r * hd + i] * kv;
      acc[r] = acc[r] + prod;
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < G; ++r) store16(scores + r * ld + j0, acc[r] * scale);
}
using GroupScoresFn = void (*)(const float*, int64_t, const float*, float, float*, int64_t, int64_t);
GroupScoresFn group_scores_for(int64_t group) {
  switch (group) {
    case 1: return group_scores<1>;
    case 2: return group_scores<2>;
    case 3: return group_scores<3>;
    case 4: return group_scores<4>;
    case 5: return group_scores<5>;
    case 6: return group_scores<6>;
    case 7: return group_scores<7>;
    case 8: return group_scores<8>;
    default: return nullptr;
  }
}

// NV 16-wide output chunks accumulated over all keys: o[c] = Σ_j sc[c][j] · V[j][voff[c] ..], in key order.
template <int NV>
void value_chunks(const float* V, int64_t kvStride, int64_t tk, const int64_t* voff, const float* const* sc, float* const* o) {
  vf16 acc[NV] = {};
  for (int64_t j = 0; j < tk; ++j) {
    const float* vj = V + j * kvStride;
#pragma GCC unroll 8
    for (int c = 0; c < NV; ++c) acc[c] += sc[c][j] * load16(vj + voff[c]);
  }
#pragma GCC unroll 8
  for (int c = 0; c < NV; ++c) store16(o[c], acc[c]);
}

void attention_decode_range(const float* q, const int32_t* rows, const float* const* kt, const float* const* v, const int32_t* lens,
                            int64_t s0, int64_t s1, int64_t nH, int64_t nKV, int64_t hd, int64_t ld, float* out, float* scratch) {
  static_assert(kKeyTile == 16, "one vector of scores per key tile");
  const int64_t group = nH / nKV, qStride = nH * hd, kvStride = nKV * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const GroupScoresFn scores_of_group = group_scores_for(group);
  for (int64_t s = s0; s < s1; ++s) {
    const int64_t row = rows[s], tk = lens[s];
    const float* V = v[s];
    const float* qs = q + row * qStride;
    float* os = out + row * qStride;
    // Lanes past the last key of a partial tile give scores that softmax never reads.
    for (int64_t j0 = 0; j0 < tk; j0 += kKeyTile) {
      const float* tile = kt[s] + j0 * kvStride;
      for (int64_t g = 0; g < nKV; ++g) {
        const float* tg = tile + g * hd * kKeyTile;
        if (scores_of_group) {
          scores_of_group(qs + g * group * hd, hd, tg, scale, scratch + g * group * ld, ld, j0);
        } else {
          for (int64_t r = 0; r < group; ++r) group_scores<1>(qs + (g * group + r) * hd, hd, tg, scale, scratch + (g * group + r) * ld, ld, j0);
        }
      }
    }
    for (int64_t h = 0; h < nH; ++h) softmax_inplace(scratch + h * ld, tk);
    if (hd % 16 == 0) {
      const int64_t chunks = nH * hd / 16, perHead = hd / 16;
      int64_t voff[8];
      const float* sc[8];
      float* o[8];
      for (int64_t c0 = 0; c0 < chunks;) {
        const int64_t m = chunks - c0 >= 8 ? 8 : chunks - c0 >= 4 ? 4 : 1;
        for (int64_t c = 0; c < m; ++c) {
          const int64_t h = (c0 + c) / perHead, i0 = ((c0 + c) % perHead) * 16;
          voff[c] = (h / group) * hd + i0;
          sc[c] = scratch + h * ld;
          o[c] = os + h * hd + i0;
        }
        if (m == 8) value_chunks<8>(V, kvStride, tk, voff, sc, o);
        else if (m == 4) value_chunks<4>(V, kvStride, tk, voff, sc, o);
        else value_chunks<1>(V, kvStride, tk, voff, sc, o);
        c0 += m;
      }
    } else {
      for (int64_t h = 0; h < nH; ++h) {
        const float* sr = scratch + h * ld;
        const float* vh = V + (h / group) * hd;
        for (int64_t i = 0; i < hd; ++i) {
          float a = 0.0f;
          for (int64_t j = 0; j < tk; ++j) a += sr[j] * vh[j * kvStride + i];
          os[h * hd + i] = a;
        }
      }
    }
  }
}

}  // namespace

// Keys rounded up to whole tiles: the row length of the scores scratch (group_scores writes whole tiles).
static int64_t padded_keys(int64_t maxLen) { return (maxLen + kKeyTile - 1) / kKeyTile * kKeyTile; }

int64_t attention_decode_scratch(int64_t maxLen, int64_t nH) { return nH * padded_keys(maxLen); }

void attention_decode(const float* q, const int32_t* rows, const float* const* kt, const float* const* v, const int32_t* lens,
                      int64_t S, int64_t nH, int64_t nKV, int64_t hd, float* out, float* scratch, int threads) {
  int64_t maxLen = 1, total = 0;
  for (int64_t s = 0; s < S; ++s) {
    maxLen = lens[s] > maxLen ? lens[s] : maxLen;
    total += lens[s];
  }
  const int64_t ld = padded_keys(maxLen), per = attention_decode_scratch(maxLen, nH);
  // A thread costs tens of microseconds to start: worth it only for a batch's worth of keys.
  int64_t T = threads < 1 ? 1 : threads;
  if (T > S) T = S;
  if (total * nH * hd < (int64_t{1} << 17)) T = 1;
  if (T == 1) {
    attention_decode_range(q, rows, kt, v, lens, 0, S, nH, nKV, hd, ld, out, scratch);
    return;
  }
  // Contiguous ranges of sequences with about equal numbers of keys.
  std::vector<int64_t> cut(static_cast<size_t>(T + 1), S);
  cut[0] = 0;
  int64_t acc = 0, t = 1;
  for (int64_t s = 0; s < S && t < T; ++s) {
    acc += lens[s];
    if (acc * T >= total * t) cut[static_cast<size_t>(t++)] = s + 1;
  }
  std::vector<float> more(static_cast<size_t>((T - 1) * per));
  std::vector<std::thread> pool;
  for (int64_t i = 1; i < T; ++i) {
    pool.emplace_back(attention_decode_range, q, rows, kt, v, lens, cut[static_cast<size_t>(i)], cut[static_cast<size_t>(i + 1)], nH, nKV, hd, ld,
                      out, more.data() + (i - 1) * per);
  }
  attention_decode_range(q, rows, kt, v, lens, 0, cut[1], nH, nKV, hd, ld, out, scratch);
  for (auto& th : pool) th.join();
}

#else  // not GCC or Clang: the same arithmetic one key at a time

int64_t attention_decode_scratch(int64_t maxLen, int64_t nH) {
  (void)nH;
  return maxLen;
}

void attention_decode(const float* q, const int32_t* rows, const float* const* kt, const float* const* v, const int32_t* lens,
                      int64_t S, int64_t nH, int64_t nKV, int64_t hd, float* out, float* scratch, int threads) {
  (void)threads;
  const int64_t group = nH / nKV, qStride = nH * hd, kvStride = nKV * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int64_t s = 0; s < S; ++s) {
    const int64_t row = rows[s], tk = lens[s];
    for (int64_t h = 0; h < nH; ++h) {
      const float* qh = q + row * qStride + h * hd;
      const int64_t g = h / group;
      for (int64_t j = 0; j < tk; ++j) {
        const float* kj = kt[s] + (j / kKeyTile) * kKeyTile * kvStride + g * hd * kKeyTile + j % kKeyTile;
        float d = 0.0f;
        for (int64_t i = 0; i < hd; ++i) {
          const float prod = qh[i] * kj[i * kKeyTile];
          d = d + prod;
        }
        scratch[j] = d * scale;
      }
      softmax_inplace(scratch, tk);
      float* oh = out + row * qStride + h * hd;
      for (int64_t i = 0; i < hd; ++i) oh[i] = 0.0f;
      for (int64_t j = 0; j < tk; ++j) {
        const float p = scratch[j];
        const float* vj = v[s] + j * kvStride + g * hd;
        for (int64_t i = 0; i < hd; ++i) oh[i] += p * vj[i];
      }
    }
  }
}

#endif

// LoRA dropout with the stream of src/util/rng.ts (splitmix32 state advance, xorshift-multiply
// output, u = z / 2^32): keep x[i] scaled by `keep` where u_i >= p. Draw i uses state + (i+1)·golden,
// so the loop has no carried dependency and vectorises. Computed in double as the JavaScript is,
// so the mask and xd are bit for bit the JavaScript reference's. Returns the advanced state.
uint32_t dropout_forward(const float* x, int64_t n, double p, double keep, uint32_t state, float* xd, uint8_t* mask) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t z = state + static_cast<uint32_t>(i + 1) * 0x9e3779b9u;
    z = (z ^ (z >> 16)) * 0x85ebca6bu;
    z = (z ^ (z >> 13)) * 0xc2b2ae35u;
    z = z ^ (z >> 16);
    const bool kept = static_cast<double>(z) / 4294967296.0 >= p;
    mask[i] = kept ? 1 : 0;
    xd[i] = kept ? static_cast<float>(static_cast<double>(x[i]) * keep) : 0.0f;
  }
  return state + static_cast<uint32_t>(n) * 0x9e3779b9u;
}

// dx[i] += dxd[i] · keep where the mask kept x[i]; in double, the product rounded before the add
// (no fusion), as the JavaScript reference computes it.
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
void dropout_backward(const float* dxd, const uint8_t* mask, int64_t n, double keep, float* dx) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  for (int64_t i = 0; i < n; ++i) {
    if (mask[i]) {
      const double t = static_cast<double>(dxd[i]) * keep;
      dx[i] = static_cast<float>(static_cast<double>(dx[i]) + t);
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
