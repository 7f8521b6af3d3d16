// float_kernels.h — the float kernels of the forward pass, written once over xsimd batches.
//
// Each kernel is written once against `simd::batch`, xsimd's batch for the architecture the build
// targets (SSE4.1, which Emscripten maps onto wasm SIMD128, or AVX2/AVX-512 with -march=native):
// a full-vector main loop plus a scalar tail. There is no runtime dispatch: one build, one width.
// Beside each one, in namespace `ref`, is the plain scalar version it must agree with; the tests
// hold every SIMD kernel against its reference on ragged lengths. xsimd types stay inside this file.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#if defined(__AVX__) && !defined(__EMSCRIPTEN__)
#include <immintrin.h>
#elif defined(__SSE4_1__)
#include <smmintrin.h>
#endif

#include "gguf/tensor_type.h"

namespace ringlm {

// LayerNorm's mean and 1 / sqrt(var + eps), in two passes, each summed in double as ggml_norm sums
// them, so they are llama.cpp's to the last bit nearly always (a different bit would tip some of the
// next product's Q8_0-quantized activations). Scalar in both ref::layernorm and simd::layernorm:
// O(n) work beside the O(n^2) products.
struct NormStats {
  float mean, scale;
};
inline NormStats layernorm_stats(const float* x, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++) sum += double(x[i]);
  const float mean = float(sum) / float(n);
  double ss = 0.0;
  for (int64_t i = 0; i < n; i++) ss += double((x[i] - mean) * (x[i] - mean));
  return {mean, 1.0f / std::sqrt(float(ss / double(n)) + eps)};
}

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

// out = (x - mean(x)) / sqrt(var(x) + eps) * w + b (see layernorm_stats)
inline void layernorm(float* out, const float* x, const float* w, const float* b, int64_t n, float eps) {
  const NormStats s = layernorm_stats(x, n, eps);
  for (int64_t i = 0; i < n; i++) out[i] = (x[i] - s.mean) * s.scale * w[i] + b[i];
}

// x = gelu(x), tanh form, on llama.cpp's CPU grid: its GELU reads a table of gelu(h) for every f16
// value h, so the input is rounded to f16 and so is the result; |x| >= 10 is 0 or x. Matching that
// grid (not the exact curve) keeps us within llama.cpp's own rounding of the activations.
inline float gelu_exact(float x) {
  return 0.5f * x * (1.0f + std::tanh(0.7978845608028654f * x * (1.0f + 0.044715f * x * x)));
}
inline void gelu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    if (x[i] <= -10.0f) x[i] = 0.0f;
    else if (x[i] < 10.0f) x[i] = fp16_to_fp32(fp32_to_fp16(gelu_exact(fp16_to_fp32(fp32_to_fp16(x[i])))));
  }
}

// out[r * T + t] = dot(row r, token t): R weight rows (F32, or F16 given as uint16_t) against T
// token vectors of n values. What simd::dot_tile computes.
template <typename WeightT>
void dot_tile(int R, int T, const WeightT* const* rows, const float* const* xs, int64_t n, float* out) {
  for (int r = 0; r < R; r++) {
    for (int t = 0; t < T; t++) {
      float s = 0.0f;
      for (int64_t i = 0; i < n; i++) {
        float w;
        if constexpr (sizeof(WeightT) == 2) w = fp16_to_fp32(rows[r][i]);
        else w = rows[r][i];
        s += w * xs[t][i];
      }
      out[r * T + t] = s;
    }
  }
}

}  // namespace ref

