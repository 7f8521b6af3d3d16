// The K-quants (Q4_K, Q5_K, Q6_K) against Q8_K activations; see quant.h and tensor_type.h.
//
// SSE4.1 kernels serve the wasm build and every native build (AVX2 ones too): natively Q4_K, Q5_K and
// Q6_K multiply weight bytes by int8 activations with SSSE3's maddubs; in wasm, which lacks it, Q5_K
// does so with extending multiplies (dot_pairs), and Q4_K and Q6_K take their weights as int16 pairs
// against int16 activations (i32x4.dot_i16x8, one instruction in V8; see k4_tile_lanes). Prefill
// widens each group of rows once per batch into int16 weights times their scales, then multiplies
// them by several tokens (k_wide_tile). Every kernel's integer sums are exact and its float steps
// those of the scalar references, so all builds and batch sizes compute the same bits.
#include <cmath>
#include <cstring>

#include "kernels/quant.h"
#include "kernels/quant_internal.h"
#include "kernels/tile.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

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

uint64_t KActivations::bytes_for(int max_tokens, int64_t max_cols) {
  const uint64_t cols = uint64_t(max_cols / kQK * kQK), tokens = uint64_t(max_tokens);
  return tokens * cols * sizeof(int8_t) + tokens * (cols + cols / 16 + cols / 32) * sizeof(int16_t) +
         tokens * (cols / kQK) * sizeof(float);
}

void KActivations::reserve(int max_tokens, int64_t max_cols) {
  const size_t cols = size_t(max_cols / kQK * kQK), tokens = size_t(max_tokens);
  values_.assign(tokens * cols, 0);
  pairs_.assign(tokens * cols, 0);
  sums16_.assign(tokens * cols / 16, 0);
  sums32_.assign(tokens * cols / 32, 0);
  scales_.assign(tokens * cols / size_t(kQK), 0.0f);
}

namespace {

// One block of 256 values quantized as quantize_row_q8_K does, into the forms KActivations keeps:
// q in order (values), q in pair order (pairs), d, the sums of each 16 and of each 32 q.
#if defined(__SSE4_1__)
// Four values at a time (prefill quantizes every token of a batch for every matrix: the scalar loop
// cost about 40 instructions a value). The largest magnitude and the first value that has it, as
// the scalar loop finds them (NaN never wins: a comparison with it is false); then q =
// round-half-even(iscale * v), clamped as std::fmin / std::fmax clamp (min_ps(q, 127) is 127 when
// q is NaN, as fmin is), and made an integer by adding 1.5 * 2^23: exact for integral values of at
// most 2^22 (wasm's float-to-int conversion goes through scalar code in Emscripten).
void quantize_k_block(const float* v, int8_t* values, int16_t* pairs, float* d, int16_t* sums16, int16_t* sums32) {
  const __m128 sign = _mm_set1_ps(-0.0f);
  __m128 most = _mm_setzero_ps();
  for (int j = 0; j < kQK; j += 4) most = _mm_max_ps(_mm_andnot_ps(sign, _mm_loadu_ps(v + j)), most);
  most = _mm_max_ps(most, _mm_shuffle_ps(most, most, _MM_SHUFFLE(1, 0, 3, 2)));
  most = _mm_max_ps(most, _mm_shuffle_ps(most, most, _MM_SHUFFLE(2, 3, 0, 1)));
  const float amax = _mm_cvtss_f32(most);
  if (!(amax > 0.0f)) {  // all zero (or NaN, which the scalar loop skips too)
    std::memset(values, 0, kQK), std::memset(pairs, 0, kQK * sizeof(int16_t)), std::memset(sums16, 0, 16 * sizeof(int16_t));
    std::memset(sums32, 0, 8 * sizeof(int16_t));
    *d = 0.0f;
    return;
  }
  float max = 0.0f;
  for (int j = 0; j < kQK; j += 4) {
    const int hit = _mm_movemask_ps(_mm_cmpeq_ps(_mm_andnot_ps(sign, _mm_loadu_ps(v + j)), most));
    if (hit) {
      max = v[j + __builtin_ctz(unsigned(hit))];
      break;
    }
  }
  const float iscale = -127.0f / max;
  const __m128 scale = _mm_set1_ps(iscale), hi = _mm_set1_ps(127.0f), lo = _mm_set1_ps(-127.0f), magic = _mm_set1_ps(12582912.0f);
  const auto quantize4 = [&](__m128 x) {
    const __m128 q = _mm_max_ps(_mm_min_ps(_mm_round_ps(_mm_mul_ps(scale, x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), hi), lo);
    return _mm_sub_epi32(_mm_castps_si128(_mm_add_ps(q, magic)), _mm_castps_si128(magic));
  };
  const __m128i ones = _mm_set1_epi16(1);
  __m128i group[4];
  for (int g = 0; g < 16; g++) {  // values 16g .. 16g + 15
    const float* p = v + 16 * g;
    const __m128 f0 = _mm_loadu_ps(p), f1 = _mm_loadu_ps(p + 4), f2 = _mm_loadu_ps(p + 8), f3 = _mm_loadu_ps(p + 12);
    const __m128i even = _mm_packs_epi32(quantize4(_mm_shuffle_ps(f0, f1, _MM_SHUFFLE(2, 0, 2, 0))),
                                         quantize4(_mm_shuffle_ps(f2, f3, _MM_SHUFFLE(2, 0, 2, 0))));
    const __m128i odd = _mm_packs_epi32(quantize4(_mm_shuffle_ps(f0, f1, _MM_SHUFFLE(3, 1, 3, 1))),
                                        quantize4(_mm_shuffle_ps(f2, f3, _MM_SHUFFLE(3, 1, 3, 1))));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(pairs + 16 * g), even);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(pairs + 16 * g + 8), odd);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(values + 16 * g),
                     _mm_packs_epi16(_mm_unpacklo_epi16(even, odd), _mm_unpackhi_epi16(even, odd)));
    group[g % 4] = _mm_madd_epi16(_mm_add_epi16(even, odd), ones);
    if (g % 4 == 3) {  // the sums of groups g - 3 .. g, as int16
      const __m128i s = sse::sum4(group[0], group[1], group[2], group[3]);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(sums16 + g - 3), _mm_packs_epi32(s, s));
      const __m128i s32 = _mm_add_epi32(s, _mm_srli_epi64(s, 32));  // lanes 0, 2: the two sums of 32
      sums32[(g - 3) / 2] = int16_t(_mm_cvtsi128_si32(s32)), sums32[(g - 3) / 2 + 1] = int16_t(_mm_extract_epi32(s32, 2));
    }
  }
  *d = 1.0f / iscale;
}
#else
void quantize_k_block(const float* v, int8_t* values, int16_t* pairs, float* d, int16_t* sums16, int16_t* sums32) {
  BlockQ8_K block;
  quantize_row_q8_K(v, &block, kQK);
  std::memcpy(values, block.qs, kQK);
  for (int j = 0; j < kQK; j++) pairs[j / 16 * 16 + (j % 2) * 8 + (j % 16) / 2] = block.qs[j];
  *d = block.d;
  std::memcpy(sums16, block.bsums, sizeof(block.bsums));
  for (int s = 0; s < 8; s++) sums32[s] = int16_t(block.bsums[2 * s] + block.bsums[2 * s + 1]);
}
#endif

}  // namespace

