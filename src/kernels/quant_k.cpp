// The K-quants (Q4_K, Q5_K, Q6_K) against Q8_K activations; see quant.h and tensor_type.h.
//
// One SSE4.1 kernel per type serves the wasm build and every native build (AVX2 ones too): its
// integer sums are exact and its float steps those of the scalar references, so all builds compute
// the same bits.
#include <cmath>
#include <cstring>

#include "kernels/quant.h"
#include "kernels/quant_internal.h"
#include "kernels/tile.h"

namespace ringlm {

void quantize_row_q8_K(const float* x, BlockQ8_K* out, int64_t n) {
  for (int64_t b = 0; b < n / kQK; b++) {
    const float* v = x + b * kQK;
    float amax = 0.0f, max = 0.0f;  // max: the first value of largest magnitude, with its sign
    for (int j = 0; j < kQK; j++) {
      if (std::fabs(v[j]) > amax) {
        amax = std::fabs(v[j]);
        max = v[j];
      }
    }
    BlockQ8_K& o = out[b];
    if (amax == 0.0f) {
      std::memset(&o, 0, sizeof(o));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQK; j++) {
      const float q = std::nearbyint(iscale * v[j]);  // the default rounding mode: half to even
      // Finite input lands in [-127, 127]; the lower clamp only keeps inf / NaN input defined.
      o.qs[j] = int8_t(std::fmax(-127.0f, std::fmin(127.0f, q)));
    }
    for (int g = 0; g < 16; g++) {
      int sum = 0;
      for (int j = 0; j < 16; j++) sum += o.qs[16 * g + j];
      o.bsums[g] = int16_t(sum);
    }
    o.d = 1.0f / iscale;
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar references: per block an exact integer total of sub-block dots times integer scales, then
// total * (d_w * d_x) in float, minus (for the mins) mins_total * (dmin_w * d_x).
// ---------------------------------------------------------------------------------------------

namespace {

// Adds one Q4_K block (five: Q5_K) times one Q8_K block to sum.
float k4_accumulate(float sum, const uint8_t* block, bool five, const BlockQ8_K& x) {
  const uint8_t* qh = block + 16;
  const uint8_t* qs = block + (five ? 48 : 16);
  int32_t total = 0, mins = 0;
  for (int s = 0; s < 8; s++) {
    int sc, m;
    k4_scale_min(block + 4, s, &sc, &m);
    const int c = s / 2, high = s % 2;
    int32_t dot = 0;
    for (int l = 0; l < 32; l++) {
      int q = high ? qs[32 * c + l] >> 4 : qs[32 * c + l] & 0x0f;
      if (five) q += ((qh[l] >> s) & 1) << 4;
      dot += q * x.qs[32 * s + l];
    }
    total += sc * dot;
    mins += m * (x.bsums[2 * s] + x.bsums[2 * s + 1]);
  }
  uint16_t d, dmin;
  std::memcpy(&d, block, 2);
  std::memcpy(&dmin, block + 2, 2);
  sum = sum + float(total) * (fp16_to_fp32(d) * x.d);
  return sum - float(mins) * (fp16_to_fp32(dmin) * x.d);
}

float q6_accumulate(float sum, const BlockQ6_K& w, const BlockQ8_K& x) {
  int32_t total = 0;
  for (int h = 0; h < 2; h++) {
    const uint8_t* ql = w.ql + 64 * h;
    const uint8_t* qh = w.qh + 32 * h;
    const int8_t* xq = x.qs + 128 * h;
    for (int k = 0; k < 4; k++) {    // values 32k .. 32k+31 of the half
      for (int g = 0; g < 2; g++) {  // in two groups of 16, each with its scale
        int32_t dot = 0;
        for (int i = 0; i < 16; i++) {
          const int l = 16 * g + i;
          const uint8_t byte = ql[l + (k % 2) * 32];
          const int low = k < 2 ? byte & 0x0f : byte >> 4;
          dot += ((low | ((qh[l] >> (2 * k)) & 3) << 4) - 32) * xq[32 * k + l];
        }
        total += int32_t(w.scales[8 * h + 2 * k + g]) * dot;
      }
    }
  }
  return sum + float(total) * (fp16_to_fp32(w.d) * x.d);
}

}  // namespace

float ref::dot_q4_K(const BlockQ4_K* w, const BlockQ8_K* x, int64_t n_blocks) {
  float sum = 0.0f;
  for (int64_t b = 0; b < n_blocks; b++) sum = k4_accumulate(sum, reinterpret_cast<const uint8_t*>(&w[b]), false, x[b]);
  return sum;
}

float ref::dot_q5_K(const BlockQ5_K* w, const BlockQ8_K* x, int64_t n_blocks) {
  float sum = 0.0f;
  for (int64_t b = 0; b < n_blocks; b++) sum = k4_accumulate(sum, reinterpret_cast<const uint8_t*>(&w[b]), true, x[b]);
  return sum;
}

float ref::dot_q6_K(const BlockQ6_K* w, const BlockQ8_K* x, int64_t n_blocks) {
  float sum = 0.0f;
  for (int64_t b = 0; b < n_blocks; b++) sum = q6_accumulate(sum, w[b], x[b]);
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------------------

namespace {

// Where value j of a block sits in KActivations: each 16 as its 8 even values, then its 8 odd ones.
constexpr int permuted16(int j) { return (j / 16) * 16 + (j % 2) * 8 + (j % 16) / 2; }

}  // namespace

uint64_t KActivations::bytes_for(int max_tokens, int64_t max_cols) {
  const uint64_t cols = uint64_t(max_cols / kQK * kQK), tokens = uint64_t(max_tokens);
  return tokens * (cols + cols / 32) * sizeof(int16_t) + tokens * (cols / kQK) * sizeof(float);
}

void KActivations::reserve(int max_tokens, int64_t max_cols) {
  const size_t cols = size_t(max_cols / kQK * kQK), tokens = size_t(max_tokens);
  values_.assign(tokens * cols, 0);
  sums32_.assign(tokens * cols / 32, 0);
  scales_.assign(tokens * cols / size_t(kQK), 0.0f);
}

void KActivations::quantize(const float* x, int64_t stride, int n_tokens, int64_t cols) {
  n_tokens_ = n_tokens;
  cols_ = cols;
  for (int t = 0; t < n_tokens; t++) {
    for (int64_t b = 0; b < cols / kQK; b++) {
      BlockQ8_K block;
      quantize_row_q8_K(x + t * stride + b * kQK, &block, kQK);
      int16_t* v = &values_[size_t(t * cols + b * kQK)];
      for (int j = 0; j < kQK; j++) v[permuted16(j)] = block.qs[j];
      scales_[size_t(t * (cols / kQK) + b)] = block.d;
      for (int s = 0; s < 8; s++) sums32_[size_t(t * (cols / 32) + b * 8 + s)] = int16_t(block.bsums[2 * s] + block.bsums[2 * s + 1]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tile kernels: 4 rows x 1 token (see tile.h)
// ---------------------------------------------------------------------------------------------

namespace {

#if defined(__SSE4_1__)

using sse::f16x4_to_f32x4;
using sse::load16;
using sse::sum4;

// [s0 x4, s1 x4], [s2 x4, s3 x4], [s4 x4, s5 x4], [s6 x4, s7 x4] from eight int16 scales s.
inline void scale_pairs(__m128i s, __m128i* pairs) {
  const __m128i lo = _mm_unpacklo_epi16(s, s), hi = _mm_unpackhi_epi16(s, s);  // s0 s0 s1 s1 .. | s4 s4 ..
  pairs[0] = _mm_unpacklo_epi32(lo, lo), pairs[1] = _mm_unpackhi_epi32(lo, lo);
  pairs[2] = _mm_unpacklo_epi32(hi, hi), pairs[3] = _mm_unpackhi_epi32(hi, hi);
}

// The integer dots of two groups (a: four int32 lanes, b likewise) times their scales: each lane
// is at most 8 products of |w| <= 32 and |x| <= 127 (< 2^15), so both pack to int16 exactly and
// one multiply-add applies the scales pairs[k] = [s_a x4, s_b x4].
inline __m128i scaled(__m128i a, __m128i b, __m128i pair) { return _mm_madd_epi16(_mm_packs_epi32(a, b), pair); }

// [s_2c x4, s_2c+1 x4] from eight int16 scales s.
[[maybe_unused]] inline __m128i scale_pair(__m128i s, int c) {
  const __m128i half = c < 2 ? _mm_unpacklo_epi16(s, s) : _mm_unpackhi_epi16(s, s);
  return c % 2 ? _mm_unpackhi_epi32(half, half) : _mm_unpacklo_epi32(half, half);
}

// The weights of bytes 32c + 16h .. 32c + 16h + 15 of a Q4_K (Five = false) or Q5_K block, as int16
// lanes in the activations' layout. Read as eight 16-bit lanes, the four nibbles of lane i are
// values 2i and 2i+1 (low nibbles of its two bytes) of sub-block 2c and values 2i, 2i+1 of
// sub-block 2c+1 (high nibbles): the even and odd halves of groups 4c + h and 4c + 2 + h.
template <bool Five>
inline void k4_weights(const uint8_t* block, int c, int h, __m128i* w_le, __m128i* w_lo, __m128i* w_he, __m128i* w_ho) {
  const __m128i low4 = _mm_set1_epi16(0x0f), bit4 = _mm_set1_epi16(16);
  const __m128i v = load16(block + (Five ? 48 : 16) + 32 * c + 16 * h);
  *w_le = _mm_and_si128(v, low4), *w_lo = _mm_and_si128(_mm_srli_epi16(v, 8), low4);
  *w_he = _mm_and_si128(_mm_srli_epi16(v, 4), low4), *w_ho = _mm_srli_epi16(v, 12);
  if constexpr (Five) {  // bit 2c of qh[l] tops the low nibble of byte l, bit 2c+1 the high one
    const __m128i vs = _mm_srl_epi16(load16(block + 16 + 16 * h), _mm_cvtsi32_si128(2 * c));
    *w_le = _mm_or_si128(*w_le, _mm_and_si128(_mm_slli_epi16(vs, 4), bit4));
    *w_lo = _mm_or_si128(*w_lo, _mm_and_si128(_mm_srli_epi16(vs, 4), bit4));
    *w_he = _mm_or_si128(*w_he, _mm_and_si128(_mm_slli_epi16(vs, 3), bit4));
    *w_ho = _mm_or_si128(*w_ho, _mm_and_si128(_mm_srli_epi16(vs, 5), bit4));
  }
}

// Q4_K (Five = false) and Q5_K. Each sub-block's integer dot is multiplied by its 6-bit scale; the
// mins meet the activations' sums of 32. How the scales are applied differs by build, for speed,
// not in result (the integers are exact either way):
//   natively, two rows at a time (each activation load serves both); the dots of sub-blocks 2c
//     and 2c+1 pack to int16 and one multiply-add applies both scales (see scaled);
//   in wasm, one row at a time (V8 gives wasm 15 vector registers, and two rows spill), the
//     weights multiplied by their scale first (q * sc <= 31 * 63 fits int16), one sum per row.
#if defined(__wasm_simd128__)
constexpr int kK4Rows = 1;
constexpr bool kK4ScaleWeights = true;
#else
constexpr int kK4Rows = 2;
constexpr bool kK4ScaleWeights = false;
#endif

template <bool Five>
void k4_tile(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const KActivations& x = *a.q8k;
  const int64_t nb = a.cols / kQK;
  constexpr size_t kBytes = Five ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  const int16_t* q = x.values(t);
  const float* dx = x.scales(t);
  const int16_t* sums = x.sums32(t);
  __m128 acc = _mm_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m128i totals[4], mins[4], scales[4];
    uint8_t sc[4][8];
    const __m128i xsums = load16(sums + 8 * b);
    const uint8_t* block[4];
    for (int r = 0; r < 4; r++) {
      block[r] = rows[r] + size_t(b) * kBytes;
      uint32_t a0, a1, a2;  // the 12 scale bytes; see k4_scale_min
      std::memcpy(&a0, block[r] + 4, 4), std::memcpy(&a1, block[r] + 8, 4), std::memcpy(&a2, block[r] + 12, 4);
      const uint32_t sc_lo = a0 & 0x3f3f3f3f, m_lo = a1 & 0x3f3f3f3f;
      const uint32_t sc_hi = (a2 & 0x0f0f0f0f) | ((a0 >> 2) & 0x30303030);
      const uint32_t m_hi = ((a2 >> 4) & 0x0f0f0f0f) | ((a1 >> 2) & 0x30303030);
      mins[r] = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_setr_epi32(int32_t(m_lo), int32_t(m_hi), 0, 0)), xsums);
      if constexpr (kK4ScaleWeights) std::memcpy(sc[r], &sc_lo, 4), std::memcpy(sc[r] + 4, &sc_hi, 4);
      else scales[r] = _mm_cvtepu8_epi16(_mm_setr_epi32(int32_t(sc_lo), int32_t(sc_hi), 0, 0));
    }
    const int16_t* xb = q + b * kQK;
    for (int r = 0; r < 4; r += kK4Rows) {
      __m128i total[kK4Rows];
      for (int i = 0; i < kK4Rows; i++) total[i] = _mm_setzero_si128();
      for (int c = 0; c < 4; c++) {
        __m128i lo[kK4Rows], hi[kK4Rows], s_lo[kK4Rows], s_hi[kK4Rows];
        for (int i = 0; i < kK4Rows; i++) {
          lo[i] = hi[i] = _mm_setzero_si128();
          if constexpr (kK4ScaleWeights) s_lo[i] = _mm_set1_epi16(sc[r + i][2 * c]), s_hi[i] = _mm_set1_epi16(sc[r + i][2 * c + 1]);
        }
        for (int h = 0; h < 2; h++) {
          const int16_t* xl = xb + 64 * c + 16 * h;  // group 4c + h, then group 4c + 2 + h
          const __m128i x0 = load16(xl), x1 = load16(xl + 8), x2 = load16(xl + 32), x3 = load16(xl + 40);
          for (int i = 0; i < kK4Rows; i++) {
            __m128i w_le, w_lo, w_he, w_ho;
            k4_weights<Five>(block[r + i], c, h, &w_le, &w_lo, &w_he, &w_ho);
            if constexpr (kK4ScaleWeights) {
              w_le = _mm_mullo_epi16(w_le, s_lo[i]), w_lo = _mm_mullo_epi16(w_lo, s_lo[i]);
              w_he = _mm_mullo_epi16(w_he, s_hi[i]), w_ho = _mm_mullo_epi16(w_ho, s_hi[i]);
              total[i] = _mm_add_epi32(total[i], _mm_add_epi32(_mm_add_epi32(_mm_madd_epi16(w_le, x0), _mm_madd_epi16(w_lo, x1)),
                                                               _mm_add_epi32(_mm_madd_epi16(w_he, x2), _mm_madd_epi16(w_ho, x3))));
            } else {
              lo[i] = _mm_add_epi32(lo[i], _mm_add_epi32(_mm_madd_epi16(w_le, x0), _mm_madd_epi16(w_lo, x1)));
              hi[i] = _mm_add_epi32(hi[i], _mm_add_epi32(_mm_madd_epi16(w_he, x2), _mm_madd_epi16(w_ho, x3)));
            }
          }
        }
        if constexpr (!kK4ScaleWeights) {
          for (int i = 0; i < kK4Rows; i++) total[i] = _mm_add_epi32(total[i], scaled(lo[i], hi[i], scale_pair(scales[r + i], c)));
        }
      }
      for (int i = 0; i < kK4Rows; i++) totals[r + i] = total[i];
    }
    uint16_t d[4], dmin[4];
    for (int r = 0; r < 4; r++) std::memcpy(&d[r], block[r], 2), std::memcpy(&dmin[r], block[r] + 2, 2);
    const __m128 vdx = _mm_set1_ps(dx[b]);
    const __m128 scale = _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(d[0], d[1], d[2], d[3])), vdx);
    const __m128 mscale = _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(dmin[0], dmin[1], dmin[2], dmin[3])), vdx);
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(sum4(totals[0], totals[1], totals[2], totals[3])), scale));
    acc = _mm_sub_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(sum4(mins[0], mins[1], mins[2], mins[3])), mscale));
  }
  _mm_storeu_ps(out, acc);
}