namespace simd {

using arch = xsimd::default_arch;
using batch = xsimd::batch<float, arch>;
using ibatch = xsimd::batch<int32_t, arch>;
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

// The sum of n values read as `parts` side-by-side streams (the buffer cut into that many contiguous
// parts, read together), parts in {1, 2, 4, 8}: the benchmark's streaming-read ceiling takes the
// fastest, as decode reads four distant parts of a matrix at once (see kernels/tile.h).
template <int S>
float sum_parts(const float* x, int64_t n) {
  const int64_t part = n / S / W * W;
  batch acc[S][2];
  for (int s = 0; s < S; s++) acc[s][0] = acc[s][1] = batch(0.0f);
  for (int64_t i = 0; i < part; i += 2 * W) {
    for (int s = 0; s < S; s++) {
      acc[s][0] += batch::load_unaligned(x + s * part + i);
      if (i + W < part) acc[s][1] += batch::load_unaligned(x + s * part + i + W);
    }
  }
  float total = 0.0f;
  for (int s = 0; s < S; s++) total += xsimd::hadd(acc[s][0] + acc[s][1]);
  for (int64_t i = S * part; i < n; i++) total += x[i];
  return total;
}
inline float sum_parts(const float* x, int64_t n, int parts) {
  switch (parts) {
    case 2: return sum_parts<2>(x, n);
    case 4: return sum_parts<4>(x, n);
    case 8: return sum_parts<8>(x, n);
    default: return sum_parts<1>(x, n);
  }
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

// e^x, within 2 ulp of std::exp up to 88 (above: e^88); 0 below -87.3 (so exp(-inf) = 0). xsimd's exp
// converts float to int, which wasm emulates with scalar code: this one instead rounds x*log2(e) to
// an integer n by adding 1.5 * 2^23 (the integer lands in the low mantissa bits), splits
// x = n ln2 + r (Cody-Waite), evaluates Cephes' degree-6 polynomial for e^r, and builds 2^n in the
// exponent bits with integer adds and a shift.
inline batch exp(batch x) {
  const batch magic(12582912.0f);  // 1.5 * 2^23
  const batch xc = xsimd::min(x, batch(88.0f));  // keeps n <= 127
  const batch t = xsimd::fma(xc, batch(1.44269504088896341f), magic);
  const batch n = t - magic;
  batch r = xsimd::fnma(n, batch(0.693359375f), xc);  // x - n * ln2, ln2 split in two parts
  r = xsimd::fnma(n, batch(-2.12194440e-4f), r);
  batch p(1.9875691500e-4f);
  p = xsimd::fma(p, r, batch(1.3981999507e-3f));
  p = xsimd::fma(p, r, batch(8.3334519073e-3f));
  p = xsimd::fma(p, r, batch(4.1665795894e-2f));
  p = xsimd::fma(p, r, batch(1.6666665459e-1f));
  p = xsimd::fma(p, r, batch(5.0000001201e-1f));
  p = xsimd::fma(p, r * r, r + batch(1.0f));
  const ibatch bits = (xsimd::bitwise_cast<ibatch>(t) + ibatch(127 - 0x4B400000)) << 23;  // 2^n
  const batch e = p * xsimd::bitwise_cast<batch>(bits);
  return xsimd::select(x < batch(-87.33654475f), batch(0.0f), e);
}

// The scalar twin of exp() above, for the tails, so an element's value never depends on its index.
inline float exp_scalar(float x) {
  float v[W] = {x};
  exp(batch::load_unaligned(v)).store_unaligned(v);
  return v[0];
}

inline void softmax(float* x, int64_t n) {
  int64_t i = 0;
  batch vmax(x[0]);
  for (; i + W <= n; i += W) vmax = xsimd::max(vmax, batch::load_unaligned(x + i));
  alignas(64) float lanes[W];
  vmax.store_aligned(lanes);
  float max = lanes[0];
  for (int64_t k = 1; k < W; k++) max = lanes[k] > max ? lanes[k] : max;
  for (; i < n; i++) max = x[i] > max ? x[i] : max;
  const batch bmax(max);
  batch vsum(0.0f);
  for (i = 0; i + W <= n; i += W) {
    const batch e = exp(batch::load_unaligned(x + i) - bmax);
    e.store_unaligned(x + i);
    vsum += e;
  }
  float sum = xsimd::hadd(vsum);
  for (; i < n; i++) sum += (x[i] = exp_scalar(x[i] - max));
  const batch bsum(sum);
  for (i = 0; i + W <= n; i += W) (batch::load_unaligned(x + i) / bsum).store_unaligned(x + i);
  for (; i < n; i++) x[i] /= sum;
}

inline void swiglu(float* gate, const float* up, int64_t n) {
  const batch one(1.0f);
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const batch g = batch::load_unaligned(gate + i);
    (g / (one + exp(-g)) * batch::load_unaligned(up + i)).store_unaligned(gate + i);
  }
  for (; i < n; i++) gate[i] = gate[i] / (1.0f + exp_scalar(-gate[i])) * up[i];
}

inline void layernorm(float* out, const float* x, const float* w, const float* b, int64_t n, float eps) {
  const NormStats s = layernorm_stats(x, n, eps);
  const float mean = s.mean, scale = s.scale;
  const batch vm(mean), vs(scale);
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const batch y = (batch::load_unaligned(x + i) - vm) * vs * batch::load_unaligned(w + i);
    (y + batch::load_unaligned(b + i)).store_unaligned(out + i);
  }
  for (; i < n; i++) out[i] = (x[i] - mean) * scale * w[i] + b[i];
}