void KActivations::quantize_tokens(const float* x, int64_t stride, int begin, int end) {
  const int64_t cols = cols_;
  for (int t = begin; t < end; t++) {
    for (int64_t b = 0; b < cols / kQK; b++) {
      const size_t at = size_t(t * cols + b * kQK);
      quantize_k_block(x + t * stride + b * kQK, &values_[at], &pairs_[at], &scales_[size_t(t * (cols / kQK) + b)],
                       &sums16_[size_t(t * (cols / 16) + b * 16)], &sums32_[size_t(t * (cols / 32) + b * 8)]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tile kernels: 4 rows x 1 token (see tile.h)
//
// Each block's weights are unpacked to bytes (0..63) in the activations' order and multiplied by
// the int8 activations sixteen at a time (dot_pairs), each group's int16 sums times its integer
// scale (one multiply-add that also widens to int32); Q6_K's offset of 32 and the mins of Q4_K /
// Q5_K meet the activations' sums once per block. The integer totals are exact, so they are the
// references' totals, and the float steps per block are the references' steps.
// ---------------------------------------------------------------------------------------------

namespace {

#if defined(__SSE4_1__)

using sse::f16x4_to_f32x4;
using sse::load16;
using sse::q6_block_scales;
using sse::sum4;

// The sixteen products w[i] * x[i] of weight bytes w (0..63) and int8 activations x (-127..127),
// added in pairs to eight int16 lanes: exact, |lane| <= 2 * 63 * 127 < 2^15. Natively SSSE3's
// maddubs adds neighbours; wasm has no maddubs (Emscripten emulates it in six operations) but has
// extending multiplies, so there lane i holds products i and i + 8. The kernels only add the lanes
// up, so both give the same totals.
inline __m128i dot_pairs(__m128i w, __m128i x) {
#if defined(__wasm_simd128__)
  return (__m128i)wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16((v128_t)w, (v128_t)x), wasm_i16x8_extmul_high_i8x16((v128_t)w, (v128_t)x));
#else
  return _mm_maddubs_epi16(w, x);
#endif
}

// Lane J of eight int16 values s, in every lane.
template <int J>
inline __m128i splat16(__m128i s) {
#if defined(__wasm_simd128__)
  return (__m128i)wasm_i16x8_shuffle((v128_t)s, (v128_t)s, J, J, J, J, J, J, J, J);
#else
  return _mm_shuffle_epi8(s, _mm_set1_epi16(int16_t(2 * J | (2 * J + 1) << 8)));
#endif
}

// v shifted left by S bits (right by -S) as 16-bit lanes.
template <int S>
inline __m128i shift16(__m128i v) {
  if constexpr (S > 0) return _mm_slli_epi16(v, S);
  else if constexpr (S < 0) return _mm_srli_epi16(v, -S);
  else return v;
}

// Sub-blocks 2C and 2C+1 of a Q4_K (Five = false) or Q5_K block against their 64 activations x,
// each times its scale (lanes 2C and 2C+1 of the int16 scales): bytes 32C + l hold value l of
// sub-block 2C (low nibble) and of 2C+1 (high nibble); Q5_K's bit 2C (2C+1) of qh[l] is their bit 4.
template <bool Five, int C>
inline __m128i k4_pair(const uint8_t* block, const int8_t* x, __m128i scales) {
  const __m128i low4 = _mm_set1_epi8(0x0f);
  const uint8_t* qs = block + (Five ? 48 : 16) + 32 * C;
  const __m128i v0 = load16(qs), v1 = load16(qs + 16);
  __m128i lo0 = _mm_and_si128(v0, low4), lo1 = _mm_and_si128(v1, low4);
  __m128i hi0 = _mm_and_si128(_mm_srli_epi16(v0, 4), low4), hi1 = _mm_and_si128(_mm_srli_epi16(v1, 4), low4);
  if constexpr (Five) {  // 16-bit shifts move bits across bytes only outside bit 4, which the mask keeps
    const __m128i bit4 = _mm_set1_epi8(0x10), h0 = load16(block + 16), h1 = load16(block + 32);
    lo0 = _mm_or_si128(lo0, _mm_and_si128(shift16<4 - 2 * C>(h0), bit4));
    lo1 = _mm_or_si128(lo1, _mm_and_si128(shift16<4 - 2 * C>(h1), bit4));
    hi0 = _mm_or_si128(hi0, _mm_and_si128(shift16<3 - 2 * C>(h0), bit4));
    hi1 = _mm_or_si128(hi1, _mm_and_si128(shift16<3 - 2 * C>(h1), bit4));
  }
  const int8_t* xc = x + 64 * C;
  // At most 4 products of 31 * 127 per int16 lane: exact.
  const __m128i lo = _mm_add_epi16(dot_pairs(lo0, load16(xc)), dot_pairs(lo1, load16(xc + 16)));
  const __m128i hi = _mm_add_epi16(dot_pairs(hi0, load16(xc + 32)), dot_pairs(hi1, load16(xc + 48)));
  return _mm_add_epi32(_mm_madd_epi16(lo, splat16<2 * C>(scales)), _mm_madd_epi16(hi, splat16<2 * C + 1>(scales)));
}

template <bool Five>
void k4_tile(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const KActivations& x = *a.q8k;
  const int64_t nb = a.cols / kQK;
  constexpr size_t kBytes = Five ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  const int8_t* q = x.values(t);
  const float* dx = x.scales(t);
  const int16_t* sums = x.sums32(t);
  __m128 acc = _mm_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m128i totals[4], mins[4];
    const __m128i xsums = load16(sums + 8 * b);
    const int8_t* xb = q + b * kQK;
    uint16_t d[4], dmin[4];
    for (int r = 0; r < 4; r++) {
      const uint8_t* block = rows[r] + size_t(b) * kBytes;
      uint32_t a0, a1, a2;  // the 12 scale bytes; see k4_scale_min
      std::memcpy(&a0, block + 4, 4), std::memcpy(&a1, block + 8, 4), std::memcpy(&a2, block + 12, 4);
      const uint32_t sc_lo = a0 & 0x3f3f3f3f, m_lo = a1 & 0x3f3f3f3f;
      const uint32_t sc_hi = (a2 & 0x0f0f0f0f) | ((a0 >> 2) & 0x30303030);
      const uint32_t m_hi = ((a2 >> 4) & 0x0f0f0f0f) | ((a1 >> 2) & 0x30303030);
      mins[r] = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_setr_epi32(int32_t(m_lo), int32_t(m_hi), 0, 0)), xsums);
      const __m128i scales = _mm_cvtepu8_epi16(_mm_setr_epi32(int32_t(sc_lo), int32_t(sc_hi), 0, 0));
      totals[r] = _mm_add_epi32(_mm_add_epi32(k4_pair<Five, 0>(block, xb, scales), k4_pair<Five, 1>(block, xb, scales)),
                                _mm_add_epi32(k4_pair<Five, 2>(block, xb, scales), k4_pair<Five, 3>(block, xb, scales)));
      std::memcpy(&d[r], block, 2), std::memcpy(&dmin[r], block + 2, 2);
    }
    const __m128 vdx = _mm_set1_ps(dx[b]);
    const __m128 scale = _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(d[0], d[1], d[2], d[3])), vdx);
    const __m128 mscale = _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(dmin[0], dmin[1], dmin[2], dmin[3])), vdx);
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(sum4(totals[0], totals[1], totals[2], totals[3])), scale));
    acc = _mm_sub_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(sum4(mins[0], mins[1], mins[2], mins[3])), mscale));
  }
  _mm_storeu_ps(out, acc);
}