// The integer dot of values 32K + 16h + (0..15) of a Q6_K half with the activations xq (the half's
// 128): the nibbles of lane i (bytes l = 16h + 2i, l + 1 of ql, or of ql + 32 for odd K; high
// nibbles for K >= 2) topped by bits 2K, 2K+1 of qh[l], qh[l+1], minus 32.
template <int K>
inline __m128i q6_dot(__m128i v0, __m128i v1, __m128i vh, const int16_t* xg) {
  const __m128i low4 = _mm_set1_epi16(0x0f), top2 = _mm_set1_epi16(0x30), bias = _mm_set1_epi16(32);
  const __m128i v = K % 2 ? v1 : v0;
  const __m128i ne = K < 2 ? _mm_and_si128(v, low4) : _mm_and_si128(_mm_srli_epi16(v, 4), low4);
  const __m128i no = K < 2 ? _mm_and_si128(_mm_srli_epi16(v, 8), low4) : _mm_srli_epi16(v, 12);
  const __m128i he = K == 0 ? _mm_slli_epi16(vh, 4) : K == 1 ? _mm_slli_epi16(vh, 2) : K == 2 ? vh : _mm_srli_epi16(vh, 2);
  const __m128i ho = _mm_srli_epi16(vh, 4 + 2 * K);
  const __m128i even = _mm_sub_epi16(_mm_or_si128(ne, _mm_and_si128(he, top2)), bias);
  const __m128i odd = _mm_sub_epi16(_mm_or_si128(no, _mm_and_si128(ho, top2)), bias);
  return _mm_add_epi32(_mm_madd_epi16(even, load16(xg)), _mm_madd_epi16(odd, load16(xg + 8)));
}