// x rounded to the nearest f16 value (ties to even), still as a float, for |x| < 65504: what
// fp16_to_fp32(fp32_to_fp16(x)) gives, with integer ops only (the same bits in wasm).
inline batch round_to_f16(batch x) {
  const ibatch bits = xsimd::bitwise_cast<ibatch>(x);
  // Normal halves: round the 13 dropped mantissa bits to nearest even (a carry bumps the exponent).
  const ibatch normal = (bits + (ibatch(0xfff) + ((bits >> 13) & ibatch(1)))) & ibatch(~0x1fff);
  // Subnormal halves (below 2^-14) are multiples of 2^-24, the spacing of floats in [0.5, 1).
  const batch ax = xsimd::abs(x);
  const batch sub = xsimd::copysign((ax + batch(0.5f)) - batch(0.5f), x);
  return xsimd::select(ax < batch(6.103515625e-05f), sub, xsimd::bitwise_cast<batch>(normal));
}

// gelu on llama.cpp's f16 grid (see ref::gelu), with tanh written through our exp:
// 0.5 h (1 + tanh(v)) = h / (1 + e^(-2v)).
inline batch gelu(batch x) {
  const batch h = round_to_f16(x);
  const batch v = batch(0.7978845608028654f) * h * xsimd::fma(batch(0.044715f) * h, h, batch(1.0f));
  const batch g = round_to_f16(h / (batch(1.0f) + exp(batch(-2.0f) * v)));
  return xsimd::select(x <= batch(-10.0f), batch(0.0f), xsimd::select(x >= batch(10.0f), x, g));
}

inline void gelu(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + W <= n; i += W) gelu(batch::load_unaligned(x + i)).store_unaligned(x + i);
  if (i < n) {  // the tail through the same batch code, so a value never depends on its index
    float v[W] = {};
    std::memcpy(v, x + i, size_t(n - i) * sizeof(float));
    gelu(batch::load_unaligned(v)).store_unaligned(v);
    std::memcpy(x + i, v, size_t(n - i) * sizeof(float));
  }
}

// W consecutive weights as floats: F32 as they are, F16 converted (llama.cpp's F16 matmul works in
// float after rounding the activations to f16, which the caller has done).
//
// F16 in the SSE4.1 / wasm build: wasm has no conversion instruction, so the kernels read an f16
// weight h as the float with h's sign, h's 5 exponent bits at the bottom of the float's 8 and h's
// mantissa on top of the float's: exactly h * 2^-112 (f16 subnormals become f32 subnormals; both
// formats spread them evenly), built with integer shifts and a mask alone. The activations carry
// the 2^112 instead (kF16ActivationScale: multiplied in once per product by
// round_to_fp16_scaled, exact, as an f16 value times 2^112 stays below 2^128). Each product
// (h * 2^-112) * (x * 2^112) is the same real number as h * x, so it rounds to the same float: the
// same sums as converting every weight, with one multiply per four weights fewer. (An f16
// infinity or NaN would read as a finite value, as it did before with the multiply by 2^112.)
#if defined(__SSE4_1__) && !defined(__AVX__)
constexpr float kF16ActivationScale = 5.192296858534828e33f;  // 2^112
#else
constexpr float kF16ActivationScale = 1.0f;
#endif