// Values 32K .. 32K+31 of a Q6_K half (groups 2K and 2K+1) against their activations x, each group
// times its scale (lanes 2K, 2K+1 of the half's int16 scales), the weights taken as stored (0..63):
// the nibbles of ql[l] (K = 0, 2: low, high) or ql[32 + l] (K = 1, 3), bits 2K, 2K+1 of qh[l] above them.
template <int K>
inline __m128i q6_quarter(const __m128i* ql, const __m128i* qh, const int8_t* x, __m128i scales) {
  const __m128i low4 = _mm_set1_epi8(0x0f), top2 = _mm_set1_epi8(0x30);
  __m128i w[2];
  for (int g = 0; g < 2; g++) {  // l = 16g .. 16g + 15
    const __m128i v = ql[2 * (K % 2) + g];
    const __m128i low = K < 2 ? _mm_and_si128(v, low4) : _mm_and_si128(_mm_srli_epi16(v, 4), low4);
    w[g] = _mm_or_si128(low, _mm_and_si128(shift16<4 - 2 * K>(qh[g]), top2));  // bleeding bits miss 0x30
  }
  return _mm_add_epi32(_mm_madd_epi16(dot_pairs(w[0], load16(x + 32 * K)), splat16<2 * K>(scales)),
                       _mm_madd_epi16(dot_pairs(w[1], load16(x + 32 * K + 16)), splat16<2 * K + 1>(scales)));
}

void q6_tile(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const KActivations& x = *a.q8k;
  const int64_t nb = a.cols / kQK;
  const int8_t* q = x.values(t);
  const float* dx = x.scales(t);
  const int16_t* sums = x.sums16(t);
  __m128 acc = _mm_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m128i totals[4];
    uint16_t d[4];
    const __m128i xsums0 = load16(sums + 16 * b), xsums1 = load16(sums + 16 * b + 8);
    for (int r = 0; r < 4; r++) {
      const BlockQ6_K* block = reinterpret_cast<const BlockQ6_K*>(rows[r]) + b;
      const __m128i sc0 = _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(block->scales)));
      const __m128i sc1 = _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(block->scales + 8)));
      // sum(scale * (w - 32) * x) = sum(scale * w * x) - 32 * sum(scale * (sum of the group's x))
      const __m128i offset = _mm_add_epi32(_mm_madd_epi16(sc0, xsums0), _mm_madd_epi16(sc1, xsums1));
      __m128i total = _mm_sub_epi32(_mm_setzero_si128(), _mm_slli_epi32(offset, 5));
      for (int half = 0; half < 2; half++) {
        const __m128i scales = half ? sc1 : sc0;
        const uint8_t* ql = block->ql + 64 * half;
        const uint8_t* qh = block->qh + 32 * half;
        const int8_t* xh = q + b * kQK + 128 * half;
        const __m128i vl[4] = {load16(ql), load16(ql + 16), load16(ql + 32), load16(ql + 48)};
        const __m128i vh[2] = {load16(qh), load16(qh + 16)};
        total = _mm_add_epi32(total, _mm_add_epi32(q6_quarter<0>(vl, vh, xh, scales), q6_quarter<1>(vl, vh, xh, scales)));
        total = _mm_add_epi32(total, _mm_add_epi32(q6_quarter<2>(vl, vh, xh, scales), q6_quarter<3>(vl, vh, xh, scales)));
      }
      totals[r] = total;
      std::memcpy(&d[r], &block->d, 2);
    }
    const __m128 scale = _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(d[0], d[1], d[2], d[3])), _mm_set1_ps(dx[b]));
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(sum4(totals[0], totals[1], totals[2], totals[3])), scale));
  }
  _mm_storeu_ps(out, acc);
}

// The wasm kernels of Q4_K and Q6_K. wasm has no multiply of bytes by bytes that V8 compiles well,
// but i32x4.dot_i16x8 is one instruction: so these take each 16-bit lane of 16 weight bytes as two
// values, one from its low byte and one from its high byte, masked or shifted into place, and
// multiply them by the activations' int16 pairs (KActivations::pairs: evens, then odds, per 16).
// Each sub-block's (Q6_K: each group's) int32 sums times its scale, summed over the block: the
// same exact integer totals as the references, then the same float steps.

// V8 issues a loop body's loads ahead of its arithmetic and has 15 vector registers: a row's whole
// block unrolled (8 to 12 weight vectors and 32 activation vectors) spills most of them. So these
// kernels loop over the rows and, inside a block, over sub-block pairs (Q6_K: 16-value columns)
// without unrolling, each step loading just what it multiplies: the activations are reloaded for
// each row from L1, which costs less than the spills.
#if defined(__clang__)
#define RINGLM_NO_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define RINGLM_NO_UNROLL
#endif

// Q4_K: 16 weight bytes as eight 16-bit lanes, lane i = bytes 32C + 16h + 2i, 2i + 1 of the block's qs:
// from its low bits up, values 16h + 2i of sub-block 2C, of 2C + 1, then 16h + 2i + 1 of 2C and of 2C + 1.
// Masked and shifted to int16 lanes they meet the activations' pairs (evens, odds) with dot_i16x8.
// A sub-block's int32 lanes (8 products of at most 15 * 127) fit int16: narrowed, two sub-blocks
// meet their scales (at most 63) in one multiply-add. Exact.
[[maybe_unused]] void k4_tile_lanes(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const KActivations& x = *a.q8k;
  const int64_t nb = a.cols / kQK;
  const int16_t* q = x.pairs(t);
  const float* dx = x.scales(t);
  const int16_t* sums = x.sums32(t);
  const __m128i low4 = _mm_set1_epi16(0x0f);
  __m128 acc = _mm_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m128i totals[4], mins[4];
    const __m128i xsums = load16(sums + 8 * b);
    uint16_t d[4], dmin[4];
    RINGLM_NO_UNROLL
    for (int r = 0; r < 4; r++) {
      const uint8_t* block = rows[r] + size_t(b) * sizeof(BlockQ4_K);
      uint32_t a0, a1, a2;  // the 12 scale bytes; see k4_scale_min
      std::memcpy(&a0, block + 4, 4), std::memcpy(&a1, block + 8, 4), std::memcpy(&a2, block + 12, 4);
      const uint32_t m_lo = a1 & 0x3f3f3f3f, m_hi = ((a2 >> 4) & 0x0f0f0f0f) | ((a1 >> 2) & 0x30303030);
      const uint32_t sc_lo = a0 & 0x3f3f3f3f, sc_hi = (a2 & 0x0f0f0f0f) | ((a0 >> 2) & 0x30303030);
      mins[r] = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_setr_epi32(int32_t(m_lo), int32_t(m_hi), 0, 0)), xsums);
      // The scales of sub-blocks 2c and 2c + 1 as int16 lanes (4 of each), for c = 0..3.
      const __m128i sc = _mm_cvtepu8_epi16(_mm_setr_epi32(int32_t(sc_lo), int32_t(sc_hi), 0, 0));
      const __m128i lo = _mm_unpacklo_epi16(sc, sc), hi = _mm_unpackhi_epi16(sc, sc);
      const __m128i scales[4] = {_mm_unpacklo_epi32(lo, lo), _mm_unpackhi_epi32(lo, lo), _mm_unpacklo_epi32(hi, hi),
                                 _mm_unpackhi_epi32(hi, hi)};
      const uint8_t* qs = block + 16;
      const int16_t* xc = q + b * kQK;
      __m128i total = _mm_setzero_si128();
      RINGLM_NO_UNROLL
      for (int c = 0; c < 4; c++, qs += 32, xc += 64) {  // sub-blocks 2c, 2c + 1: xc and xc + 32
        const __m128i v0 = load16(qs), v1 = load16(qs + 16);
        const __m128i s0 = _mm_add_epi32(
            _mm_add_epi32(_mm_madd_epi16(_mm_and_si128(v0, low4), load16(xc)),
                          _mm_madd_epi16(_mm_and_si128(_mm_srli_epi16(v0, 8), low4), load16(xc + 8))),
            _mm_add_epi32(_mm_madd_epi16(_mm_and_si128(v1, low4), load16(xc + 16)),
                          _mm_madd_epi16(_mm_and_si128(_mm_srli_epi16(v1, 8), low4), load16(xc + 24))));
        const __m128i s1 = _mm_add_epi32(
            _mm_add_epi32(_mm_madd_epi16(_mm_and_si128(_mm_srli_epi16(v0, 4), low4), load16(xc + 32)),
                          _mm_madd_epi16(_mm_srli_epi16(v0, 12), load16(xc + 40))),
            _mm_add_epi32(_mm_madd_epi16(_mm_and_si128(_mm_srli_epi16(v1, 4), low4), load16(xc + 48)),
                          _mm_madd_epi16(_mm_srli_epi16(v1, 12), load16(xc + 56))));
        // |s0|, |s1| <= 8 * 15 * 127 per lane: they narrow to int16 exactly, and one multiply-add
        // takes both sub-blocks' lanes times their scales.
        total = _mm_add_epi32(total, _mm_madd_epi16(_mm_packs_epi32(s0, s1), scales[c]));
      }
      totals[r] = total;
      std::memcpy(&d[r], block, 2), std::memcpy(&dmin[r], block + 2, 2);
    }
    const __m128 vdx = _mm_set1_ps(dx[b]);
    const __m128 scale = _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(d[0], d[1], d[2], d[3])), vdx);
    const __m128 mscale = _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(dmin[0], dmin[1], dmin[2], dmin[3])), vdx);
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(sum4(totals[0], totals[1], totals[2], totals[3])), scale));
    acc = _mm_sub_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(sum4(mins[0], mins[1], mins[2], mins[3])), mscale));
  }
  _mm_storeu_ps(out, acc);
}