// Groups 2K (h = 0) and 2K + 1 (h = 1) of a half, scaled: their scales are neighbours.
template <int K>
inline __m128i q6_pair(const __m128i* v0, const __m128i* v1, const __m128i* vh, const int16_t* xq, __m128i pair) {
  return scaled(q6_dot<K>(v0[0], v1[0], vh[0], xq + 32 * K), q6_dot<K>(v0[1], v1[1], vh[1], xq + 32 * K + 16), pair);
}

void q6_tile(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const KActivations& x = *a.q8k;
  const int64_t nb = a.cols / kQK;
  const int16_t* q = x.values(t);
  const float* dx = x.scales(t);
  __m128 acc = _mm_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m128i totals[4];
    uint16_t d[4];
    for (int r = 0; r < 4; r++) {
      const BlockQ6_K* block = reinterpret_cast<const BlockQ6_K*>(rows[r]) + b;
      __m128i total = _mm_setzero_si128();
      for (int half = 0; half < 2; half++) {
        const uint8_t* ql = block->ql + 64 * half;
        const uint8_t* qh = block->qh + 32 * half;
        const int16_t* xq = q + b * kQK + 128 * half;
        __m128i pairs[4];
        scale_pairs(_mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(block->scales + 8 * half))), pairs);
        const __m128i v0[2] = {load16(ql), load16(ql + 16)}, v1[2] = {load16(ql + 32), load16(ql + 48)};
        const __m128i vh[2] = {load16(qh), load16(qh + 16)};
        total = _mm_add_epi32(total, _mm_add_epi32(q6_pair<0>(v0, v1, vh, xq, pairs[0]), q6_pair<1>(v0, v1, vh, xq, pairs[1])));
        total = _mm_add_epi32(total, _mm_add_epi32(q6_pair<2>(v0, v1, vh, xq, pairs[2]), q6_pair<3>(v0, v1, vh, xq, pairs[3])));
      }
      totals[r] = total;
      std::memcpy(&d[r], &block->d, 2);
    }
    const __m128 scale = _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(d[0], d[1], d[2], d[3])), _mm_set1_ps(dx[b]));
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(sum4(totals[0], totals[1], totals[2], totals[3])), scale));
  }
  _mm_storeu_ps(out, acc);
}

