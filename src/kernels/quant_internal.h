// quant_internal.h — what the integer kernels (quant.cpp, quant_k.cpp) share: the loop over tiles
// of 4 weight rows, and SSE4.1 helpers (in the wasm build Emscripten maps each of these intrinsics
// onto one or two wasm SIMD128 instructions).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace ringlm {

// Calls tile(rows, token, out) for every group of 4 weight rows and every token, where tile writes
// the 4 results of rows[0..3] for that token to out. Decode (one token) takes rows a quarter of the
// matrix apart (four streams from memory at once); a batch takes neighbouring rows and runs every
// token through them while they are in cache. A group hanging over the last row repeats it; the
// repeated results are dropped. Each (row, token) result comes from the same tile code whatever the
// batch, so decode and prefill agree to the bit.
template <typename Tile>
void for_row_tiles(const uint8_t* w, size_t row_bytes, int64_t rows, int n_tokens, float* y, int64_t y_stride,
                   Tile&& tile) {
  constexpr int R = 4;
  const bool spread = n_tokens == 1;
  const int64_t step = spread ? (rows + R - 1) / R : 1;
  const int64_t groups = spread ? step : (rows + R - 1) / R;
  for (int64_t g = 0; g < groups; g++) {
    int64_t index[R];
    const uint8_t* row[R];
    for (int r = 0; r < R; r++) {
      index[r] = spread ? g + r * step : g * R + r;
      row[r] = w + size_t(std::min<int64_t>(index[r], rows - 1)) * row_bytes;
    }
    for (int t = 0; t < n_tokens; t++) {
      float out[R];
      tile(row, t, out);
      for (int r = 0; r < R && index[r] < rows; r++) y[int64_t(t) * y_stride + index[r]] = out[r];
    }
  }
}

}  // namespace ringlm

#if defined(__SSE4_1__)
#include <smmintrin.h>

#include <cstdint>

namespace ringlm::sse {

inline __m128i load16(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// f16 bits (one per 32-bit lane) to f32: move each half to the top of its lane, then as
// simd::load_weights does (an arithmetic shift by 3, clear the sign's copies, times 2^112). Exact.
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