// Q6_K: each weight built whole (0..63) in a byte, from the nibble of ql[l] (quarters K = 0, 2 of a
// half: low, high) or ql[32 + l] (K = 1, 3) and bits 2K, 2K + 1 of qh[l] moved above it by a 16-bit
// shift (what a shift carries across bytes lands outside the mask); then as Q4_K, the 16-bit lanes
// as (even, odd) pairs against the activations' pairs. Step (H, G) takes l = 16G .. 16G + 15 of half
// H: groups 8H + 2K + G. A group's int32 lanes (4 products of at most 63 * 127) fit int16: narrowed,
// two groups meet their scales in one multiply-add. Exact.
[[maybe_unused]] void q6_tile_lanes(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const KActivations& x = *a.q8k;
  const int64_t nb = a.cols / kQK;
  const int16_t* q = x.pairs(t);
  const float* dx = x.scales(t);
  const int16_t* sums = x.sums16(t);
  const __m128i low4 = _mm_set1_epi8(0x0f), top2 = _mm_set1_epi8(0x30), low8 = _mm_set1_epi16(0x00ff);
  __m128 acc = _mm_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m128i totals[4];
    uint16_t d[4];
    const __m128i xsums0 = load16(sums + 16 * b), xsums1 = load16(sums + 16 * b + 8);
    RINGLM_NO_UNROLL
    for (int r = 0; r < 4; r++) {
      const BlockQ6_K& block = reinterpret_cast<const BlockQ6_K*>(rows[r])[b];
      __m128i scales[4][2];  // per step, its groups' scales (see q6_block_scales)
      __m128i total = q6_block_scales(block.scales, xsums0, xsums1, scales);
      RINGLM_NO_UNROLL
      for (int step = 0; step < 4; step++) {
        const int h = step / 2, g = step % 2;
        const __m128i va = load16(block.ql + 64 * h + 16 * g), vb = load16(block.ql + 64 * h + 32 + 16 * g);
        const __m128i vh = load16(block.qh + 32 * h + 16 * g);
        const __m128i w[4] = {
            _mm_or_si128(_mm_and_si128(va, low4), _mm_and_si128(_mm_slli_epi16(vh, 4), top2)),
            _mm_or_si128(_mm_and_si128(vb, low4), _mm_and_si128(_mm_slli_epi16(vh, 2), top2)),
            _mm_or_si128(_mm_and_si128(_mm_srli_epi16(va, 4), low4), _mm_and_si128(vh, top2)),
            _mm_or_si128(_mm_and_si128(_mm_srli_epi16(vb, 4), low4), _mm_and_si128(_mm_srli_epi16(vh, 2), top2))};
        const int16_t* xg = q + b * kQK + 128 * h + 16 * g;
        __m128i s[4];
        for (int k = 0; k < 4; k++) {  // group 8h + 2k + g: values 128h + 32k + 16g ..
          s[k] = _mm_add_epi32(_mm_madd_epi16(_mm_and_si128(w[k], low8), load16(xg + 32 * k)),
                               _mm_madd_epi16(_mm_srli_epi16(w[k], 8), load16(xg + 32 * k + 8)));
        }
        // |s[k]| <= 4 * 63 * 127 per lane: they narrow to int16 exactly, two groups to a multiply-add.
        total = _mm_add_epi32(total, _mm_add_epi32(_mm_madd_epi16(_mm_packs_epi32(s[0], s[1]), scales[step][0]),
                                                   _mm_madd_epi16(_mm_packs_epi32(s[2], s[3]), scales[step][1])));
      }
      totals[r] = total;
      std::memcpy(&d[r], &block.d, 2);
    }
    const __m128 scale = _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(d[0], d[1], d[2], d[3])), _mm_set1_ps(dx[b]));
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(sum4(totals[0], totals[1], totals[2], totals[3])), scale));
  }
  _mm_storeu_ps(out, acc);
}

#else  // no SIMD: the references, block by block, on the Q8_K blocks rebuilt from the activations

BlockQ8_K q8_K_block(const KActivations& x, int t, int64_t b) {
  BlockQ8_K block;
  std::memcpy(block.qs, x.values(t) + b * kQK, kQK);
  std::memcpy(block.bsums, x.sums16(t) + b * 16, sizeof(block.bsums));
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
    const BlockQ8_K xb = q8_K_block(x, t, b);
    for (int r = 0; r < 4; r++) acc[r] = k4_accumulate(acc[r], rows[r] + size_t(b) * bytes, Five, xb);
  }
  std::memcpy(out, acc, sizeof(acc));
}

void q6_tile(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const KActivations& x = *a.q8k;
  const int64_t nb = a.cols / kQK;
  float acc[4] = {};
  for (int64_t b = 0; b < nb; b++) {
    const BlockQ8_K xb = q8_K_block(x, t, b);
    for (int r = 0; r < 4; r++) acc[r] = q6_accumulate(acc[r], reinterpret_cast<const BlockQ6_K*>(rows[r])[b], xb);
  }
  std::memcpy(out, acc, sizeof(acc));
}

#endif

}  // namespace

// ---------------------------------------------------------------------------------------------
// Prefill: each group of rows widened once per batch, then tiles of several tokens (see tile.h)
//
// The decode tiles above unpack every block again for each token. A batch runs all its tokens
// through each group of kKWideRows neighbouring rows, so here the group's blocks are unpacked once
// (widen_k4, widen_q6) into int16 weights that already carry their sub-block's (Q6_K: group's)
// integer scale, Q6_K's offset of 32 taken off first, in the order of the activations' pairs
// (KActivations::pairs: per 16 values, the 8 at even places, then the 8 at odd ones). A tile of
// kKWideRows rows x kKWideTokens tokens is then one i32x4.dot_i16x8 (pmaddwd) and one add per 8
// weights, row and token, and a few float steps per block. Exact integers throughout:
//   |q * sc| <= 31 * 63 (Q5_K) and |(q - 32) * sc| <= 32 * 128 (Q6_K) fit int16; an int32 lane
//   adds 64 products of such a weight by |x| <= 127 per block: < 2^26.
// So a block's total is the integer the decode tiles and the references compute (the sum over
// sub-blocks of scale times dot; Q6_K's -32 * sum(scale * x) folded into the weights), and the
// float steps per block are theirs, in their order: a token's results are the same bits whatever
// the batch, natively and in wasm.
//
// The widened group (KWideGroup), for nb = cols / 256 blocks:
//   values  int16 [cols/8][row][8] the scaled weights, in pair order; each step's 8 values of the
//                                  4 rows side by side, so that one pointer reaches all four
//   d       float [block][row]     d
//   dmin    float [block][row]     dmin                                (Q4_K, Q5_K)
//   mins    int16 [block][row][8]  the sub-blocks' 6-bit mins, against  (Q4_K, Q5_K)
//                                  KActivations::sums32
// ---------------------------------------------------------------------------------------------