// The F16 kernels' activations: each value rounded to f16 (as llama.cpp rounds them), times
// kF16ActivationScale.
inline void round_to_fp16_scaled(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = fp16_to_fp32(fp32_to_fp16(x[i])) * kF16ActivationScale;
}

#if defined(__SSE4_1__) && !defined(__AVX__)
// Eight f16 values to two vectors of their floats times 2^-112 (see above): per 16-bit lane, the
// float's top half is (sign, exponent and 7 mantissa bits: an arithmetic shift by 3 with the sign's
// copies cleared) and its bottom half the 3 low mantissa bits (a shift by 13); interleaving the
// halves builds the floats in order. 5 vector operations for 8 weights.
inline void f16x8_unbiased(const uint16_t* p, __m128& lo, __m128& hi) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i top = _mm_and_si128(_mm_srai_epi16(h, 3), _mm_set1_epi16(int16_t(0x8fff)));
  const __m128i bottom = _mm_slli_epi16(h, 13);
  lo = _mm_castsi128_ps(_mm_unpacklo_epi16(bottom, top));
  hi = _mm_castsi128_ps(_mm_unpackhi_epi16(bottom, top));
}
#endif

inline batch load_weights(const float* p) { return batch::load_unaligned(p); }
inline batch load_weights(const uint16_t* p) {
#if defined(__AVX512F__) && !defined(__EMSCRIPTEN__)
  static_assert(W == 16, "xsimd's default architecture is AVX-512");
  return batch(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
#elif defined(__AVX__) && defined(__F16C__) && !defined(__EMSCRIPTEN__)
  static_assert(W == 8, "xsimd's default architecture is AVX");
  return batch(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#elif defined(__SSE4_1__)
  // h * 2^-112 (see above): with each half in the top of a 32-bit lane, an arithmetic shift by 3
  // puts exponent and mantissa where f32 keeps them; clear the three copies of the sign.
  static_assert(W == 4, "xsimd's default architecture is SSE4.1 (or wasm SIMD128 through it)");
  const __m128i h = _mm_unpacklo_epi16(_mm_setzero_si128(), _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return batch(_mm_castsi128_ps(_mm_and_si128(_mm_srai_epi32(h, 3), _mm_set1_epi32(int32_t(0x8fffe000u)))));
#else
  alignas(64) float v[W];
  for (int64_t i = 0; i < W; i++) v[i] = fp16_to_fp32(p[i]);
  return batch::load_aligned(v);
#endif
}
// BF16: the bits are the top half of a float.
inline batch load_weights(const Bf16* p) {
#if defined(__SSE4_1__) && !defined(__AVX__)
  static_assert(W == 4, "xsimd's default architecture is SSE4.1 (or wasm SIMD128 through it)");
  const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return batch(_mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), h)));
#else
  alignas(64) float v[W];
  for (int64_t i = 0; i < W; i++) v[i] = bf16_to_fp32(p[i].bits);
  return batch::load_aligned(v);
#endif
}
inline float load_weight(const float* p) { return *p; }
inline float load_weight(const uint16_t* p) {
  if constexpr (kF16ActivationScale != 1.0f) {  // h * 2^-112, as load_weights
    const uint32_t h = *p;
    return float_from_bits(((h & 0x8000u) << 16) | ((h & 0x7fffu) << 13));
  } else {
    return fp16_to_fp32(*p);
  }
}
inline float load_weight(const Bf16* p) { return bf16_to_fp32(p->bits); }

