// quant_internal.h — what the integer kernels (quant.cpp, quant_k.cpp) share: SSE4.1 helpers (in the
// wasm build Emscripten maps each of these intrinsics onto one or two wasm SIMD128 instructions).
#pragma once

#if defined(__SSE4_1__)
#include <smmintrin.h>

#include <cstdint>

namespace ringlm::sse {

inline __m128i load16(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// f16 bits (one per 32-bit lane) to f32: move each half to the top of its lane, an arithmetic shift
// by 3, clear the sign's copies (what simd::load_weights reads F16 weights as: h * 2^-112), then
// times 2^112. Exact for every finite half.
inline __m128 f16x4_to_f32x4(__m128i h) {
  const __m128i bits = _mm_and_si128(_mm_srai_epi32(_mm_slli_epi32(h, 16), 3), _mm_set1_epi32(int32_t(0x8fffe000u)));
  return _mm_mul_ps(_mm_castsi128_ps(bits), _mm_set1_ps(5.192296858534828e33f));
}

// The four horizontal sums of a, b, c, d as one vector (integer adds: exact in any order).
inline __m128i sum4(__m128i a, __m128i b, __m128i c, __m128i d) {
  const __m128i ab = _mm_add_epi32(_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b));  // a02 b02 a13 b13
  const __m128i cd = _mm_add_epi32(_mm_unpacklo_epi32(c, d), _mm_unpackhi_epi32(c, d));
  return _mm_add_epi32(_mm_unpacklo_epi64(ab, cd), _mm_unpackhi_epi64(ab, cd));
}

}  // namespace ringlm::sse

#endif