namespace {

#if defined(__SSE4_1__)

constexpr int kKWideRows = 4, kKWideTokens = 2;

// Where the parts of a widened group of rows of `cols` values start, in bytes (values at 0).
struct KWideGroup {
  explicit KWideGroup(int64_t cols)
      : nb(cols / kQK),
        d(size_t(kKWideRows) * size_t(cols) * sizeof(int16_t)),
        dmin(d + size_t(kKWideRows) * size_t(nb) * sizeof(float)),
        mins(dmin + size_t(kKWideRows) * size_t(nb) * sizeof(float)),
        end(mins + size_t(kKWideRows) * size_t(nb) * 8 * sizeof(int16_t)) {}
  int64_t nb;
  size_t d, dmin, mins, end;
};

uint64_t k_widened_bytes(int64_t cols) { return KWideGroup(cols).end; }

// Stores eight even-place and eight odd-place weights (int16) times `scale` as values at .. at + 15
// of a widened row (`row`: where its value 0 goes; see KWideGroup).
inline void store_scaled(int16_t* row, int at, __m128i even, __m128i odd, int scale) {
  const __m128i s = _mm_set1_epi16(int16_t(scale));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(row + at / 8 * (8 * kKWideRows)), _mm_mullo_epi16(even, s));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(row + (at / 8 + 1) * (8 * kKWideRows)), _mm_mullo_epi16(odd, s));
}

// The bytes of a block read as 16-bit lanes: lane i of 16 bytes at l0 holds those of values l0 + 2i
// (low byte: an even place) and l0 + 2i + 1 (high byte: odd). Every shift below is a constant
// (wasm's shifts by a variable amount cost V8 several instructions each): each step of a loop over
// sub-blocks shifts its copy of the high bits on by a constant instead.

// Q4_K / Q5_K: sub-blocks 2c and 2c + 1 hold the low and high nibbles of qs[32c + l]; Q5_K's bit 4 of
// value l of sub-block s is bit s of qh[l].
template <bool Five>
void widen_k4(const uint8_t* const* rows, int64_t cols, uint8_t* scratch, const uint8_t** widened) {
  constexpr size_t kBytes = Five ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  const KWideGroup g(cols);
  int16_t* values = reinterpret_cast<int16_t*>(scratch);
  float* ds = reinterpret_cast<float*>(scratch + g.d);
  float* dmins = reinterpret_cast<float*>(scratch + g.dmin);
  int16_t* mins = reinterpret_cast<int16_t*>(scratch + g.mins);
  const __m128i low4 = _mm_set1_epi16(0x0f), bit4 = _mm_set1_epi16(0x10);
  for (int r = 0; r < kKWideRows; r++) {
    widened[r] = scratch;  // one group for all the rows: see k_wide_tile
    for (int64_t b = 0; b < g.nb; b++) {
      const uint8_t* block = rows[r] + size_t(b) * kBytes;
      const uint8_t* qs = block + (Five ? 48 : 16);
      const size_t at = size_t(b) * kKWideRows + size_t(r);
      uint16_t d, dmin;
      std::memcpy(&d, block, 2), std::memcpy(&dmin, block + 2, 2);
      ds[at] = fp16_to_fp32(d), dmins[at] = fp16_to_fp32(dmin);
      int sc[8], m[8];
      for (int s = 0; s < 8; s++) k4_scale_min(block + 4, s, &sc[s], &m[s]), mins[at * 8 + size_t(s)] = int16_t(m[s]);
      int16_t* out = values + b * kQK * kKWideRows + 8 * r;
      for (int h = 0; h < 2; h++) {  // values 16h .. 16h + 15 of each sub-block
        __m128i qh = Five ? load16(block + 16 + 16 * h) : _mm_setzero_si128();  // shifted right by s at sub-block s
        RINGLM_NO_UNROLL
        for (int c = 0; c < 4; c++) {
          const __m128i v = load16(qs + 32 * c + 16 * h);
          __m128i even0 = _mm_and_si128(v, low4), odd0 = _mm_and_si128(_mm_srli_epi16(v, 8), low4);
          __m128i even1 = _mm_and_si128(_mm_srli_epi16(v, 4), low4), odd1 = _mm_srli_epi16(v, 12);
          if constexpr (Five) {
            even0 = _mm_or_si128(even0, _mm_and_si128(_mm_slli_epi16(qh, 4), bit4));
            odd0 = _mm_or_si128(odd0, _mm_and_si128(_mm_srli_epi16(qh, 4), bit4));
            even1 = _mm_or_si128(even1, _mm_and_si128(_mm_slli_epi16(qh, 3), bit4));
            odd1 = _mm_or_si128(odd1, _mm_and_si128(_mm_srli_epi16(qh, 5), bit4));
            qh = _mm_srli_epi16(qh, 2);
          }
          store_scaled(out, 64 * c + 16 * h, even0, odd0, sc[2 * c]);
          store_scaled(out, 64 * c + 32 + 16 * h, even1, odd1, sc[2 * c + 1]);
        }
      }
    }
  }
}

// Q6_K: values 32k + l of half h (l = 16g .. 16g + 15: group 8h + 2k + g) take the low (k < 2) or
// high nibble of ql[64h + 32(k % 2) + l] and bits 2k, 2k + 1 of qh[32h + l].
void widen_q6(const uint8_t* const* rows, int64_t cols, uint8_t* scratch, const uint8_t** widened) {
  const KWideGroup g(cols);
  int16_t* values = reinterpret_cast<int16_t*>(scratch);
  float* ds = reinterpret_cast<float*>(scratch + g.d);
  const __m128i low4 = _mm_set1_epi16(0x0f), top2 = _mm_set1_epi16(0x30), offset = _mm_set1_epi16(32);
  for (int r = 0; r < kKWideRows; r++) {
    widened[r] = scratch;
    for (int64_t b = 0; b < g.nb; b++) {
      const BlockQ6_K& block = reinterpret_cast<const BlockQ6_K*>(rows[r])[b];
      ds[size_t(b) * kKWideRows + size_t(r)] = fp16_to_fp32(block.d);
      int16_t* out = values + b * kQK * kKWideRows + 8 * r;
      for (int h = 0; h < 2; h++) {
        RINGLM_NO_UNROLL
        for (int gi = 0; gi < 2; gi++) {
          const __m128i v0 = load16(block.ql + 64 * h + 16 * gi), v1 = load16(block.ql + 64 * h + 32 + 16 * gi);
          const __m128i nibbles[4] = {v0, v1, _mm_srli_epi16(v0, 4), _mm_srli_epi16(v1, 4)};  // k = 0..3, in bits 0-3 and 8-11
          __m128i qh = load16(block.qh + 32 * h + 16 * gi);  // shifted right by 2k at k
          for (int k = 0; k < 4; k++, qh = _mm_srli_epi16(qh, 2)) {
            const __m128i even = _mm_or_si128(_mm_and_si128(nibbles[k], low4), _mm_and_si128(_mm_slli_epi16(qh, 4), top2));
            const __m128i odd = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(nibbles[k], 8), low4), _mm_and_si128(_mm_srli_epi16(qh, 4), top2));
            store_scaled(out, 128 * h + 32 * k + 16 * gi, _mm_sub_epi16(even, offset), _mm_sub_epi16(odd, offset),
                         block.scales[8 * h + 2 * k + gi]);
          }
        }
      }
    }
  }
}

