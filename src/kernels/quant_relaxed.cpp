// quant_relaxed.cpp — the relaxed-SIMD build's decode kernels for Q4_0, Q4_K, Q5_K and Q6_K (wasm only).
//
// wasm SIMD128 has no multiply of bytes by bytes that V8 compiles well (quant_k.cpp's kernels go
// through int16 lanes instead). Relaxed SIMD's i16x8.relaxed_dot_i8x16_i7x16_s is SSSE3's maddubs:
// sixteen products of a signed byte and a 7-bit byte, added in neighbouring pairs to eight int16
// lanes, one instruction in V8. Its result is implementation-defined only where the second
// operand's top bit is set or a pair's sum leaves int16; here the second operand is always a
// weight of 0..63 (Q4_0's and Q4_K's nibbles, Q5_K's 5-bit and Q6_K's 6-bit values before their
// offset / mins, which meet the activations' sums separately) and the first a Q8_0 or Q8_K
// activation (-127..127), so each lane is exactly w[2i] * x[2i] + w[2i+1] * x[2i+1], |lane| <=
// 2 * 63 * 127 < 2^15, the same on every engine. (Q8_0's weights, -128..127, are signed as its
// activations are: neither fits the 7-bit operand, and docs/BENCHMARKS.md's relaxed section says
// why no exact rewrite pays.) The kernels below sum those lanes exactly as quant_k.cpp's native
// kernels sum maddubs's (and Q4_0 as quant.cpp's kernel sums its products), so the integer totals
// and then the float steps per block are the scalar references': the relaxed build computes the
// same bits as the default build and as native.
//
// Emscripten 3.1.6's clang cannot emit the instruction (docs/TOOLCHAIN.md says what was
// tried): the kernels call a marker imported from `ringlm_relaxed_simd`, and tools/relaxed-simd.mjs
// replaces each call by the instruction after the link. (The i32x4 form with an add,
// i32x4.relaxed_dot_i8x16_i7x16_add_s, is not used: Node 20's baseline compiler, Liftoff, computes
// it wrongly, measured.)
//
// The loops follow quant_k.cpp's wasm kernels (see k4_tile_lanes): V8 has 15 vector registers and
// issues a loop body's loads first, so a row's whole block unrolled would spill; each step loads
// only what it multiplies.
#if !defined(__wasm_simd128__) || !defined(RINGLM_RELAXED_SIMD)
#error "quant_relaxed.cpp belongs to the relaxed-SIMD wasm build only (RINGLM_RELAXED_SIMD)"
#endif

#include <wasm_simd128.h>

#include <cstring>

#include "kernels/quant.h"
#include "kernels/quant_internal.h"
#include "kernels/tile.h"

// The marker: a call that tools/relaxed-simd.mjs turns into the instruction of the same name.
// `const`: it reads and writes no memory, so the compiler may schedule and merge calls as it
// would the instruction.
extern "C" __attribute__((import_module("ringlm_relaxed_simd"), import_name("i16x8_relaxed_dot_i8x16_i7x16_s"), const))
v128_t ringlm_i16x8_relaxed_dot_i8x16_i7x16_s(v128_t a, v128_t b);

