#include "quant.h"

#include <cmath>

#include "kernels.h"

// Which SIMD code runs. The wasm build and the default native build share the SSE4.1 path:
// Emscripten maps these intrinsics one-to-one onto wasm SIMD128 (extend, i32x4.dot_i16x8,
// convert), and with the same lanes, the same order of float additions and no FMA, both builds
// compute the same bits — which is what lets one seed sample the same tokens natively and in a
// browser. A native build for the build machine's CPU (-DRINGLM_NATIVE_ARCH=ON) takes the AVX2
// path instead: faster, but its sums differ in the last bits.
#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__) && !defined(__EMSCRIPTEN__)
#include <immintrin.h>
#define RINGLM_QUANT_AVX2 1
#elif defined(__SSE4_1__)
#include <smmintrin.h>
#define RINGLM_QUANT_SSE41 1
#endif

namespace ringlm {

void quantize_row_q8_0(const float* x, BlockQ8_0* out, int64_t n) {
  for (int64_t b = 0; b < n / 32; b++) {
    const float* v = x + b * 32;
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) amax = std::fmax(amax, std::fabs(v[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = fp32_to_fp16(d);
    for (int j = 0; j < 32; j++) out[b].qs[j] = int8_t(std::lround(v[j] * id));
  }
}

void round_to_fp16(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = fp16_to_fp32(fp32_to_fp16(x[i]));
}

void fp16_to_fp32_row(const uint16_t* h, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = fp16_to_fp32(h[i]);
}

// ---------------------------------------------------------------------------------------------
// Scalar references
// ---------------------------------------------------------------------------------------------

float ref::dot_q8_0(const BlockQ8_0* w, const BlockQ8_0* x, int64_t n_blocks) {
  float sum = 0.0f;
  for (int64_t b = 0; b < n_blocks; b++) {
    int32_t s = 0;
    for (int j = 0; j < 32; j++) s += int32_t(w[b].qs[j]) * int32_t(x[b].qs[j]);
    sum += fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d) * float(s);
  }
  return sum;
}

float ref::dot_q4_0(const BlockQ4_0* w, const BlockQ8_0* x, int64_t n_blocks) {
  float sum = 0.0f;
  for (int64_t b = 0; b < n_blocks; b++) {
    int32_t s = 0;
    for (int j = 0; j < 16; j++) {
      s += ((w[b].qs[j] & 0x0f) - 8) * int32_t(x[b].qs[j]);
      s += ((w[b].qs[j] >> 4) - 8) * int32_t(x[b].qs[j + 16]);
    }
    sum += fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d) * float(s);
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// SIMD versions
// ---------------------------------------------------------------------------------------------

#if RINGLM_QUANT_SSE41

namespace {
// Integer dot of 16 int8 pairs, as 4 int32 partial sums (pairs of products per lane).
inline __m128i dot_i8x16(__m128i a, __m128i b) {
  const __m128i lo = _mm_madd_epi16(_mm_cvtepi8_epi16(a), _mm_cvtepi8_epi16(b));
  const __m128i hi = _mm_madd_epi16(_mm_cvtepi8_epi16(_mm_srli_si128(a, 8)), _mm_cvtepi8_epi16(_mm_srli_si128(b, 8)));
  return _mm_add_epi32(lo, hi);
}
// Lanes added in a fixed order: ((l0 + l1) + l2) + l3.
inline float hsum(__m128 v) {
  alignas(16) float l[4];
  _mm_store_ps(l, v);
  return ((l[0] + l[1]) + l[2]) + l[3];
}
inline __m128i load16(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
}  // namespace

float simd::dot_q8_0(const BlockQ8_0* w, const BlockQ8_0* x, int64_t n_blocks) {
  __m128 acc = _mm_setzero_ps();
  for (int64_t b = 0; b < n_blocks; b++) {
    const __m128i s = _mm_add_epi32(dot_i8x16(load16(w[b].qs), load16(x[b].qs)),
                                    dot_i8x16(load16(w[b].qs + 16), load16(x[b].qs + 16)));
    const float d = fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d);
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(s), _mm_set1_ps(d)));
  }
  return hsum(acc);
}

float simd::dot_q4_0(const BlockQ4_0* w, const BlockQ8_0* x, int64_t n_blocks) {
  const __m128i mask = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
  __m128 acc = _mm_setzero_ps();
  for (int64_t b = 0; b < n_blocks; b++) {
    const __m128i packed = load16(w[b].qs);
    const __m128i lo = _mm_sub_epi8(_mm_and_si128(packed, mask), eight);                     // values 0..15
    const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(packed, 4), mask), eight);  // values 16..31
    const __m128i s = _mm_add_epi32(dot_i8x16(lo, load16(x[b].qs)), dot_i8x16(hi, load16(x[b].qs + 16)));
    const float d = fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d);
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(s), _mm_set1_ps(d)));
  }
  return hsum(acc);
}