// out[r * 2 + t] for the widened group's 4 rows and tokens t0, t0 + 1; Mins: Q4_K / Q5_K.
template <bool Mins>
void k_wide_tile(const uint8_t* const* widened, const Activations& a, int t0, float* out) {
  static_assert(kKWideRows == 4 && kKWideTokens == 2, "the lanes below are 4 rows x 2 tokens");
  const KActivations& x = *a.q8k;
  const int64_t cols = a.cols;
  const KWideGroup g(cols);
  const int16_t* values = reinterpret_cast<const int16_t*>(widened[0]);
  const float* ds = reinterpret_cast<const float*>(widened[0] + g.d);
  const float* dmins = reinterpret_cast<const float*>(widened[0] + g.dmin);
  const int16_t* mins = reinterpret_cast<const int16_t*>(widened[0] + g.mins);
  const int u0 = a.token(t0, 0), u1 = a.token(t0, 1);
  const int16_t *x0 = x.pairs(u0), *x1 = x.pairs(u1);
  const float *dx0 = x.scales(u0), *dx1 = x.scales(u1);
  const int16_t *sums0 = x.sums32(u0), *sums1 = x.sums32(u1);
  __m128 acc0 = _mm_setzero_ps(), acc1 = _mm_setzero_ps();  // lanes r0t0 r0t1 r1t0 r1t1 | r2t0 r2t1 r3t0 r3t1
  RINGLM_NO_UNROLL
  for (int64_t b = 0; b < g.nb; b++) {
    const int16_t* w = values + b * kQK * kKWideRows;
    const int16_t *xa = x0 + b * kQK, *xb = x1 + b * kQK;
    __m128i dot[8];  // [r * 2 + t]
    {
      const __m128i p = load16(xa), q = load16(xb);
      for (int r = 0; r < 4; r++) {
        const __m128i wr = load16(w + 8 * r);
        dot[2 * r] = _mm_madd_epi16(wr, p);
        dot[2 * r + 1] = _mm_madd_epi16(wr, q);
      }
    }
    // 8 weights per step: six loads and eight multiply-adds fit V8's registers.
    RINGLM_NO_UNROLL
    for (int j = 8; j < kQK; j += 8) {
      const __m128i p = load16(xa + j), q = load16(xb + j);
      w += 8 * kKWideRows;
      for (int r = 0; r < 4; r++) {
        const __m128i wr = load16(w + 8 * r);
        dot[2 * r] = _mm_add_epi32(dot[2 * r], _mm_madd_epi16(wr, p));
        dot[2 * r + 1] = _mm_add_epi32(dot[2 * r + 1], _mm_madd_epi16(wr, q));
      }
    }
    const size_t at = size_t(b) * kKWideRows;
    const __m128 dx = _mm_setr_ps(dx0[b], dx1[b], dx0[b], dx1[b]);
    const __m128 dw = _mm_loadu_ps(ds + at);
    acc0 = _mm_add_ps(acc0, _mm_mul_ps(_mm_cvtepi32_ps(sum4(dot[0], dot[1], dot[2], dot[3])),
                                       _mm_mul_ps(_mm_shuffle_ps(dw, dw, _MM_SHUFFLE(1, 1, 0, 0)), dx)));
    acc1 = _mm_add_ps(acc1, _mm_mul_ps(_mm_cvtepi32_ps(sum4(dot[4], dot[5], dot[6], dot[7])),
                                       _mm_mul_ps(_mm_shuffle_ps(dw, dw, _MM_SHUFFLE(3, 3, 2, 2)), dx)));
    if constexpr (Mins) {
      const __m128i s0 = load16(sums0 + 8 * b), s1 = load16(sums1 + 8 * b);
      __m128i m[8];
      for (int r = 0; r < 4; r++) {
        const __m128i mr = load16(mins + (at + size_t(r)) * 8);
        m[2 * r] = _mm_madd_epi16(mr, s0);
        m[2 * r + 1] = _mm_madd_epi16(mr, s1);
      }
      const __m128 dm = _mm_loadu_ps(dmins + at);
      acc0 = _mm_sub_ps(acc0, _mm_mul_ps(_mm_cvtepi32_ps(sum4(m[0], m[1], m[2], m[3])),
                                         _mm_mul_ps(_mm_shuffle_ps(dm, dm, _MM_SHUFFLE(1, 1, 0, 0)), dx)));
      acc1 = _mm_sub_ps(acc1, _mm_mul_ps(_mm_cvtepi32_ps(sum4(m[4], m[5], m[6], m[7])),
                                         _mm_mul_ps(_mm_shuffle_ps(dm, dm, _MM_SHUFFLE(3, 3, 2, 2)), dx)));
    }
  }
  _mm_storeu_ps(out, acc0);
  _mm_storeu_ps(out + 4, acc1);
}

#endif

}  // namespace

// ---------------------------------------------------------------------------------------------
// Q4_K repacked at load: 4 rows interleaved (see quant.h, repack_q4_K)
//
// One 16-byte load of weights serves all four rows of a group against one load of activations
// (KActivations::pairs): row 0 is `and 0x000f`, row 3 `shr 12`, rows 1 and 2 are masked in place
// (16 q and 256 q) and their int32 sums shifted back once per sub-block (exact: multiples of 16 and
// 256). A sub-block's int32 lanes (8 products of at most 15 x 127, before that shift) narrow to int16
// exactly, and two rows meet their 6-bit scales in one multiply-add; the scales need one scalar
// mask per sub-block, where the file's layout costs some 30 scalar steps per row and block. The mins
// meet the activations' sums32 once per block. Measured in docs/BENCHMARKS.md ("Repacking Q4_K at
// load: measured"): V8 runs about 1.5x fewer instructions per weight than k4_tile_lanes.
// ---------------------------------------------------------------------------------------------

namespace {

// One block of a group of 4 rows: the four rows' blocks b, in their 576 bytes.
struct Q4_KRows4 {
  uint16_t d[4], dmin[4];  // f16, as in the file
  uint8_t scales[32];      // 4s + r: sub-block s of row r, bits 0-5 its scale, bits 6-7 bits 4-5 of its min
  uint8_t mins[16];        // nibble 4s + r (low nibble first): bits 0-3 of that min
  uint8_t qs[32][16];      // [j] lane i, bits 4r .. 4r+3: row r's value 16(j/2) + 2i + j%2 (pair vector j)
};
static_assert(sizeof(Q4_KRows4) == 4 * sizeof(BlockQ4_K), "a group takes the bytes of its four rows");

// The 6-bit scale and min of sub-block s of row r.
inline void rows4_scale_min(const Q4_KRows4& g, int s, int r, int* sc, int* m) {
  const int k = 4 * s + r;
  *sc = g.scales[k] & 0x3f;
  *m = ((g.mins[k / 2] >> (4 * (k % 2))) & 0x0f) | (g.scales[k] >> 6) << 4;
}

}  // namespace