#else  // no SIMD: the references, block by block, on the Q8_K blocks rebuilt from the activations

BlockQ8_K unpermuted_block(const KActivations& x, int t, int64_t b) {
  BlockQ8_K block;
  const int16_t* v = x.values(t) + b * kQK;
  for (int j = 0; j < kQK; j++) block.qs[j] = int8_t(v[permuted16(j)]);
  for (int s = 0; s < 8; s++) block.bsums[2 * s] = x.sums32(t)[b * 8 + s], block.bsums[2 * s + 1] = 0;
  block.d = x.scales(t)[b];
  return block;
}

template <bool Five>
void k4_tile(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const KActivations& x = *a.q8k;
  const int64_t nb = a.cols / kQK;
  const size_t bytes = Five ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  float acc[4] = {};
  for (int64_t b = 0; b < nb; b++) {
    const BlockQ8_K xb = unpermuted_block(x, t, b);
    for (int r = 0; r < 4; r++) acc[r] = k4_accumulate(acc[r], rows[r] + size_t(b) * bytes, Five, xb);
  }
  std::memcpy(out, acc, sizeof(acc));
}

void q6_tile(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const KActivations& x = *a.q8k;
  const int64_t nb = a.cols / kQK;
  float acc[4] = {};
  for (int64_t b = 0; b < nb; b++) {
    const BlockQ8_K xb = unpermuted_block(x, t, b);
    for (int r = 0; r < 4; r++) acc[r] = q6_accumulate(acc[r], reinterpret_cast<const BlockQ6_K*>(rows[r])[b], xb);
  }
  std::memcpy(out, acc, sizeof(acc));
}

#endif

}  // namespace

const TileKernel kQ4_KTile = tile_kernel<4, 1, k4_tile<false>>();
const TileKernel kQ5_KTile = tile_kernel<4, 1, k4_tile<true>>();
const TileKernel kQ6_KTile = tile_kernel<4, 1, q6_tile>();

}  // namespace ringlm