float simd::dot_f16(const uint16_t* w, const float* x, int64_t n) {
  // f16 -> f32 without conversion instructions (wasm has none): shift exponent and mantissa into
  // place and multiply by 2^112 to rebias, which also turns f16 subnormals into the right f32
  // normals; then put the sign back. (Inf/NaN weights come out as large finite values.)
  const __m128i mag_mask = _mm_set1_epi32(0x7fff), sign_mask = _mm_set1_epi32(0x8000);
  const __m128 rebias = _mm_set1_ps(5.192296858534828e33f);  // 2^112
  auto widen = [&](__m128i h32) {
    const __m128 mag = _mm_mul_ps(_mm_castsi128_ps(_mm_slli_epi32(_mm_and_si128(h32, mag_mask), 13)), rebias);
    return _mm_or_ps(mag, _mm_castsi128_ps(_mm_slli_epi32(_mm_and_si128(h32, sign_mask), 16)));
  };
  __m128 acc0 = _mm_setzero_ps(), acc1 = _mm_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = load16(w + i);
    acc0 = _mm_add_ps(acc0, _mm_mul_ps(widen(_mm_cvtepu16_epi32(h)), _mm_loadu_ps(x + i)));
    acc1 = _mm_add_ps(acc1, _mm_mul_ps(widen(_mm_cvtepu16_epi32(_mm_srli_si128(h, 8))), _mm_loadu_ps(x + i + 4)));
  }
  float s = hsum(_mm_add_ps(acc0, acc1));
  for (; i < n; i++) s += fp16_to_fp32(w[i]) * x[i];
  return s;
}

#elif RINGLM_QUANT_AVX2

namespace {
// Integer dot of 32 int8 pairs as 8 int32 partial sums. maddubs multiplies unsigned by signed
// bytes, so move the sign of `a` onto `b` first: a*b = |a| * (b * sign(a)).
inline __m256i dot_i8x32(__m256i a, __m256i b) {
  const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}
inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}
}  // namespace

float simd::dot_q8_0(const BlockQ8_0* w, const BlockQ8_0* x, int64_t n_blocks) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n_blocks; b++) {
    const __m256i s = dot_i8x32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs)),
                                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs)));
    const float d = fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d), acc);
  }
  return hsum(acc);
}

float simd::dot_q4_0(const BlockQ4_0* w, const BlockQ8_0* x, int64_t n_blocks) {
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m256i eight = _mm256_set1_epi8(8);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n_blocks; b++) {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].qs));
    const __m128i lo = _mm_and_si128(packed, mask);                     // values 0..15
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), mask);  // values 16..31
    const __m256i q = _mm256_sub_epi8(_mm256_set_m128i(hi, lo), eight);
    const __m256i s = dot_i8x32(q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs)));
    const float d = fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d), acc);
  }
  return hsum(acc);
}

float simd::dot_f16(const uint16_t* w, const float* x, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i)));
    const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i + 8)));
    acc0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), acc1);
  }
  float s = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; i++) s += fp16_to_fp32(w[i]) * x[i];
  return s;
}

#else  // no integer SIMD for this target: the references, and f16 through a float buffer

float simd::dot_q8_0(const BlockQ8_0* w, const BlockQ8_0* x, int64_t n_blocks) { return ref::dot_q8_0(w, x, n_blocks); }
float simd::dot_q4_0(const BlockQ4_0* w, const BlockQ8_0* x, int64_t n_blocks) { return ref::dot_q4_0(w, x, n_blocks); }

float simd::dot_f16(const uint16_t* w, const float* x, int64_t n) {
  float buf[256];
  float s = 0.0f;
  for (int64_t i = 0; i < n; i += 256) {
    const int64_t m = n - i < 256 ? n - i : 256;
    fp16_to_fp32_row(w + i, buf, m);
    s += simd::dot(buf, x + i, m);
  }
  return s;
}

#endif

}  // namespace ringlm