void repack_q4_K(uint8_t* data, int64_t rows, int64_t cols, std::vector<uint8_t>& temp) {
  const int64_t nb = cols / kQK;
  const size_t row_bytes = size_t(nb) * sizeof(BlockQ4_K);
  temp.resize(4 * row_bytes);
  for (int64_t g = 0; g + 4 <= rows; g += 4) {
    uint8_t* group = data + size_t(g) * row_bytes;
    std::memcpy(temp.data(), group, 4 * row_bytes);
    for (int64_t b = 0; b < nb; b++) {
      Q4_KRows4 o;
      std::memset(&o, 0, sizeof(o));
      uint8_t q[4][kQK];
      for (int r = 0; r < 4; r++) {
        const BlockQ4_K& w = reinterpret_cast<const BlockQ4_K*>(temp.data() + size_t(r) * row_bytes)[b];
        o.d[r] = w.d, o.dmin[r] = w.dmin;
        for (int s = 0; s < 8; s++) {
          int sc, m;
          k4_scale_min(w.scales, s, &sc, &m);
          const int k = 4 * s + r;
          o.scales[k] = uint8_t(sc | (m >> 4) << 6);
          o.mins[k / 2] |= uint8_t((m & 0x0f) << (4 * (k % 2)));
        }
        // The row's values in order: bytes 32c + l hold values 64c + l (low nibble) and 64c + 32 + l.
        for (int c = 0; c < 4; c++) {
          for (int l = 0; l < 32; l++) q[r][64 * c + l] = w.qs[32 * c + l] & 0x0f, q[r][64 * c + 32 + l] = w.qs[32 * c + l] >> 4;
        }
      }
      // Pair vectors 2h and 2h + 1: values 16h + 2i and 16h + 2i + 1 of the four rows, row r in bits 4r .. 4r + 3.
#if defined(__SSE4_1__)
      for (int h = 0; h < 16; h++) {
        __m128i even = _mm_setzero_si128(), odd = _mm_setzero_si128();
        for (int r = 0; r < 4; r++) {
          const __m128i v = sse::load16(q[r] + 16 * h), shift = _mm_cvtsi32_si128(4 * r);
          even = _mm_or_si128(even, _mm_sll_epi16(_mm_and_si128(v, _mm_set1_epi16(0x00ff)), shift));
          odd = _mm_or_si128(odd, _mm_sll_epi16(_mm_srli_epi16(v, 8), shift));
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o.qs[2 * h]), even);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o.qs[2 * h + 1]), odd);
      }
#else
      for (int j = 0; j < 32; j++) {
        for (int i = 0; i < 8; i++) {
          for (int r = 0; r < 4; r++) o.qs[j][2 * i + r / 2] |= uint8_t(q[r][16 * (j / 2) + 2 * i + j % 2] << (4 * (r % 2)));
        }
      }
#endif
      std::memcpy(group + size_t(b) * sizeof(Q4_KRows4), &o, sizeof(o));
    }
  }
}

void unpack_q4_K_group(const uint8_t* group, int64_t cols, uint8_t* rows4) {
  const int64_t nb = cols / kQK;
  for (int64_t b = 0; b < nb; b++) {
    Q4_KRows4 g;
    std::memcpy(&g, group + size_t(b) * sizeof(g), sizeof(g));
    for (int r = 0; r < 4; r++) {
      BlockQ4_K w;
      std::memset(&w, 0, sizeof(w));
      w.d = g.d[r], w.dmin = g.dmin[r];
      for (int s = 0; s < 8; s++) {  // k4_scale_min backwards
        int sc, m;
        rows4_scale_min(g, s, r, &sc, &m);
        if (s < 4) {
          w.scales[s] = uint8_t(sc | (w.scales[s] & 0xc0)), w.scales[s + 4] = uint8_t(m | (w.scales[s + 4] & 0xc0));
        } else {
          w.scales[s + 4] = uint8_t((sc & 0x0f) | (m & 0x0f) << 4);
          w.scales[s - 4] = uint8_t(w.scales[s - 4] | (sc >> 4) << 6), w.scales[s] = uint8_t(w.scales[s] | (m >> 4) << 6);
        }
      }
      for (int j = 0; j < 32; j++) {
        for (int i = 0; i < 8; i++) {
          const int v = 16 * (j / 2) + 2 * i + j % 2, s = v / 32;
          const int q = (g.qs[j][2 * i + r / 2] >> (4 * (r % 2))) & 0x0f;
          w.qs[32 * (s / 2) + v % 32] |= uint8_t(q << (4 * (s % 2)));
        }
      }
      std::memcpy(rows4 + (size_t(r) * size_t(nb) + size_t(b)) * sizeof(w), &w, sizeof(w));
    }
  }
}

namespace {

#if defined(__SSE4_1__)

// out[r] = row r . token t for the group of 4 rows at rows[0] (the tiling loop's first row of a tile).
void k4_rows4_tile(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const KActivations& x = *a.q8k;
  const int64_t nb = a.cols / kQK;
  const Q4_KRows4* group = reinterpret_cast<const Q4_KRows4*>(rows[0]);
  const int16_t* q = x.pairs(t);
  const float* dx = x.scales(t);
  const int16_t* sums = x.sums32(t);
  const __m128i m0 = _mm_set1_epi16(0x000f), m1 = _mm_set1_epi16(0x00f0), m2 = _mm_set1_epi16(0x0f00);
  const __m128i low4 = _mm_set1_epi8(0x0f), bits45 = _mm_set1_epi8(0x30), zero = _mm_setzero_si128();
  __m128 acc = _mm_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const Q4_KRows4& g = group[b];
    const int16_t* xb = q + b * kQK;
    __m128i t01 = _mm_setzero_si128(), t23 = _mm_setzero_si128();  // lanes: row 0, 0, 1, 1 | row 2, 2, 3, 3
    RINGLM_NO_UNROLL
    for (int s = 0; s < 8; s++) {  // values 32s .. 32s + 31 of the four rows: pair vectors 4s .. 4s + 3
      const uint8_t* w = g.qs[4 * s];
      const int16_t* xs = xb + 32 * s;
      __m128i a0, a1, a2, a3;
      {
        const __m128i v = load16(w), p = load16(xs);
        a0 = _mm_madd_epi16(_mm_and_si128(v, m0), p), a1 = _mm_madd_epi16(_mm_and_si128(v, m1), p);
        a2 = _mm_madd_epi16(_mm_and_si128(v, m2), p), a3 = _mm_madd_epi16(_mm_srli_epi16(v, 12), p);
      }
      for (int k = 1; k < 4; k++) {
        const __m128i v = load16(w + 16 * k), p = load16(xs + 8 * k);
        a0 = _mm_add_epi32(a0, _mm_madd_epi16(_mm_and_si128(v, m0), p));
        a1 = _mm_add_epi32(a1, _mm_madd_epi16(_mm_and_si128(v, m1), p));
        a2 = _mm_add_epi32(a2, _mm_madd_epi16(_mm_and_si128(v, m2), p));
        a3 = _mm_add_epi32(a3, _mm_madd_epi16(_mm_srli_epi16(v, 12), p));
      }
      uint32_t sc4;  // the four rows' scales of sub-block s
      std::memcpy(&sc4, g.scales + 4 * s, 4);
      __m128i sc = _mm_cvtepu8_epi16(_mm_cvtsi32_si128(int32_t(sc4 & 0x3f3f3f3f)));  // r0 r1 r2 r3 0 0 0 0
      sc = _mm_unpacklo_epi16(sc, sc);                                                   // r0 r0 r1 r1 r2 r2 r3 r3
      t01 = _mm_add_epi32(t01, _mm_madd_epi16(_mm_packs_epi32(a0, _mm_srai_epi32(a1, 4)), _mm_unpacklo_epi32(sc, sc)));
      t23 = _mm_add_epi32(t23, _mm_madd_epi16(_mm_packs_epi32(_mm_srai_epi32(a2, 8), a3), _mm_unpackhi_epi32(sc, sc)));
    }
    const __m128 f01 = _mm_castsi128_ps(t01), f23 = _mm_castsi128_ps(t23);
    const __m128i total = _mm_add_epi32(_mm_castps_si128(_mm_shuffle_ps(f01, f23, _MM_SHUFFLE(2, 0, 2, 0))),
                                        _mm_castps_si128(_mm_shuffle_ps(f01, f23, _MM_SHUFFLE(3, 1, 3, 1))));
    // The mins as bytes 4s + r (s < 4, then s >= 4), then per two sub-blocks s, s + 1 the lanes
    // (min of s, min of s + 1) of each row against (sums32[s], sums32[s + 1]).
    const __m128i nibbles = load16(g.mins), sc_lo = load16(g.scales), sc_hi = load16(g.scales + 16);
    const __m128i even = _mm_and_si128(nibbles, low4), odd = _mm_and_si128(_mm_srli_epi16(nibbles, 4), low4);
    const __m128i mins_lo = _mm_or_si128(_mm_unpacklo_epi8(even, odd), _mm_and_si128(_mm_srli_epi16(sc_lo, 2), bits45));
    const __m128i mins_hi = _mm_or_si128(_mm_unpackhi_epi8(even, odd), _mm_and_si128(_mm_srli_epi16(sc_hi, 2), bits45));
    const __m128i xsums = load16(sums + 8 * b);
    const auto two = [&](__m128i m, __m128i xs) {  // m: int16 mins of sub-blocks s (lanes 0-3) and s + 1 (4-7)
      return _mm_madd_epi16(_mm_unpacklo_epi16(m, _mm_unpackhi_epi64(m, m)), xs);
    };
    const __m128i mins = _mm_add_epi32(
        _mm_add_epi32(two(_mm_cvtepu8_epi16(mins_lo), _mm_shuffle_epi32(xsums, 0x00)),
                      two(_mm_unpackhi_epi8(mins_lo, zero), _mm_shuffle_epi32(xsums, 0x55))),
        _mm_add_epi32(two(_mm_cvtepu8_epi16(mins_hi), _mm_shuffle_epi32(xsums, 0xaa)),
                      two(_mm_unpackhi_epi8(mins_hi, zero), _mm_shuffle_epi32(xsums, 0xff))));
    const __m128 vdx = _mm_set1_ps(dx[b]);
    const __m128 d = f16x4_to_f32x4(_mm_cvtepu16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(g.d))));
    const __m128 dmin = f16x4_to_f32x4(_mm_cvtepu16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(g.dmin))));
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(total), _mm_mul_ps(d, vdx)));
    acc = _mm_sub_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(mins), _mm_mul_ps(dmin, vdx)));
  }
  _mm_storeu_ps(out, acc);
}