namespace ringlm {

namespace {

using sse::f16x4_to_f32x4;
using sse::load16;
using sse::q6_block_scales;
using sse::sum4;

#define RINGLM_NO_UNROLL _Pragma("clang loop unroll(disable)")

// Lane i: x[2i] * w[2i] + x[2i+1] * w[2i+1], for int8 activations x and weights w in 0..63: exact.
inline __m128i dot_pairs(__m128i w, __m128i x) {
  return (__m128i)ringlm_i16x8_relaxed_dot_i8x16_i7x16_s((v128_t)x, (v128_t)w);
}

// Lane J of eight int16 values s, in every lane.
template <int J>
inline __m128i splat16(__m128i s) {
  return (__m128i)wasm_i16x8_shuffle((v128_t)s, (v128_t)s, J, J, J, J, J, J, J, J);
}

// Q4_K (Five = false) and Q5_K: per block and row, the 8 sub-blocks' scales and mins unpacked
// from their 12 bytes (see k4_scale_min); then per step c, sub-blocks 2c and 2c + 1: bytes
// 32c + l hold value l of 2c (low nibble) and of 2c + 1 (high nibble), and Q5_K's bits 2c and
// 2c + 1 of qh[l] are their bit 4. A sub-block's int16 lanes hold 4 products of at most 31 * 127:
// exact; one multiply-add by its scale widens them to int32.
template <bool Five>
void k4_tile(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const KActivations& x = *a.q8k;
  const int64_t nb = a.cols / kQK;
  constexpr size_t kBytes = Five ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  const int8_t* q = x.values(t);
  const float* dx = x.scales(t);
  const int16_t* sums = x.sums32(t);
  const __m128i low4 = _mm_set1_epi8(0x0f), bit4 = _mm_set1_epi8(0x10);
  __m128 acc = _mm_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m128i totals[4], mins[4];
    const __m128i xsums = load16(sums + 8 * b);
    uint16_t d[4], dmin[4];
    RINGLM_NO_UNROLL
    for (int r = 0; r < 4; r++) {
      const uint8_t* block = rows[r] + size_t(b) * kBytes;
      uint32_t a0, a1, a2;  // the 12 scale bytes; see k4_scale_min
      std::memcpy(&a0, block + 4, 4), std::memcpy(&a1, block + 8, 4), std::memcpy(&a2, block + 12, 4);
      const uint32_t m_lo = a1 & 0x3f3f3f3f, m_hi = ((a2 >> 4) & 0x0f0f0f0f) | ((a1 >> 2) & 0x30303030);
      const uint32_t sc_lo = a0 & 0x3f3f3f3f, sc_hi = (a2 & 0x0f0f0f0f) | ((a0 >> 2) & 0x30303030);
      mins[r] = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_setr_epi32(int32_t(m_lo), int32_t(m_hi), 0, 0)), xsums);
      const __m128i sc = _mm_cvtepu8_epi16(_mm_setr_epi32(int32_t(sc_lo), int32_t(sc_hi), 0, 0));
      // The scales of sub-blocks 2c (lanes 0..3) and 2c + 1 (lanes 4..7), for c = 0..3.
      const __m128i lo = _mm_unpacklo_epi16(sc, sc), hi = _mm_unpackhi_epi16(sc, sc);
      const __m128i pair_scales[4] = {_mm_unpacklo_epi32(lo, lo), _mm_unpackhi_epi32(lo, lo), _mm_unpacklo_epi32(hi, hi),
                                      _mm_unpackhi_epi32(hi, hi)};
      const uint8_t* qs = block + (Five ? 48 : 16);
      const int8_t* xc = q + b * kQK;
      __m128i h0 = _mm_setzero_si128(), h1 = _mm_setzero_si128();
      if constexpr (Five) h0 = load16(block + 16), h1 = load16(block + 32);
      __m128i total = _mm_setzero_si128();
      RINGLM_NO_UNROLL
      for (int c = 0; c < 4; c++, qs += 32, xc += 64) {
        const __m128i v0 = load16(qs), v1 = load16(qs + 16);
        __m128i lo0 = _mm_and_si128(v0, low4), lo1 = _mm_and_si128(v1, low4);
        __m128i hi0 = _mm_and_si128(_mm_srli_epi16(v0, 4), low4), hi1 = _mm_and_si128(_mm_srli_epi16(v1, 4), low4);
        if constexpr (Five) {  // bit 2c of qh[l] to bit 4 of lo, bit 2c + 1 to bit 4 of hi; h shifted along
          lo0 = _mm_or_si128(lo0, _mm_and_si128(_mm_slli_epi16(h0, 4), bit4));
          lo1 = _mm_or_si128(lo1, _mm_and_si128(_mm_slli_epi16(h1, 4), bit4));
          hi0 = _mm_or_si128(hi0, _mm_and_si128(_mm_slli_epi16(h0, 3), bit4));
          hi1 = _mm_or_si128(hi1, _mm_and_si128(_mm_slli_epi16(h1, 3), bit4));
          h0 = _mm_srli_epi16(h0, 2), h1 = _mm_srli_epi16(h1, 2);
        }
        const __m128i s_lo = _mm_add_epi16(dot_pairs(lo0, load16(xc)), dot_pairs(lo1, load16(xc + 16)));
        const __m128i s_hi = _mm_add_epi16(dot_pairs(hi0, load16(xc + 32)), dot_pairs(hi1, load16(xc + 48)));
        // Both sub-blocks in one vector (lanes 0..3: 2c, 4..7: 2c + 1), pairs of lanes added first:
        // |lane| <= 8 * 31 * 127 < 2^15, exact.
        const __m128i both = _mm_add_epi16(_mm_unpacklo_epi64(s_lo, s_hi), _mm_unpackhi_epi64(s_lo, s_hi));
        total = _mm_add_epi32(total, _mm_madd_epi16(both, pair_scales[c]));
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

// Q6_K: each weight built whole (0..63) in a byte, from the nibble of ql[l] (quarters k = 0, 2 of a
// half: low, high) or ql[32 + l] (k = 1, 3) and bits 2k, 2k + 1 of qh[l] moved above it by a 16-bit
// shift (what a shift carries across bytes lands outside the mask), as quant_k.cpp's kernels do.
// Step (h, g) takes l = 16g .. 16g + 15 of half h: groups 8h + 2k + g, each against its 16
// activations and times its int8 scale. A group's int16 lanes hold 2 products of at most 63 * 127:
// exact. The offset of 32 meets the activations' sums once per block.
void q6_tile(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const KActivations& x = *a.q8k;
  const int64_t nb = a.cols / kQK;
  const int8_t* q = x.values(t);
  const float* dx = x.scales(t);
  const int16_t* sums = x.sums16(t);
  const __m128i low4 = _mm_set1_epi8(0x0f), top2 = _mm_set1_epi8(0x30);
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
        const int8_t* xg = q + b * kQK + 128 * h + 16 * g;
        // Groups 8h + 2k + g against values 128h + 32k + 16g ..: s[k], 8 int16 lanes of 2 products.
        const __m128i s0 = dot_pairs(_mm_or_si128(_mm_and_si128(va, low4), _mm_and_si128(_mm_slli_epi16(vh, 4), top2)), load16(xg));
        const __m128i s1 = dot_pairs(_mm_or_si128(_mm_and_si128(vb, low4), _mm_and_si128(_mm_slli_epi16(vh, 2), top2)), load16(xg + 32));
        const __m128i s2 = dot_pairs(_mm_or_si128(_mm_and_si128(_mm_srli_epi16(va, 4), low4), _mm_and_si128(vh, top2)), load16(xg + 64));
        const __m128i s3 = dot_pairs(_mm_or_si128(_mm_and_si128(_mm_srli_epi16(vb, 4), low4), _mm_and_si128(_mm_srli_epi16(vh, 2), top2)), load16(xg + 96));
        // Two groups to a vector (lanes 0..3, 4..7), neighbouring lanes added first: |lane| <= 4 * 63 * 127 < 2^15.
        const __m128i s01 = _mm_add_epi16(_mm_unpacklo_epi64(s0, s1), _mm_unpackhi_epi64(s0, s1));
        const __m128i s23 = _mm_add_epi16(_mm_unpacklo_epi64(s2, s3), _mm_unpackhi_epi64(s2, s3));
        total = _mm_add_epi32(total, _mm_add_epi32(_mm_madd_epi16(s01, scales[step][0]), _mm_madd_epi16(s23, scales[step][1])));
      }
      totals[r] = total;
      std::memcpy(&d[r], &block.d, 2);
    }
    const __m128 scale = _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(d[0], d[1], d[2], d[3])), _mm_set1_ps(dx[b]));
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(sum4(totals[0], totals[1], totals[2], totals[3])), scale));
  }
  _mm_storeu_ps(out, acc);
}

