// lightreasoner's native addon: matrix multiplication (sgemm, through a BLAS library when one can
// be opened, otherwise the portable kernel of gemm_portable.cc) and the vectorised element-wise
// kernels of kernels.cc (softmax, log-softmax, SwiGLU, RMSNorm, decoding attention, AdamW). Loaded
// by src/engine/native.ts; each kernel's JavaScript reference is beside the op that uses it.
//
// The BLAS library is opened at run time with dlopen rather than linked, for three reasons:
//  - the addon builds on any machine with a C++ compiler, OpenBLAS installed or not;
//  - OPENBLAS_CORETYPE must be in the environment before OpenBLAS initialises, and the JS side
//    sets it (after detecting the CPU) just before calling loadBlas;
//  - installing libopenblas later turns the fast path on without rebuilding anything.
// Without a BLAS library the same entry point runs gemm_portable (single-threaded).
#include <napi.h>
#include <dlfcn.h>
#include <string>
#include <vector>
#include "gemm_bf16.h"
#include "gemm_portable.h"
#include "kernels.h"

namespace {

enum CblasOrder { CblasRowMajor = 101 };
enum CblasTranspose { CblasNoTrans = 111, CblasTrans = 112 };
using sgemm_fn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*,
                          int, float, float*, int);
using corename_fn = char* (*)();
using get_threads_fn = int (*)();
using set_threads_fn = void (*)(int);

void* blas_handle = nullptr;
std::string blas_path;
sgemm_fn cblas_sgemm = nullptr;
corename_fn openblas_get_corename = nullptr;
corename_fn openblas_get_config = nullptr;
get_threads_fn openblas_get_num_threads = nullptr;
set_threads_fn openblas_set_num_threads = nullptr;

Napi::Value Info(const Napi::Env& env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("blas", cblas_sgemm ? Napi::Value(Napi::String::New(env, blas_path)) : env.Null());
  o.Set("coreName", openblas_get_corename ? Napi::Value(Napi::String::New(env, openblas_get_corename()))
                                          : env.Null());
  o.Set("config", openblas_get_config ? Napi::Value(Napi::String::New(env, openblas_get_config()))
                                      : env.Null());
  o.Set("threads", openblas_get_num_threads ? Napi::Value(Napi::Number::New(env, openblas_get_num_threads()))
                                            : Napi::Value(Napi::Number::New(env, 1)));
  return o;
}

// loadBlas(candidates: string[]) -> info. Tries each library name in order; keeps the first that
// exports cblas_sgemm. Calling it again after success is a no-op.
Napi::Value LoadBlas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!cblas_sgemm && info.Length() > 0 && info[0].IsArray()) {
    Napi::Array candidates = info[0].As<Napi::Array>();
    std::string errors;
    for (uint32_t i = 0; i < candidates.Length() && !cblas_sgemm; ++i) {
      std::string path = candidates.Get(i).As<Napi::String>().Utf8Value();
      void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) {
        const char* e = dlerror();
        errors += std::string(e ? e : path.c_str()) + "\n";
        continue;
      }
      auto f = reinterpret_cast<sgemm_fn>(dlsym(h, "cblas_sgemm"));
      if (!f) {
        errors += path + ": no cblas_sgemm symbol\n";
        dlclose(h);
        continue;
      }
      blas_handle = h;
      blas_path = path;
      cblas_sgemm = f;
      openblas_get_corename = reinterpret_cast<corename_fn>(dlsym(h, "openblas_get_corename"));
      openblas_get_config = reinterpret_cast<corename_fn>(dlsym(h, "openblas_get_config"));
      openblas_get_num_threads = reinterpret_cast<get_threads_fn>(dlsym(h, "openblas_get_num_threads"));
      openblas_set_num_threads = reinterpret_cast<set_threads_fn>(dlsym(h, "openblas_set_num_threads"));
    }
    if (!cblas_sgemm) {
      Napi::Object o = Info(env).As<Napi::Object>();
      o.Set("loadErrors", Napi::String::New(env, errors));
      return o;
    }
  }
  return Info(env);
}