// out[r * T + t] = dot(row r, token t) for R weight rows and T token vectors of n values: the
// micro-kernel of matmul. Each weight batch is loaded once for T tokens and each activation batch
// once for R rows, so a prefill does far fewer loads per multiply than one dot per pair.
// Every (row, token) pair has its own accumulator, summed in the same order whatever R and T are:
// a token's result does not depend on the tile that computed it, so decode (T = 1) and a batched
// prefill give the same logits.
template <int R, int T, typename WeightT>
void dot_tile(const WeightT* const* rows, const float* const* xs, int64_t n, float* out) {
  batch acc[R][T];
  for (int r = 0; r < R; r++)
    for (int t = 0; t < T; t++) acc[r][t] = batch(0.0f);
  int64_t i = 0;
#if defined(__SSE4_1__) && !defined(__AVX__)
  if constexpr (sizeof(WeightT) == 2 && !std::is_same_v<WeightT, Bf16>) {  // F16: eight weights a step, same order
    for (; i + 2 * W <= n; i += 2 * W) {
      __m128 lo[R], hi[R];
      for (int r = 0; r < R; r++) f16x8_unbiased(rows[r] + i, lo[r], hi[r]);
      for (int t = 0; t < T; t++) {
        const batch x = batch::load_unaligned(xs[t] + i);
        for (int r = 0; r < R; r++) acc[r][t] = xsimd::fma(batch(lo[r]), x, acc[r][t]);
      }
      for (int t = 0; t < T; t++) {
        const batch x = batch::load_unaligned(xs[t] + i + W);
        for (int r = 0; r < R; r++) acc[r][t] = xsimd::fma(batch(hi[r]), x, acc[r][t]);
      }
    }
  }
#endif
  for (; i + W <= n; i += W) {
    batch w[R];
    for (int r = 0; r < R; r++) w[r] = load_weights(rows[r] + i);
    for (int t = 0; t < T; t++) {
      const batch x = batch::load_unaligned(xs[t] + i);
      for (int r = 0; r < R; r++) acc[r][t] = xsimd::fma(w[r], x, acc[r][t]);
    }
  }
  for (int r = 0; r < R; r++) {
    for (int t = 0; t < T; t++) {
      float s = xsimd::hadd(acc[r][t]);
      for (int64_t k = i; k < n; k++) s += load_weight(rows[r] + k) * xs[t][k];
      out[r * T + t] = s;
    }
  }
}

}  // namespace simd

// RoPE rotates each head's leading `rope_dims` values in adjacent pairs (x[2i], x[2i+1]) by
// theta_i = pos * base^(-2i / rope_dims): llama.cpp's layout for the `llama` architecture.
// rope_angles fills rope_dims/2 (cos, sin) pairs for one position; like llama.cpp it steps theta
// by repeated multiplication in float, so the angles match its to the last bit or two. The float
// libm functions differ between glibc and Emscripten's libc in the last bit now and then (which
// broke native/wasm identity after ~100 positions); evaluated in double and rounded, they are the
// correctly rounded float values in both, all but never differing. As in ggml, pair i's angle is
// then divided by its frequency factor (Llama 3's rope_freqs or LongRoPE's, when given) and multiplied
// by freq_scale (linear RoPE scaling). Cosine and sine are multiplied by mscale (RoPE's attention factor),
// which then scales every rotated value, as ggml's rope does.
inline void rope_angles(float* cos_sin, int rope_dims, float pos, float base, float freq_scale = 1.0f,
                        const float* freq_factors = nullptr, float mscale = 1.0f) {
  const float step = float(std::pow(double(base), double(-2.0f / float(rope_dims))));
  float theta = pos;
  for (int i = 0; i < rope_dims / 2; i++) {
    const float angle = freq_scale * (freq_factors ? theta / freq_factors[i] : theta);
    cos_sin[2 * i] = float(std::cos(double(angle))) * mscale;
    cos_sin[2 * i + 1] = float(std::sin(double(angle))) * mscale;
    theta *= step;
  }
}

// The NEOX layout (qwen2 and others): pair i is (x[i], x[i + rope_dims/2]), same angles.
inline void rope_rotate_neox(float* vec, int n_heads, int head_dim, int rope_dims, const float* cos_sin) {
  const int half = rope_dims / 2;
  for (int h = 0; h < n_heads; h++) {
    float* v = vec + h * head_dim;
    for (int i = 0; i < half; i++) {
      const float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
      const float x0 = v[i], x1 = v[i + half];
      v[i] = x0 * c - x1 * s;
      v[i + half] = x0 * s + x1 * c;
    }
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