// Q4_0: 4 rows x 1 token, the integer sums and float steps of quant.cpp's tile<4, 1, true>, so the
// same bits as ref::dot_q4_0. The weights are nibbles 0..15 (weight + 8): the 7-bit operand; the
// sums8 correction takes the 8 back off. The activations are stored as int16 in quant.cpp's
// permuted layout (per half, the even values, then the odd ones; see QuantizedActivations), so each
// block's are put back in order as bytes once and serve the four rows: x_lo = values 0..15 (the
// low nibbles' partners), x_hi = 16..31 (the high nibbles'). Quantized from finite input they are
// in -127..127, and the narrowing is exact. (Input with inf / NaN makes garbage values past int8 in
// every build; the narrowing saturates them, so such logits, garbage anywhere, are not the default
// build's garbage.) A row's int16 lanes then hold 2 products of the dot plus 2 of the other:
// |lane| <= 4 * 15 * 127 = 7620 < 2^15, exact, and one multiply-add by ones widens them to int32.
inline __m128i bytes_in_order(__m128i evens, __m128i odds) {
  return _mm_packs_epi16(_mm_unpacklo_epi16(evens, odds), _mm_unpackhi_epi16(evens, odds));
}

void q4_0_tile(const uint8_t* const* rows, const Activations& a, int t0, float* out) {
  const QuantizedActivations& x = *a.q8;
  const int64_t nb = a.cols / kQ8_0Block;
  const uint8_t *p0 = rows[0], *p1 = rows[1], *p2 = rows[2], *p3 = rows[3];
  const int16_t* q = x.values(t0);
  const int64_t stride = x.n_tokens();
  const float* dx = x.scales(0) + t0;
  const int32_t* sums8 = x.sums8(0) + t0;
  const __m128i low4 = _mm_set1_epi8(0x0f), ones = _mm_set1_epi16(1);
  __m128 acc = _mm_setzero_ps();
  RINGLM_NO_UNROLL
  for (int64_t b = 0; b < nb; b++) {
    const __m128i x_lo = bytes_in_order(load16(q), load16(q + 16)), x_hi = bytes_in_order(load16(q + 8), load16(q + 24));
    const auto dot = [&](const uint8_t* p) {  // qs[j]: value j (low nibble) and value j + 16 (high)
      const __m128i v = load16(p + 2);
      const __m128i s = _mm_add_epi16(dot_pairs(_mm_and_si128(v, low4), x_lo),
                                      dot_pairs(_mm_and_si128(_mm_srli_epi16(v, 4), low4), x_hi));
      return _mm_madd_epi16(s, ones);
    };
    const __m128i s = _mm_sub_epi32(sum4(dot(p0), dot(p1), dot(p2), dot(p3)), _mm_set1_epi32(*sums8));
    uint16_t h0, h1, h2, h3;
    std::memcpy(&h0, p0, 2), std::memcpy(&h1, p1, 2), std::memcpy(&h2, p2, 2), std::memcpy(&h3, p3, 2);
    const __m128 scale = _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(h0, h1, h2, h3)), _mm_set1_ps(*dx));
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(s), scale));
    p0 += sizeof(BlockQ4_0), p1 += sizeof(BlockQ4_0), p2 += sizeof(BlockQ4_0), p3 += sizeof(BlockQ4_0);
    q += kQ8_0Block, dx += stride, sums8 += stride;
  }
  _mm_storeu_ps(out, acc);
}

}  // namespace

const TileKernel kQ4_0RelaxedDecode = tile_kernel<4, 1, q4_0_tile>();
const TileKernel kQ4_KRelaxedDecode = tile_kernel<4, 1, k4_tile<false>>();
const TileKernel kQ5_KRelaxedDecode = tile_kernel<4, 1, k4_tile<true>>();
const TileKernel kQ6_KRelaxedDecode = tile_kernel<4, 1, q6_tile>();

}  // namespace ringlm