// Threads for the kernels that split their own work (attentionDecode); 0: as many as OpenBLAS uses.
int g_kernel_threads = 0;

Napi::Value SetKernelThreads(const Napi::CallbackInfo& info) {
  if (info.Length() > 0) {
    const int n = info[0].As<Napi::Number>().Int32Value();
    g_kernel_threads = n > 0 ? n : 0;
  }
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  if (openblas_set_num_threads && info.Length() > 0) {
    openblas_set_num_threads(info[0].As<Napi::Number>().Int32Value());
  }
  return Info(info.Env());
}

// Extent (in elements) a row-major matrix view needs: rows x cols with row stride ld.
inline int64_t Extent(int64_t rows, int64_t cols, int64_t ld) {
  return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;
}

bool CheckView(const Napi::Env& env, const char* name, const Napi::Float32Array& a, int64_t off,
               int64_t rows, int64_t cols, int64_t ld) {
  if (ld < cols || ld < 1) {
    Napi::RangeError::New(env, std::string("sgemm: leading dimension of ") + name + " is smaller than its row")
        .ThrowAsJavaScriptException();
    return false;
  }
  if (off < 0 || off + Extent(rows, cols, ld) > static_cast<int64_t>(a.ElementLength())) {
    Napi::RangeError::New(env, std::string("sgemm: ") + name + " is too short for the requested view")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// sgemm(transA, transB, M, N, K, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc)
// Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C. Offsets are in elements, so
// callers address sub-matrices (one attention head, one sequence) without making views.
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 16) {
    Napi::TypeError::New(env, "sgemm: expected 16 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const bool ta = info[0].As<Napi::Boolean>().Value();
  const bool tb = info[1].As<Napi::Boolean>().Value();
  const int64_t M = info[2].As<Napi::Number>().Int64Value();
  const int64_t N = info[3].As<Napi::Number>().Int64Value();
  const int64_t K = info[4].As<Napi::Number>().Int64Value();
  const float alpha = info[5].As<Napi::Number>().FloatValue();
  Napi::Float32Array A = info[6].As<Napi::Float32Array>();
  const int64_t offA = info[7].As<Napi::Number>().Int64Value();
  const int64_t lda = info[8].As<Napi::Number>().Int64Value();
  Napi::Float32Array B = info[9].As<Napi::Float32Array>();
  const int64_t offB = info[10].As<Napi::Number>().Int64Value();
  const int64_t ldb = info[11].As<Napi::Number>().Int64Value();
  const float beta = info[12].As<Napi::Number>().FloatValue();
  Napi::Float32Array C = info[13].As<Napi::Float32Array>();
  const int64_t offC = info[14].As<Napi::Number>().Int64Value();
  const int64_t ldc = info[15].As<Napi::Number>().Int64Value();
  if (M < 0 || N < 0 || K < 0) {
    Napi::RangeError::New(env, "sgemm: negative dimension").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (M == 0 || N == 0) return env.Undefined();
  if (!CheckView(env, "A", A, offA, ta ? K : M, ta ? M : K, lda)) return env.Undefined();
  if (!CheckView(env, "B", B, offB, tb ? N : K, tb ? K : N, ldb)) return env.Undefined();
  if (!CheckView(env, "C", C, offC, M, N, ldc)) return env.Undefined();
  const float* a = A.Data() + offA;
  const float* b = B.Data() + offB;
  float* c = C.Data() + offC;
  if (cblas_sgemm && M <= 0x7fffffff && N <= 0x7fffffff && K <= 0x7fffffff) {
    // BLAS requires ld >= 1 even when K == 0.
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, a,
                static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
  } else {
    gemm_portable(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  return env.Undefined();
}

// sgemmPortable(...) has sgemm's signature but always runs the portable kernel; tests compare it.
Napi::Value SgemmPortable(const Napi::CallbackInfo& info) {
  sgemm_fn saved = cblas_sgemm;
  cblas_sgemm = nullptr;
  Napi::Value r = Sgemm(info);
  cblas_sgemm = saved;
  return r;
}

// ---- element-wise kernels -------------------------------------------------------------------
// Each takes typed arrays with element offsets and checks the extent it will touch.

float* View(const Napi::CallbackInfo& info, size_t arg, size_t offArg, int64_t count, const char* what) {
  Napi::Env env = info.Env();
  if (!info[arg].IsTypedArray()) {
    Napi::TypeError::New(env, std::string(what) + ": expected a Float32Array").ThrowAsJavaScriptException();
    return nullptr;
  }
  Napi::Float32Array a = info[arg].As<Napi::Float32Array>();
  const int64_t off = info[offArg].As<Napi::Number>().Int64Value();
  if (off < 0 || count < 0 || off + count > static_cast<int64_t>(a.ElementLength())) {
    Napi::RangeError::New(env, std::string(what) + ": view runs past the end of the array").ThrowAsJavaScriptException();
    return nullptr;
  }
  return a.Data() + off;
}

int64_t Int(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }

// softmaxRows(a, off, rows, len, valid0)
Napi::Value SoftmaxRows(const Napi::CallbackInfo& info) {
  const int64_t rows = Int(info, 2), len = Int(info, 3), valid0 = Int(info, 4);
  float* a = View(info, 0, 1, rows * len, "softmaxRows");
  if (a) softmax_rows(a, rows, len, valid0);
  return info.Env().Undefined();
}

// softmaxBackwardRows(p, pOff, d, dOff, rows, len, valid0)
Napi::Value SoftmaxBackwardRows(const Napi::CallbackInfo& info) {
  const int64_t rows = Int(info, 4), len = Int(info, 5), valid0 = Int(info, 6);
  const float* p = View(info, 0, 1, rows * len, "softmaxBackwardRows p");
  float* d = p ? View(info, 2, 3, rows * len, "softmaxBackwardRows d") : nullptr;
  if (d) softmax_backward_rows(p, d, rows, len, valid0);
  return info.Env().Undefined();
}

// logSoftmaxRows(z, off, rows, n, out | null, outOff, lse | null, lseOff)
Napi::Value LogSoftmaxRows(const Napi::CallbackInfo& info) {
  const int64_t rows = Int(info, 2), n = Int(info, 3);
  const float* z = View(info, 0, 1, rows * n, "logSoftmaxRows z");
  if (!z) return info.Env().Undefined();
  float* out = nullptr;
  float* lse = nullptr;
  if (!info[4].IsNull() && !(out = View(info, 4, 5, rows * n, "logSoftmaxRows out"))) return info.Env().Undefined();
  if (!info[6].IsNull() && !(lse = View(info, 6, 7, rows, "logSoftmaxRows lse"))) return info.Env().Undefined();
  log_softmax_rows(z, rows, n, out, lse);
  return info.Env().Undefined();
}

// expShiftScale(z, off, n, shift, scale, out, outOff)
Napi::Value ExpShiftScale(const Napi::CallbackInfo& info) {
  const int64_t n = Int(info, 2);
  const float shift = info[3].As<Napi::Number>().FloatValue(), scale = info[4].As<Napi::Number>().FloatValue();
  const float* z = View(info, 0, 1, n, "expShiftScale z");
  float* out = z ? View(info, 5, 6, n, "expShiftScale out") : nullptr;
  if (out) exp_shift_scale(z, n, shift, scale, out);
  return info.Env().Undefined();
}

// swigluForward(g, u, a, n)
Napi::Value SwigluForward(const Napi::CallbackInfo& info) {
  const int64_t n = info[3].As<Napi::Number>().Int64Value();
  Napi::Float32Array g = info[0].As<Napi::Float32Array>(), u = info[1].As<Napi::Float32Array>(), a = info[2].As<Napi::Float32Array>();
  if (static_cast<int64_t>(g.ElementLength()) < n || static_cast<int64_t>(u.ElementLength()) < n || static_cast<int64_t>(a.ElementLength()) < n) {
    Napi::RangeError::New(info.Env(), "swigluForward: arrays shorter than n").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  swiglu_forward(g.Data(), u.Data(), a.Data(), n);
  return info.Env().Undefined();
}

// swigluBackward(da, g, u, dg, du, n)
Napi::Value SwigluBackward(const Napi::CallbackInfo& info) {
  const int64_t n = info[5].As<Napi::Number>().Int64Value();
  Napi::Float32Array arr[5];
  for (int i = 0; i < 5; ++i) {
    arr[i] = info[i].As<Napi::Float32Array>();
    if (static_cast<int64_t>(arr[i].ElementLength()) < n) {
      Napi::RangeError::New(info.Env(), "swigluBackward: arrays shorter than n").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
  }
  swiglu_backward(arr[0].Data(), arr[1].Data(), arr[2].Data(), arr[3].Data(), arr[4].Data(), n);
  return info.Env().Undefined();
}

// rmsnormForward(x, w, rows, dim, eps, y, rstd | null)
Napi::Value RmsnormForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t rows = Int(info, 2), dim = Int(info, 3);
  const float eps = info[4].As<Napi::Number>().FloatValue();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), w = info[1].As<Napi::Float32Array>(), y = info[5].As<Napi::Float32Array>();
  const bool hasRstd = !info[6].IsNull();
  if (static_cast<int64_t>(x.ElementLength()) < rows * dim || static_cast<int64_t>(y.ElementLength()) < rows * dim || static_cast<int64_t>(w.ElementLength()) < dim ||
      (hasRstd && static_cast<int64_t>(info[6].As<Napi::Float32Array>().ElementLength()) < rows)) {
    Napi::RangeError::New(env, "rmsnormForward: arrays shorter than rows x dim").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  rmsnorm_forward(x.Data(), w.Data(), rows, dim, eps, y.Data(), hasRstd ? info[6].As<Napi::Float32Array>().Data() : nullptr);
  return env.Undefined();
}

// rmsnormBackward(dy, x, w, rstd, rows, dim, dx, dw | null)
Napi::Value RmsnormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t rows = Int(info, 4), dim = Int(info, 5);
  Napi::Float32Array dy = info[0].As<Napi::Float32Array>(), x = info[1].As<Napi::Float32Array>(), w = info[2].As<Napi::Float32Array>(),
                     rstd = info[3].As<Napi::Float32Array>(), dx = info[6].As<Napi::Float32Array>();
  const bool hasDw = !info[7].IsNull();
  if (static_cast<int64_t>(dy.ElementLength()) < rows * dim || static_cast<int64_t>(x.ElementLength()) < rows * dim || static_cast<int64_t>(dx.ElementLength()) < rows * dim ||
      static_cast<int64_t>(w.ElementLength()) < dim || static_cast<int64_t>(rstd.ElementLength()) < rows ||
      (hasDw && static_cast<int64_t>(info[7].As<Napi::Float32Array>().ElementLength()) < dim)) {
    Napi::RangeError::New(env, "rmsnormBackward: arrays shorter than rows x dim").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  rmsnorm_backward(dy.Data(), x.Data(), w.Data(), rstd.Data(), rows, dim, dx.Data(), hasDw ? info[7].As<Napi::Float32Array>().Data() : nullptr);
  return env.Undefined();
}

// attentionDecode(q, rows: Int32Array, kts: Float32Array[] (key tiles, kernels.h), vs: Float32Array[], lens: Int32Array, nH, nKV, hd, out)
Napi::Value AttentionDecode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array q = info[0].As<Napi::Float32Array>(), out = info[8].As<Napi::Float32Array>();
  Napi::Int32Array rows = info[1].As<Napi::Int32Array>(), lens = info[4].As<Napi::Int32Array>();
  Napi::Array ks = info[2].As<Napi::Array>(), vs = info[3].As<Napi::Array>();
  const int64_t nH = Int(info, 5), nKV = Int(info, 6), hd = Int(info, 7);
  const int64_t S = rows.ElementLength();
  auto fail = [&](const char* m) { Napi::RangeError::New(env, std::string("attentionDecode: ") + m).ThrowAsJavaScriptException(); return env.Undefined(); };
  if (nH <= 0 || nKV <= 0 || hd <= 0 || nH % nKV != 0) return fail("bad head counts");
  if (static_cast<int64_t>(lens.ElementLength()) != S || ks.Length() != S || vs.Length() != S) return fail("one row, length, key cache and value cache per sequence");
  std::vector<const float*> kp(S), vp(S);
  int64_t maxLen = 1;
  for (int64_t s = 0; s < S; ++s) {
    const int64_t row = rows[s], len = lens[s];
    if (row < 0 || (row + 1) * nH * hd > static_cast<int64_t>(q.ElementLength()) || (row + 1) * nH * hd > static_cast<int64_t>(out.ElementLength())) return fail("row outside q or out");
    Napi::Float32Array K = ks.Get(s).As<Napi::Float32Array>(), V = vs.Get(s).As<Napi::Float32Array>();
    const int64_t tiled = (len + kKeyTile - 1) / kKeyTile * kKeyTile;
    if (len < 1 || tiled * nKV * hd > static_cast<int64_t>(K.ElementLength()) || len * nKV * hd > static_cast<int64_t>(V.ElementLength())) return fail("cache shorter than its length");
    kp[s] = K.Data();
    vp[s] = V.Data();
    maxLen = len > maxLen ? len : maxLen;
  }
  std::vector<float> scratch(static_cast<size_t>(attention_decode_scratch(maxLen, nH)));
  // By default as many threads as OpenBLAS is set to use (the engine's thread setting): its own
  // workers wait while this runs.
  const int threads = g_kernel_threads > 0 ? g_kernel_threads : openblas_get_num_threads ? openblas_get_num_threads() : 1;
  attention_decode(q.Data(), rows.Data(), kp.data(), vp.data(), lens.Data(), S, nH, nKV, hd, out.Data(), scratch.data(), threads);
  return env.Undefined();
}

// dropoutForward(x, p, keep, state, xd, mask: Uint8Array) -> the advanced state
Napi::Value DropoutForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), xd = info[4].As<Napi::Float32Array>();
  Napi::Uint8Array mask = info[5].As<Napi::Uint8Array>();
  const int64_t n = x.ElementLength();
  if (static_cast<int64_t>(xd.ElementLength()) < n || static_cast<int64_t>(mask.ElementLength()) < n) {
    Napi::RangeError::New(env, "dropoutForward: xd or mask shorter than x").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint32_t state = info[3].As<Napi::Number>().Uint32Value();
  const uint32_t next = dropout_forward(x.Data(), n, info[1].As<Napi::Number>().DoubleValue(), info[2].As<Napi::Number>().DoubleValue(), state, xd.Data(), mask.Data());
  return Napi::Number::New(env, static_cast<double>(next));
}

// dropoutBackward(dxd, mask: Uint8Array, keep, dx)
Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array dxd = info[0].As<Napi::Float32Array>(), dx = info[3].As<Napi::Float32Array>();
  Napi::Uint8Array mask = info[1].As<Napi::Uint8Array>();
  const int64_t n = dxd.ElementLength();
  if (static_cast<int64_t>(mask.ElementLength()) < n || static_cast<int64_t>(dx.ElementLength()) < n) {
    Napi::RangeError::New(env, "dropoutBackward: mask or dx shorter than dxd").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  dropout_backward(dxd.Data(), mask.Data(), n, info[2].As<Napi::Number>().DoubleValue(), dx.Data());
  return env.Undefined();
}

// adamwUpdate(w, g, m, v, lr, beta1, beta2, eps, weightDecay, stepSize, sqrtBc2)
Napi::Value AdamwUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array w = info[0].As<Napi::Float32Array>(), g = info[1].As<Napi::Float32Array>(), m = info[2].As<Napi::Float32Array>(), v = info[3].As<Napi::Float32Array>();
  const size_t n = w.ElementLength();
  if (g.ElementLength() != n || m.ElementLength() != n || v.ElementLength() != n) {
    Napi::RangeError::New(env, "adamwUpdate: parameter, gradient and moments differ in length").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto f = [&](size_t i) { return info[i].As<Napi::Number>().FloatValue(); };
  adamw_update(w.Data(), g.Data(), m.Data(), v.Data(), static_cast<int64_t>(n), f(4), f(5), f(6), f(7), f(8), f(9), f(10));
  return env.Undefined();
}

// sumSquares(a) -> number
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Napi::Float32Array a = info[0].As<Napi::Float32Array>();
  return Napi::Number::New(info.Env(), sum_squares(a.Data(), static_cast<int64_t>(a.ElementLength())));
}

// ---- bfloat16 weights (inference only; native/gemm_bf16.cc) ---------------------------------

// The float32 product the widening path hands its chunks to: BLAS when open, else portable.
void SgemmNt(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
             float beta, float* C, int64_t ldc) {
  if (cblas_sgemm && M <= 0x7fffffff && N <= 0x7fffffff && K <= 0x7fffffff) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(M), static_cast<int>(N),
                static_cast<int>(K), 1.0f, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta, C,
                static_cast<int>(ldc));
  } else {
    gemm_portable(false, true, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
  }
}

bool CheckExtent(const Napi::Env& env, const char* what, int64_t off, int64_t count, size_t length) {
  if (off < 0 || count < 0 || off + count > static_cast<int64_t>(length)) {
    Napi::RangeError::New(env, std::string(what) + ": view runs past the end of the array").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// The two conversions share their argument checks: (src, srcOff, dst, dstOff, n) over typed arrays
// of the given element types, each view checked against its array's end.
template <typename Src, typename Dst, void (*Convert)(const Src*, Dst*, int64_t)>
Napi::Value ConvertArray(const Napi::CallbackInfo& info, const char* name, napi_typedarray_type srcType, napi_typedarray_type dstType, const char* signature) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsTypedArray() || !info[2].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != srcType ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != dstType) {
    Napi::TypeError::New(env, std::string(name) + ": expected " + signature).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArrayOf<Src> src = info[0].As<Napi::TypedArrayOf<Src>>();
  Napi::TypedArrayOf<Dst> dst = info[2].As<Napi::TypedArrayOf<Dst>>();
  const int64_t so = Int(info, 1), d = Int(info, 3), n = Int(info, 4);
  if (!CheckExtent(env, (std::string(name) + " src").c_str(), so, n, src.ElementLength()) ||
      !CheckExtent(env, (std::string(name) + " dst").c_str(), d, n, dst.ElementLength())) return env.Undefined();
  Convert(src.Data() + so, dst.Data() + d, n);
  return env.Undefined();
}

// bf16FromF32(src: Float32Array, srcOff, dst: Uint16Array, dstOff, n): round to nearest even.
Napi::Value Bf16FromF32(const Napi::CallbackInfo& info) {
  return ConvertArray<float, uint16_t, bf16_from_f32>(info, "bf16FromF32", napi_float32_array, napi_uint16_array, "(Float32Array, off, Uint16Array, off, n)");
}

// f32FromBf16(src: Uint16Array, srcOff, dst: Float32Array, dstOff, n): exact widening.
Napi::Value F32FromBf16(const Napi::CallbackInfo& info) {
  return ConvertArray<uint16_t, float, f32_from_bf16>(info, "f32FromBf16", napi_uint16_array, napi_float32_array, "(Uint16Array, off, Float32Array, off, n)");
}

// gemmBf16(M, N, K, A: Float32Array, offA, lda, W: Uint16Array, offW, ldw, beta, C, offC, ldc, path)
// C[M,N] = A[M,K] · Wᵀ + beta · C with W [N,K] bfloat16. path: 0 auto (dot where the CPU has it), 1 dot, 2 widen (benchmarks
// and tests pick one; a dot request on a CPU without AVX512-BF16 widens). Returns "dot" or "widen".
Napi::Value GemmBf16(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 14 || !info[3].IsTypedArray() || !info[6].IsTypedArray() || !info[10].IsTypedArray() ||
      info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      info[6].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array ||
      info[10].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    Napi::TypeError::New(env, "gemmBf16: expected (M, N, K, A: Float32Array, offA, lda, W: Uint16Array, offW, ldw, beta, C: Float32Array, offC, ldc, path)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t M = Int(info, 0), N = Int(info, 1), K = Int(info, 2);
  Napi::Float32Array A = info[3].As<Napi::Float32Array>();
  const int64_t offA = Int(info, 4), lda = Int(info, 5);
  Napi::Uint16Array W = info[6].As<Napi::Uint16Array>();
  const int64_t offW = Int(info, 7), ldw = Int(info, 8);
  const float beta = info[9].As<Napi::Number>().FloatValue();
  Napi::Float32Array C = info[10].As<Napi::Float32Array>();
  const int64_t offC = Int(info, 11), ldc = Int(info, 12), path = Int(info, 13);
  if (M < 0 || N < 0 || K < 0 || path < 0 || path > 2) {
    Napi::RangeError::New(env, "gemmBf16: negative dimension or unknown path").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (M == 0 || N == 0) return Napi::String::New(env, "none");
  auto view = [&](const char* name, size_t length, int64_t off, int64_t rows, int64_t cols, int64_t ld) {
    if (ld < cols || ld < 1 || off < 0 || off + Extent(rows, cols, ld) > static_cast<int64_t>(length)) {
      Napi::RangeError::New(env, std::string("gemmBf16: ") + name + " is too short for the requested view or its leading dimension is smaller than its row")
          .ThrowAsJavaScriptException();
      return false;
    }
    return true;
  };
  if (!view("A", A.ElementLength(), offA, M, K, lda) || !view("W", W.ElementLength(), offW, N, K, ldw) ||
      !view("C", C.ElementLength(), offC, M, N, ldc)) return env.Undefined();
  const Bf16Path taken = gemm_bf16_nt(M, N, K, A.Data() + offA, lda, W.Data() + offW, ldw, beta, C.Data() + offC, ldc,
                                      SgemmNt, static_cast<Bf16Path>(path),
                                      openblas_get_num_threads ? openblas_get_num_threads() : 1);
  return Napi::String::New(env, taken == Bf16Path::Dot ? "dot" : "widen");
}

// bf16Info() -> { dot, sbgemm }: what gemmBf16 can run here, and whether the open
// BLAS library exports cblas_sbgemm (reported by the benchmark; Debian's 0.3.21 does not).
Napi::Value Bf16Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("dot", Napi::Boolean::New(env, bf16_dot_supported()));
  o.Set("sbgemm", Napi::Boolean::New(env, blas_handle != nullptr && dlsym(blas_handle, "cblas_sbgemm") != nullptr));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("adamwUpdate", Napi::Function::New(env, AdamwUpdate));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares));
  exports.Set("attentionDecode", Napi::Function::New(env, AttentionDecode));
  exports.Set("dropoutForward", Napi::Function::New(env, DropoutForward));
  exports.Set("dropoutBackward", Napi::Function::New(env, DropoutBackward));
  exports.Set("rmsnormForward", Napi::Function::New(env, RmsnormForward));
  exports.Set("rmsnormBackward", Napi::Function::New(env, RmsnormBackward));
  exports.Set("softmaxRows", Napi::Function::New(env, SoftmaxRows));
  exports.Set("softmaxBackwardRows", Napi::Function::New(env, SoftmaxBackwardRows));
  exports.Set("logSoftmaxRows", Napi::Function::New(env, LogSoftmaxRows));
  exports.Set("expShiftScale", Napi::Function::New(env, ExpShiftScale));
  exports.Set("swigluForward", Napi::Function::New(env, SwigluForward));
  exports.Set("swigluBackward", Napi::Function::New(env, SwigluBackward));
  exports.Set("loadBlas", Napi::Function::New(env, LoadBlas));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setKernelThreads", Napi::Function::New(env, SetKernelThreads));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("sgemmPortable", Napi::Function::New(env, SgemmPortable));
  exports.Set("bf16FromF32", Napi::Function::New(env, Bf16FromF32));
  exports.Set("f32FromBf16", Napi::Function::New(env, F32FromBf16));
  exports.Set("gemmBf16", Napi::Function::New(env, GemmBf16));
  exports.Set("bf16Info", Napi::Function::New(env, Bf16Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(lightreasoner_native, Init)
