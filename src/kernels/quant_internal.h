// quant_internal.h — what the integer kernels (quant.cpp, quant_k.cpp, quant_relaxed.cpp) share: SSE4.1 helpers (in the
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

// Q6_K's block preamble in the 4-lane kernels (quant_k.cpp's q6_tile_lanes, quant_relaxed.cpp's q6_tile),
// per row: the block's 16 int8 scales widened to int16; per step (h, g) of those kernels, the scales of groups
// 8h + g, 8h + g + 2 (lanes 0..3, 4..7) in step_scales[step][0] and of 8h + g + 4, 8h + g + 6 in
// step_scales[step][1]. Returns the int32 total a block starts from, for the weights' offset of 32:
// sum(scale * (w - 32) * x) = sum(scale * w * x) - 32 * sum(scale * (sum of the group's x)), the group sums
// being the activations' (xsums0: groups 0..7, xsums1: 8..15). Integer steps: exact.
inline __m128i q6_block_scales(const int8_t* scales, __m128i xsums0, __m128i xsums1, __m128i (&step_scales)[4][2]) {
  const __m128i sc0 = _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(scales)));
  const __m128i sc1 = _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(scales + 8)));
  for (int h = 0; h < 2; h++) {
    const __m128i s = h ? sc1 : sc0;
    const __m128i lo = _mm_unpacklo_epi16(s, s), hi = _mm_unpackhi_epi16(s, s);
    step_scales[2 * h][0] = _mm_shuffle_epi32(lo, _MM_SHUFFLE(2, 2, 0, 0));
    step_scales[2 * h][1] = _mm_shuffle_epi32(hi, _MM_SHUFFLE(2, 2, 0, 0));
    step_scales[2 * h + 1][0] = _mm_shuffle_epi32(lo, _MM_SHUFFLE(3, 3, 1, 1));
    step_scales[2 * h + 1][1] = _mm_shuffle_epi32(hi, _MM_SHUFFLE(3, 3, 1, 1));
  }
  const __m128i offset = _mm_add_epi32(_mm_madd_epi16(sc0, xsums0), _mm_madd_epi16(sc1, xsums1));
  return _mm_sub_epi32(_mm_setzero_si128(), _mm_slli_epi32(offset, 5));
}

}  // namespace ringlm::sse

#endif