// Prefill: a group widened as widen_k4 widens the file's rows (the same KWideGroup, read by
// k_wide_tile): the pair vectors are already in the activations' order.
void widen_q4_K_rows4(const uint8_t* const* rows, int64_t cols, uint8_t* scratch, const uint8_t** widened) {
  const KWideGroup g(cols);
  const Q4_KRows4* group = reinterpret_cast<const Q4_KRows4*>(rows[0]);
  int16_t* values = reinterpret_cast<int16_t*>(scratch);
  float* ds = reinterpret_cast<float*>(scratch + g.d);
  float* dmins = reinterpret_cast<float*>(scratch + g.dmin);
  int16_t* mins = reinterpret_cast<int16_t*>(scratch + g.mins);
  const __m128i low4 = _mm_set1_epi16(0x0f);
  for (int r = 0; r < kKWideRows; r++) widened[r] = scratch;
  for (int64_t b = 0; b < g.nb; b++) {
    const Q4_KRows4& blk = group[b];
    int sc[8][4];
    for (int r = 0; r < 4; r++) {
      const size_t at = size_t(b) * kKWideRows + size_t(r);
      ds[at] = fp16_to_fp32(blk.d[r]), dmins[at] = fp16_to_fp32(blk.dmin[r]);
      for (int s = 0; s < 8; s++) {
        int m;
        rows4_scale_min(blk, s, r, &sc[s][r], &m);
        mins[at * 8 + size_t(s)] = int16_t(m);
      }
    }
    int16_t* out = values + b * kQK * kKWideRows;
    for (int j = 0; j < 32; j++) {
      const __m128i v = load16(blk.qs[j]);
      const __m128i q[4] = {_mm_and_si128(v, low4), _mm_and_si128(_mm_srli_epi16(v, 4), low4),
                            _mm_and_si128(_mm_srli_epi16(v, 8), low4), _mm_srli_epi16(v, 12)};
      for (int r = 0; r < 4; r++) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j * 8 * kKWideRows + 8 * r),
                         _mm_mullo_epi16(q[r], _mm_set1_epi16(int16_t(sc[j / 4][r]))));
      }
    }
  }
}

void q4_K_rows4_decode(const uint8_t* w, size_t row_bytes, int64_t rows, int64_t cols, const Activations& x, float* y,
                       int64_t y_stride, bool, uint8_t* scratch) {
  const int64_t grouped = rows / 4 * 4;  // the rows past the last group of 4 keep the file's layout
  for_each_tile<4, 1, k4_rows4_tile, nullptr>(w, row_bytes, grouped, cols, x, y, y_stride, false, scratch);
  if (grouped < rows) kQ4_KTile.run(w + size_t(grouped) * row_bytes, row_bytes, rows - grouped, cols, x, y + grouped, y_stride, true, scratch);
}

void q4_K_rows4_prefill(const uint8_t* w, size_t row_bytes, int64_t rows, int64_t cols, const Activations& x, float* y,
                        int64_t y_stride, bool, uint8_t* scratch) {
  static_assert(kKWideRows == 4, "a widened group is a repacked group");
  const int64_t grouped = rows / 4 * 4;
  for_each_tile<kKWideRows, kKWideTokens, k_wide_tile<true>, widen_q4_K_rows4>(w, row_bytes, grouped, cols, x, y, y_stride,
                                                                               false, scratch);
  if (grouped < rows) kQ4_KPrefill.run(w + size_t(grouped) * row_bytes, row_bytes, rows - grouped, cols, x, y + grouped, y_stride, false, scratch);
}

#endif

}  // namespace

#if defined(__wasm_simd128__)
const TileKernel kQ4_KTile = tile_kernel<4, 1, k4_tile_lanes>();
const TileKernel kQ6_KTile = tile_kernel<4, 1, q6_tile_lanes>();
#else
const TileKernel kQ4_KTile = tile_kernel<4, 1, k4_tile<false>>();
const TileKernel kQ6_KTile = tile_kernel<4, 1, q6_tile>();
#endif
const TileKernel kQ5_KTile = tile_kernel<4, 1, k4_tile<true>>();

#if defined(__SSE4_1__)
const TileKernel kQ4_KPrefill = tile_kernel<kKWideRows, kKWideTokens, k_wide_tile<true>, widen_k4<false>>(k_widened_bytes);
const TileKernel kQ5_KPrefill = tile_kernel<kKWideRows, kKWideTokens, k_wide_tile<true>, widen_k4<true>>(k_widened_bytes);
const TileKernel kQ6_KPrefill = tile_kernel<kKWideRows, kKWideTokens, k_wide_tile<false>, widen_q6>(k_widened_bytes);
const TileKernel kQ4_KRepackedDecode = {4, 1, nullptr, q4_K_rows4_decode};
const TileKernel kQ4_KRepackedPrefill = {kKWideRows, kKWideTokens, k_widened_bytes, q4_K_rows4_prefill};
#else
const TileKernel kQ4_KPrefill = kQ4_KTile, kQ5_KPrefill = kQ5_KTile, kQ6_KPrefill = kQ6_KTile;
#endif

}  // namespace ringlm
