// kernels.h — the float kernels of the forward pass, written once over xsimd batches.
//
// Each kernel is a template over the xsimd architecture: a full-vector main loop plus a scalar tail.
// Beside each one, in namespace `ref`, is the plain scalar version it must agree with; the tests
// hold every SIMD kernel against its reference on ragged lengths. xsimd types stay inside this file.
#pragma once

#include <cmath>
#include <cstdint>

#include <xsimd/xsimd.hpp>

namespace ringlm {

namespace ref {

inline float dot(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

// sum of n values (streams a buffer: the benchmark's read-bandwidth ceiling)
inline float sum(const float* x, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; i++) s += x[i];
  return s;
}

// y += a * x
inline void axpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

// y += x
inline void add(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

// out = x / sqrt(mean(x^2) + eps) * w
inline void rmsnorm(float* out, const float* x, const float* w, int64_t n, float eps) {
  float ss = 0.0f;
  for (int64_t i = 0; i < n; i++) ss += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(ss / float(n) + eps);
  for (int64_t i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

// In place; subtracts the max first so exp never overflows.
inline void softmax(float* x, int64_t n) {
  float max = x[0];
  for (int64_t i = 1; i < n; i++) max = x[i] > max ? x[i] : max;
  float sum = 0.0f;
  for (int64_t i = 0; i < n; i++) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  for (int64_t i = 0; i < n; i++) x[i] /= sum;
}

// gate = silu(gate) * up: the SwiGLU activation
inline void swiglu(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; i++) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

}  // namespace ref

namespace simd {

using arch = xsimd::default_arch;
using batch = xsimd::batch<float, arch>;
constexpr int64_t W = int64_t(batch::size);

inline float dot(const float* a, const float* b, int64_t n) {
  batch acc0(0.0f), acc1(0.0f);
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {  // two accumulators hide the FMA latency
    acc0 = xsimd::fma(batch::load_unaligned(a + i), batch::load_unaligned(b + i), acc0);
    acc1 = xsimd::fma(batch::load_unaligned(a + i + W), batch::load_unaligned(b + i + W), acc1);
  }
  for (; i + W <= n; i += W) acc0 = xsimd::fma(batch::load_unaligned(a + i), batch::load_unaligned(b + i), acc0);
  float s = xsimd::hadd(acc0 + acc1);
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

inline float sum(const float* x, int64_t n) {
  batch acc0(0.0f), acc1(0.0f), acc2(0.0f), acc3(0.0f);  // four chains: the adds never wait on each other
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    acc0 += batch::load_unaligned(x + i);
    acc1 += batch::load_unaligned(x + i + W);
    acc2 += batch::load_unaligned(x + i + 2 * W);
    acc3 += batch::load_unaligned(x + i + 3 * W);
  }
  for (; i + W <= n; i += W) acc0 += batch::load_unaligned(x + i);
  float s = xsimd::hadd((acc0 + acc1) + (acc2 + acc3));
  for (; i < n; i++) s += x[i];
  return s;
}

inline void axpy(float a, const float* x, float* y, int64_t n) {
  const batch va(a);
  int64_t i = 0;
  for (; i + W <= n; i += W) xsimd::fma(va, batch::load_unaligned(x + i), batch::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < n; i++) y[i] += a * x[i];
}

inline void add(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + W <= n; i += W) (batch::load_unaligned(x + i) + batch::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < n; i++) y[i] += x[i];
}

inline void rmsnorm(float* out, const float* x, const float* w, int64_t n, float eps) {
  const float scale = 1.0f / std::sqrt(dot(x, x, n) / float(n) + eps);
  const batch vs(scale);
  int64_t i = 0;
  for (; i + W <= n; i += W) (batch::load_unaligned(x + i) * vs * batch::load_unaligned(w + i)).store_unaligned(out + i);
  for (; i < n; i++) out[i] = x[i] * scale * w[i];
}

// exp stays scalar: xsimd's vector exp goes through float->int conversions that are emulated
// slowly in wasm (see TOOLCHAIN.md), and softmax over the cache is a small part of a token's work.
inline void softmax(float* x, int64_t n) { ref::softmax(x, n); }
inline void swiglu(float* gate, const float* up, int64_t n) { ref::swiglu(gate, up, n); }

}  // namespace simd

// RoPE rotates each head's leading `rope_dims` values in adjacent pairs (x[2i], x[2i+1]) by
// theta_i = pos * base^(-2i / rope_dims): llama.cpp's layout for the `llama` architecture.
// rope_angles fills rope_dims/2 (cos, sin) pairs for one position. The angles are computed in
// double: positions grow without bound in the KV ring, and a float theta at position 10^6 would
// be off by a tenth of a radian.
inline void rope_angles(float* cos_sin, int rope_dims, double pos, float base) {
  for (int i = 0; i < rope_dims / 2; i++) {
    const double theta = pos * std::pow(double(base), -2.0 * i / rope_dims);
    cos_sin[2 * i] = float(std::cos(theta));
    cos_sin[2 * i + 1] = float(std::sin(theta));
  }
}

inline void rope_rotate(float* vec, int n_heads, int head_dim, int rope_dims, const float* cos_sin) {
  for (int h = 0; h < n_heads; h++) {
    float* v = vec + h * head_dim;
    for (int i = 0; i < rope_dims / 2; i++) {
      const float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
      const float x0 = v[2 * i], x1 = v[2 * i + 1];
      v[2 * i] = x0 * c - x1 * s;
      v[2 * i + 1] = x0 * s + x1 * c;
    }
  }
}

}  // namespace ringlm
