#include "kernels/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/quant_internal.h"
#include "kernels/tile.h"

// Which SIMD code runs. The wasm build and the default native build share the SSE4.1 path:
// Emscripten maps these intrinsics one-to-one onto wasm SIMD128 (i32x4.dot_i16x8, shifts, shuffles,
// convert), and the integer sums are exact and the float steps the same in both, so both builds
// compute the same bits — which is what lets one seed sample the same tokens natively and in a
// browser. (They are also the bits of the scalar references.) A native build for the build
// machine's CPU (-DRINGLM_NATIVE_ARCH=ON) takes the AVX2 path instead: faster, but its sums differ
// in the last bits.
#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__) && !defined(__EMSCRIPTEN__)
#include <immintrin.h>
#define RINGLM_QUANT_AVX2 1
#elif defined(__SSE4_1__)
#include <smmintrin.h>
#define RINGLM_QUANT_SSE41 1
#endif

namespace ringlm {

namespace {
// One block of 32 as llama.cpp's SIMD code (x86, ARM, wasm) quantizes activations: x * (127 / amax),
// rounded to nearest even (its scalar reference uses 1 / d and halves away from zero, which differs
// on ties, and ties are common when the values sit on an f16 grid, as after gpt2's GELU). Returns d.
float quantize_block_q8(const float* v, int8_t* qs) {
  float amax = 0.0f;
  for (int j = 0; j < 32; j++) amax = std::fmax(amax, std::fabs(v[j]));
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  for (int j = 0; j < 32; j++) qs[j] = int8_t(std::lrint(v[j] * id));  // lrint: never UB, even for inf
  return amax / 127.0f;
}
}  // namespace

void quantize_row_q8_0(const float* x, BlockQ8_0* out, int64_t n) {
  for (int64_t b = 0; b < n / 32; b++) out[b].d = fp32_to_fp16(quantize_block_q8(x + b * 32, out[b].qs));
}

void quantize_row_q8_1(const float* x, BlockQ8_1* out, int64_t n) {
  for (int64_t b = 0; b < n / 32; b++) {
    const float d = quantize_block_q8(x + b * 32, out[b].qs);
    int32_t sum = 0;
    for (int j = 0; j < 32; j++) sum += out[b].qs[j];
    out[b].d = fp32_to_fp16(d);
    out[b].s = fp32_to_fp16(d * float(sum));
  }
}

void round_to_fp16(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = fp16_to_fp32(fp32_to_fp16(x[i]));
}

void round_to_bf16(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = bf16_to_fp32(fp32_to_bf16(x[i]));
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

namespace {
// The integer dot of a Q5_0 or Q5_1 block (nibbles topped by qh's bits: q in 0..31) with 32 int8
// activations, each weight taken as q - offset (Q5_0: 16; Q5_1: 0, its m is added per block).
template <typename Block>
int32_t q5_block_dot(const Block& w, const int8_t* x, int offset) {
  uint32_t qh;
  std::memcpy(&qh, w.qh, 4);
  int32_t s = 0;
  for (int j = 0; j < 16; j++) {
    s += (((w.qs[j] & 0x0f) | int((qh >> j) & 1) << 4) - offset) * int32_t(x[j]);
    s += (((w.qs[j] >> 4) | int((qh >> (j + 16)) & 1) << 4) - offset) * int32_t(x[j + 16]);
  }
  return s;
}
}  // namespace

float ref::dot_q5_0(const BlockQ5_0* w, const BlockQ8_0* x, int64_t n_blocks) {
  float sum = 0.0f;
  for (int64_t b = 0; b < n_blocks; b++) {
    sum += float(q5_block_dot(w[b], x[b].qs, 16)) * (fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d));
  }
  return sum;
}

float ref::dot_q5_1(const BlockQ5_1* w, const BlockQ8_1* x, int64_t n_blocks) {
  float sum = 0.0f;
  for (int64_t b = 0; b < n_blocks; b++) {
    sum += float(q5_block_dot(w[b], x[b].qs, 0)) * (fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d)) +
           fp16_to_fp32(w[b].m) * fp16_to_fp32(x[b].s);
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Quantizing the activations
// ---------------------------------------------------------------------------------------------

namespace {

constexpr int64_t kBlock = kQ8_0Block;
constexpr int kPadTokens = 4;  // scales/sums8 padding: a 4-token load from the last token stays in bounds

// Position of value j (0..31) of a block in the int16 layout: the even values of the first half,
// then those of the second half, then the odd ones likewise. Reading a weight block as eight
// 16-bit lanes, (lane << 8) >> 8 is then a vector of even values and lane >> 8 one of odd values,
// and the four nibbles of a Q4_0 lane are values 2i, 2i+16, 2i+1 and 2i+17.
constexpr int permuted(int j) { return (j % 2) * 16 + (j / 16) * 8 + (j % 16) / 2; }

// The block's q (stored in kernel layout), its scale as a float and 8 * the sum of its q; the same
// numbers as quantize_row_q8_0.
[[maybe_unused]] void quantize_block_scalar(const float* v, QuantizedActivations::Value* q, float* scale, int32_t* sum8,
                                            float* s1) {
  BlockQ8_1 block;
  quantize_row_q8_1(v, &block, kBlock);
  *s1 = fp16_to_fp32(block.s);
  int32_t sum = 0;
  for (int j = 0; j < 32; j++) {
    sum += block.qs[j];
    if constexpr (sizeof(QuantizedActivations::Value) == 1) q[j] = block.qs[j];
    else q[permuted(j)] = block.qs[j];
  }
  *scale = fp16_to_fp32(block.d);
  *sum8 = 8 * sum;
}

#if RINGLM_QUANT_SSE41

void quantize_block(const float* v, int16_t* q, float* scale, int32_t* sum8, float* s1) {
  const __m128 sign = _mm_set1_ps(-0.0f);
  __m128 x[8];
  __m128 amax = _mm_setzero_ps();
  for (int k = 0; k < 8; k++) {
    x[k] = _mm_loadu_ps(v + 4 * k);
    amax = _mm_max_ps(amax, _mm_andnot_ps(sign, x[k]));
  }
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, amax);
  const float amax_s = std::fmax(std::fmax(lanes[0], lanes[1]), std::fmax(lanes[2], lanes[3]));
  const float d = amax_s / 127.0f;
  const float id = amax_s != 0.0f ? 127.0f / amax_s : 0.0f;
  *scale = fp16_to_fp32(fp32_to_fp16(d));
  // q = x * id rounded to nearest even: adding 1.5 * 2^23 rounds it (|q| <= 127) and leaves the
  // integer in the low mantissa bits (wasm has no fast float-to-int conversion).
  const __m128 vid = _mm_set1_ps(id), magic = _mm_set1_ps(12582912.0f);
  __m128i i32[8];
  __m128i sum = _mm_setzero_si128();
  for (int k = 0; k < 8; k++) {
    const __m128 y = _mm_mul_ps(x[k], vid);
    i32[k] = _mm_sub_epi32(_mm_castps_si128(_mm_add_ps(y, magic)), _mm_castps_si128(magic));
    sum = _mm_add_epi32(sum, i32[k]);
  }
  // To the kernels' layout: i32[k] holds values 4k .. 4k+3; gather evens and odds, narrow to int16.
  const auto even = [&](int k) {  // values 4k, 4k+2, 4k+4, 4k+6
    return _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(i32[k]), _mm_castsi128_ps(i32[k + 1]), _MM_SHUFFLE(2, 0, 2, 0)));
  };
  const auto odd = [&](int k) {  // values 4k+1, 4k+3, 4k+5, 4k+7
    return _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(i32[k]), _mm_castsi128_ps(i32[k + 1]), _MM_SHUFFLE(3, 1, 3, 1)));
  };
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm_packs_epi32(even(0), even(2)));       // values 0, 2, .., 14
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 8), _mm_packs_epi32(even(4), even(6)));   // 16, .., 30
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm_packs_epi32(odd(0), odd(2)));    // 1, .., 15
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 24), _mm_packs_epi32(odd(4), odd(6)));    // 17, .., 31
  alignas(16) int32_t s4[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(s4), sum);
  // Wrapping (unsigned) arithmetic: inf / NaN input makes garbage q, which must not overflow an int.
  const int32_t total = int32_t(uint32_t(s4[0]) + uint32_t(s4[1]) + uint32_t(s4[2]) + uint32_t(s4[3]));
  *sum8 = int32_t(8u * uint32_t(total));
  *s1 = fp16_to_fp32(fp32_to_fp16(d * float(total)));
}

#elif RINGLM_QUANT_AVX2

// The same steps as the SSE4.1 quantize_block above, on 8 lanes, rounding with the instruction
// wasm lacks, and packing to the int8 layout AVX2's kernels read: a twin per ISA, as the kernels.
void quantize_block(const float* v, int8_t* q, float* scale, int32_t* sum8, float* s1) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 x[4];
  __m256 amax = _mm256_setzero_ps();
  for (int k = 0; k < 4; k++) {
    x[k] = _mm256_loadu_ps(v + 8 * k);
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, x[k]));
  }
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  const float amax_s = _mm_cvtss_f32(m4);
  const float d = amax_s / 127.0f;
  const float id = amax_s != 0.0f ? 127.0f / amax_s : 0.0f;
  *scale = fp16_to_fp32(fp32_to_fp16(d));
  // q = x * id rounded to nearest even, as quantize_row_q8_0.
  const __m256 vid = _mm256_set1_ps(id);
  __m256i i32[4];
  for (int k = 0; k < 4; k++) {
    const __m256 y = _mm256_round_ps(_mm256_mul_ps(x[k], vid), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    i32[k] = _mm256_cvtps_epi32(y);  // exact: already an integer
  }
  const __m256i s = _mm256_add_epi32(_mm256_add_epi32(i32[0], i32[1]), _mm256_add_epi32(i32[2], i32[3]));
  __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
  *sum8 = int32_t(8u * uint32_t(_mm_cvtsi128_si32(s4)));  // wraps on garbage from inf / NaN input
  *s1 = fp16_to_fp32(fp32_to_fp16(d * float(_mm_cvtsi128_si32(s4))));
  // Pack to bytes; the packs interleave 128-bit lanes, the permute puts the values back in order.
  const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(i32[0], i32[1]), _mm256_packs_epi32(i32[2], i32[3]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                      _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

#else

void quantize_block(const float* v, int16_t* q, float* scale, int32_t* sum8, float* s1) {
  quantize_block_scalar(v, q, scale, sum8, s1);
}

#endif

}  // namespace

uint64_t QuantizedActivations::bytes_for(int max_tokens, int64_t max_cols) {
  const uint64_t entries = uint64_t(max_cols / kBlock + 1) * uint64_t(max_tokens) + kPadTokens;  // scales, sums8
  return uint64_t(max_tokens) * uint64_t(max_cols) * sizeof(Value) + entries * (2 * sizeof(float) + sizeof(int32_t));
}

void QuantizedActivations::reserve(int max_tokens, int64_t max_cols) {
  const size_t blocks = size_t(max_cols / kBlock + 1);
  values_.assign(size_t(max_tokens) * size_t(max_cols), 0);
  scales_.assign(blocks * size_t(max_tokens) + kPadTokens, 0.0f);
  sums8_.assign(blocks * size_t(max_tokens) + kPadTokens, 0);
  q8_1_s_.assign(blocks * size_t(max_tokens) + kPadTokens, 0.0f);
}

void QuantizedActivations::quantize_tokens(const float* x, int64_t stride, int begin, int end) {
  const int n_tokens = n_tokens_;
  const int64_t cols = cols_, nb = cols / kBlock;
  for (int t = begin; t < end; t++) {
    for (int64_t b = 0; b < nb; b++) {
      const size_t at = size_t(b) * size_t(n_tokens) + size_t(t);
      quantize_block(x + t * stride + b * kBlock, &values_[size_t(t) * size_t(cols) + size_t(b * kBlock)], &scales_[at],
                     &sums8_[at], &q8_1_s_[at]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Q8_0 and Q4_0: tile kernels (see tile.h)
//
// tile<R, T, Q4> computes out[r * T + t] = dot(rows[r], token t0 + t) (Q4: Q4_0 weights). In the
// SSE4.1 (and wasm) and plain builds each (row, token) pair accumulates in its own float lane, block
// by block, exactly as ref::dot_q8_0 / ref::dot_q4_0 order their sums; AVX2 keeps eight lanes per pair.
// ---------------------------------------------------------------------------------------------

namespace {

template <bool Q4>
constexpr size_t kBlockBytes = Q4 ? sizeof(BlockQ4_0) : sizeof(BlockQ8_0);

// One block per iteration: unrolled, two blocks' values need more vector registers than the 16
// that V8 gives wasm, and the spills cost more than the loop.
#if defined(__clang__)
#define RINGLM_ONE_BLOCK_AT_A_TIME _Pragma("clang loop unroll(disable)")
#else
#define RINGLM_ONE_BLOCK_AT_A_TIME
#endif

#if RINGLM_QUANT_SSE41

using sse::load16;
using sse::f16x4_to_f32x4;
using sse::sum4;

// One 32-bit value per lane from a row of T tokens side by side: lane r * T + t gets p[t].
template <int T>
inline __m128i token_lanes(const void* p) {
  if constexpr (T == 4) return load16(p);
  else if constexpr (T == 2) return _mm_unpacklo_epi64(_mm_loadl_epi64(static_cast<const __m128i*>(p)), _mm_loadl_epi64(static_cast<const __m128i*>(p)));
  else return _mm_set1_epi32(*static_cast<const int32_t*>(p));
}

// Quarter q (8 values, as int16) of a weight block, in the activations' layout.
template <bool Q4>
inline __m128i weight_quarter(const uint8_t* block, int q) {
  if constexpr (Q4) {  // nibbles 0..15, i.e. weight + 8: lane i of the 16 bytes holds values 2i, 2i+16, 2i+1, 2i+17
    const __m128i v = load16(block + 2), low4 = _mm_set1_epi16(0x0f);
    switch (q) {
      case 0: return _mm_and_si128(v, low4);
      case 1: return _mm_and_si128(_mm_srli_epi16(v, 4), low4);
      case 2: return _mm_and_si128(_mm_srli_epi16(v, 8), low4);
      default: return _mm_srli_epi16(v, 12);
    }
  } else {  // lane i of each 16 bytes holds values 2i (low byte) and 2i+1 (high byte)
    const __m128i v = load16(block + 2 + 16 * (q & 1));
    return q < 2 ? _mm_srai_epi16(_mm_slli_epi16(v, 8), 8) : _mm_srai_epi16(v, 8);
  }
}

// The f16 scales of four blocks, one per 32-bit lane, as f16 bits * 2^-112 (the f16 value with its
// exponent left unrebiased; see f16x4_to_f32x4): each read straight into the top half of its lane
// (one pinsrw / v128.load16_lane each), where the conversion wants it. The caller multiplies by
// 2^112 * d_x, a single float: the same real product d_w * d_x, so the same rounding.
inline __m128 f16_scales_unbiased(const uint8_t* p0, const uint8_t* p1, const uint8_t* p2, const uint8_t* p3) {
  uint16_t h0, h1, h2, h3;
  std::memcpy(&h0, p0, 2), std::memcpy(&h1, p1, 2), std::memcpy(&h2, p2, 2), std::memcpy(&h3, p3, 2);
  __m128i h = _mm_setzero_si128();
  h = _mm_insert_epi16(h, h0, 1), h = _mm_insert_epi16(h, h1, 3), h = _mm_insert_epi16(h, h2, 5), h = _mm_insert_epi16(h, h3, 7);
  return _mm_castsi128_ps(_mm_and_si128(_mm_srai_epi32(h, 3), _mm_set1_epi32(int32_t(0x8fffe000u))));
}
constexpr float kTwoTo112 = 5.192296858534828e33f;

// Decode: 4 rows x 1 token, one f32x4 lane per row, pointers stepping from block to block. Written
// for V8 (which gives wasm 15 vector registers and issues a block's loads before its arithmetic):
// each row's sum starts from its first half-block product rather than from a zero vector.
//
// Q4_0: lane i of a block's 16 bytes holds nibbles n0..n3 (values 2i, 2i+16, 2i+1, 2i+17, each
// weight + 8) at bits 0, 4, 8 and 12. Masked where they lie, they are n0, 16 n1, 256 n2 (one `and`
// each) and n3 (one shift): 4 operations per 32 weights instead of 6. Against activations scaled
// by 256, 16, 1 and 256 (three shifts per block, shared by the four rows) every product is 256 n q,
// so the integer sum is 256 times the exact one (at most 256 * 32 * 15 * 127 < 2^24: no overflow,
// and every operand fits int16: 15 * 256, 127 * 256) and one arithmetic shift per four rows gives
// it back exactly.
template <int R, int T, bool Q4>
void tile(const uint8_t* const* rows, const Activations& a, int t0, float* out) {
  static_assert(R == 4 && T == 1, "the SSE4.1 path decodes in tiles of 4 rows x 1 token");
  const QuantizedActivations& x = *a.q8;
  const int64_t nb = a.cols / kBlock;
  const uint8_t *p0 = rows[0], *p1 = rows[1], *p2 = rows[2], *p3 = rows[3];
  const int16_t* q = x.values(t0);
  const int64_t stride = x.n_tokens();
  const float* dx = x.scales(0) + t0;
  const int32_t* sums8 = x.sums8(0) + t0;
  __m128 acc = _mm_setzero_ps();
  RINGLM_ONE_BLOCK_AT_A_TIME
  for (int64_t b = 0; b < nb; b++) {
    __m128i d0, d1, d2, d3;
    if constexpr (Q4) {
      const __m128i x0 = _mm_slli_epi16(load16(q), 8), x1 = _mm_slli_epi16(load16(q + 8), 4), x2 = load16(q + 16),
                    x3 = _mm_slli_epi16(load16(q + 24), 8);
      const __m128i n0 = _mm_set1_epi16(0x000f), n1 = _mm_set1_epi16(0x00f0), n2 = _mm_set1_epi16(0x0f00);
      const auto dot = [&](const uint8_t* p) {
        const __m128i v = load16(p + 2);
        const __m128i a = _mm_add_epi32(_mm_madd_epi16(_mm_and_si128(v, n0), x0), _mm_madd_epi16(_mm_and_si128(v, n1), x1));
        const __m128i c = _mm_add_epi32(_mm_madd_epi16(_mm_and_si128(v, n2), x2), _mm_madd_epi16(_mm_srli_epi16(v, 12), x3));
        return _mm_add_epi32(a, c);
      };
      d0 = dot(p0), d1 = dot(p1), d2 = dot(p2), d3 = dot(p3);
    } else {  // bytes: lane i of each 16 holds values 2i and 2i+1
      const auto half = [&](const uint8_t* p, int h) {
        const __m128i v = load16(p + 2 + 16 * h);
        return _mm_add_epi32(_mm_madd_epi16(_mm_srai_epi16(_mm_slli_epi16(v, 8), 8), load16(q + 8 * h)),
                             _mm_madd_epi16(_mm_srai_epi16(v, 8), load16(q + 16 + 8 * h)));
      };
      d0 = _mm_add_epi32(half(p0, 0), half(p0, 1));
      d1 = _mm_add_epi32(half(p1, 0), half(p1, 1));
      d2 = _mm_add_epi32(half(p2, 0), half(p2, 1));
      d3 = _mm_add_epi32(half(p3, 0), half(p3, 1));
    }
    __m128i s = sum4(d0, d1, d2, d3);
    if constexpr (Q4) s = _mm_sub_epi32(_mm_srai_epi32(s, 8), _mm_set1_epi32(*sums8));
    const __m128 scale = _mm_mul_ps(f16_scales_unbiased(p0, p1, p2, p3), _mm_set1_ps(*dx * kTwoTo112));
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(s), scale));
    p0 += kBlockBytes<Q4>, p1 += kBlockBytes<Q4>, p2 += kBlockBytes<Q4>, p3 += kBlockBytes<Q4>;
    q += kBlock, dx += stride, sums8 += stride;
  }
  _mm_storeu_ps(out, acc);
}

// Prefill: kWideRows weight rows are widened to int16 once, then every pair of tokens reads them
// as they are. The integer sums and the float steps are those of tile<>, so a token's results are
// the same bits as in decode (Q4_0 rows are stored as weight, not weight + 8, and skip the sums8
// correction: the same integer). The widened group: int16 values [block][quarter][row][8] (each
// quarter block's 8 values of the kWideRows rows side by side, so that one pointer reaches every
// row: wasm loads take a single address), then the scales as floats, [block][row]; widened[0]
// points at it.
constexpr int kWideRows = 4, kWideTokens = 2;

uint64_t widened_bytes(int64_t cols) {
  return uint64_t(kWideRows) * uint64_t(cols) * sizeof(int16_t) + uint64_t(kWideRows) * uint64_t(cols / kBlock) * sizeof(float);
}

template <bool Q4>
void widen(const uint8_t* const* rows, int64_t cols, uint8_t* scratch, const uint8_t** widened) {
  const int64_t nb = cols / kBlock;
  int16_t* values = reinterpret_cast<int16_t*>(scratch);
  float* scales = reinterpret_cast<float*>(values + kWideRows * cols);
  for (int r = 0; r < kWideRows; r++) {
    widened[r] = scratch;  // one block for all the rows: see wide_tile
    for (int64_t b = 0; b < nb; b++) {
      const uint8_t* block = rows[r] + size_t(b) * kBlockBytes<Q4>;
      int16_t* out = values + b * kBlock * kWideRows + 8 * r;
      for (int q = 0; q < 4; q++) {
        __m128i w = weight_quarter<Q4>(block, q);
        if constexpr (Q4) w = _mm_sub_epi16(w, _mm_set1_epi16(8));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 8 * kWideRows * q), w);
      }
      uint16_t d;
      std::memcpy(&d, block, 2);
      scales[b * kWideRows + r] = fp16_to_fp32(d);
    }
  }
}

// out[r * 2 + t] for the kWideRows widened rows and tokens t0, t0 + 1. Min: Q5_1, whose widened
// group holds its m as floats, [block][row], after the scales; each block adds m_w * s_x (Q8_1's s).
template <bool Min = false>
void wide_tile(const uint8_t* const* widened, const Activations& a, int t0, float* out) {
  const QuantizedActivations& x = *a.q8;
  const int64_t nb = a.cols / kBlock;
  const int16_t* values = reinterpret_cast<const int16_t*>(widened[0]);
  const float* scales = reinterpret_cast<const float*>(values + kWideRows * a.cols);
  const int16_t* xs[kWideTokens] = {x.values(a.token(t0, 0)), x.values(a.token(t0, 1))};
  __m128 acc0 = _mm_setzero_ps(), acc1 = _mm_setzero_ps();  // lanes r0t0 r0t1 r1t0 r1t1 | r2t0 r2t1 r3t0 r3t1
  RINGLM_ONE_BLOCK_AT_A_TIME
  for (int64_t b = 0; b < nb; b++) {
    const int16_t* w = values + b * kBlock * kWideRows;
    const int16_t* x0 = xs[0] + b * kBlock;
    const int16_t* x1 = xs[1] + b * kBlock;
    __m128i dot[8];
    {
      const __m128i a = load16(x0), c = load16(x1);
      for (int r = 0; r < 4; r++) {
        const __m128i wr = load16(w + 8 * r);
        dot[2 * r] = _mm_madd_epi16(wr, a);
        dot[2 * r + 1] = _mm_madd_epi16(wr, c);
      }
    }
    // A quarter block per iteration: six loads and eight multiply-adds fit V8's registers.
    RINGLM_ONE_BLOCK_AT_A_TIME
    for (int q = 8; q < 32; q += 8) {
      const __m128i a = load16(x0 + q), c = load16(x1 + q);
      for (int r = 0; r < 4; r++) {
        const __m128i wr = load16(w + kWideRows * q + 8 * r);
        dot[2 * r] = _mm_add_epi32(dot[2 * r], _mm_madd_epi16(wr, a));
        dot[2 * r + 1] = _mm_add_epi32(dot[2 * r + 1], _mm_madd_epi16(wr, c));
      }
    }
    const __m128 dw = _mm_loadu_ps(scales + b * kWideRows);
    const __m128 dx = _mm_castsi128_ps(token_lanes<2>(x.scales(b) + t0));
    const __m128 scale0 = _mm_mul_ps(_mm_shuffle_ps(dw, dw, _MM_SHUFFLE(1, 1, 0, 0)), dx);
    const __m128 scale1 = _mm_mul_ps(_mm_shuffle_ps(dw, dw, _MM_SHUFFLE(3, 3, 2, 2)), dx);
    __m128 term0 = _mm_mul_ps(_mm_cvtepi32_ps(sum4(dot[0], dot[1], dot[2], dot[3])), scale0);
    __m128 term1 = _mm_mul_ps(_mm_cvtepi32_ps(sum4(dot[4], dot[5], dot[6], dot[7])), scale1);
    if constexpr (Min) {  // as q5_tile<true>: (s * d_w * d_x + m_w * s_x), then into the sum
      const __m128 mw = _mm_loadu_ps(scales + (nb + b) * kWideRows);
      const __m128 sx = _mm_castsi128_ps(token_lanes<2>(x.q8_1_s(b) + t0));
      term0 = _mm_add_ps(term0, _mm_mul_ps(_mm_shuffle_ps(mw, mw, _MM_SHUFFLE(1, 1, 0, 0)), sx));
      term1 = _mm_add_ps(term1, _mm_mul_ps(_mm_shuffle_ps(mw, mw, _MM_SHUFFLE(3, 3, 2, 2)), sx));
    }
    acc0 = _mm_add_ps(acc0, term0);
    acc1 = _mm_add_ps(acc1, term1);
  }
  _mm_storeu_ps(out, acc0);
  _mm_storeu_ps(out + 4, acc1);
}

#elif RINGLM_QUANT_AVX2

constexpr int kPrefillRows = 2, kPrefillTokens = 4;

inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

inline float half_to_float(uint16_t h) {
#if defined(__F16C__)
  return _cvtsh_ss(h);
#else
  return fp16_to_fp32(h);
#endif
}

template <int R, int T, bool Q4>
void tile(const uint8_t* const* rows, const Activations& a, int t0, float* out) {
  const QuantizedActivations& x = *a.q8;
  const int64_t nb = a.cols / kBlock;
  const int8_t* xs[T];
  for (int t = 0; t < T; t++) xs[t] = x.values(a.token(t0, t));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[R][T];
  for (int r = 0; r < R; r++)
    for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const float* dx = x.scales(b) + t0;
    for (int r = 0; r < R; r++) {
      const uint8_t* block = rows[r] + size_t(b) * kBlockBytes<Q4>;
      uint16_t d;
      std::memcpy(&d, block, 2);
      const float dw = half_to_float(d);
      __m256i w;
      if constexpr (Q4) {
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2)), low4 = _mm_set1_epi8(0x0f);
        const __m128i lo = _mm_and_si128(packed, low4), hi = _mm_and_si128(_mm_srli_epi16(packed, 4), low4);
        w = _mm256_sub_epi8(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(8));
      } else {
        w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
      }
      // maddubs multiplies unsigned by signed bytes: move w's sign onto x, |w| * (x * sign(w)).
      const __m256i abs_w = _mm256_sign_epi8(w, w);
      for (int t = 0; t < T; t++) {
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[t] + b * kBlock));
        const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, _mm256_sign_epi8(q, w)), ones);
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(dw * dx[t]), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; r++)
    for (int t = 0; t < T; t++) out[r * T + t] = hsum(acc[r][t]);
}

#else  // plain C++, the same sums as the wasm lanes

constexpr int kPrefillRows = 1, kPrefillTokens = 4;

template <int R, int T, bool Q4>
void tile(const uint8_t* const* rows, const Activations& a, int t0, float* out) {
  const QuantizedActivations& x = *a.q8;
  const int64_t nb = a.cols / kBlock;
  const int16_t* xs[T];
  for (int t = 0; t < T; t++) xs[t] = x.values(a.token(t0, t));
  float acc[R * T] = {};
  for (int64_t b = 0; b < nb; b++) {
    for (int r = 0; r < R; r++) {
      const uint8_t* block = rows[r] + size_t(b) * kBlockBytes<Q4>;
      uint16_t d;
      std::memcpy(&d, block, 2);
      int32_t w[32];  // in the activations' layout; Q4_0 as nibbles (weight + 8)
      for (int j = 0; j < 32; j++) {
        if constexpr (Q4) w[permuted(j)] = j < 16 ? (block[2 + j] & 0x0f) : (block[2 + j - 16] >> 4);
        else w[permuted(j)] = int8_t(block[2 + j]);
      }
      for (int t = 0; t < T; t++) {
        const int16_t* q = xs[t] + b * kBlock;
        int32_t s = 0;
        for (int j = 0; j < 32; j++) s += w[j] * q[j];
        if constexpr (Q4) s -= x.sums8(b)[t0 + t];
        acc[r * T + t] += float(s) * (fp16_to_fp32(d) * x.scales(b)[t0 + t]);
      }
    }
  }
  for (int i = 0; i < R * T; i++) out[i] = acc[i];
}

#endif

}  // namespace

const TileKernel kQ8_0Decode = tile_kernel<4, 1, tile<4, 1, false>>();
const TileKernel kQ4_0Decode = tile_kernel<4, 1, tile<4, 1, true>>();
#if RINGLM_QUANT_SSE41
const TileKernel kQ8_0Prefill = tile_kernel<kWideRows, kWideTokens, wide_tile<>, widen<false>>(widened_bytes);
const TileKernel kQ4_0Prefill = tile_kernel<kWideRows, kWideTokens, wide_tile<>, widen<true>>(widened_bytes);
#else
const TileKernel kQ8_0Prefill = tile_kernel<kPrefillRows, kPrefillTokens, tile<kPrefillRows, kPrefillTokens, false>>();
const TileKernel kQ4_0Prefill = tile_kernel<kPrefillRows, kPrefillTokens, tile<kPrefillRows, kPrefillTokens, true>>();
#endif

// ---------------------------------------------------------------------------------------------
// Q5_0 and Q5_1: decode in tiles of 4 rows x 1 token; prefill widens each group of rows once per
// batch and runs it through Q8_0's wide_tile (SSE4.1 and wasm; other builds decode every token)
//
// The nibbles unpack as Q4_0's do; the fifth bits come from the 32-bit word qh, broadcast to every
// lane and tested against one bit per lane. Q5_0 keeps its values as stored (w + 16) and subtracts
// 16 * sum(q) = 2 * sums8 from the integer sum; Q5_1 adds m_w * s_x per block. The float steps are
// those of ref::dot_q5_0 / ref::dot_q5_1.
// ---------------------------------------------------------------------------------------------

namespace {

template <bool One>
constexpr size_t kQ5Bytes = One ? sizeof(BlockQ5_1) : sizeof(BlockQ5_0);
template <bool One>
constexpr size_t kQ5QhAt = One ? 4 : 2;  // qh's offset in the block; the nibbles follow it

#if RINGLM_QUANT_SSE41

template <bool One>
void q5_tile(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const QuantizedActivations& x = *a.q8;
  const int64_t nb = a.cols / kBlock;
  const uint8_t *p0 = rows[0], *p1 = rows[1], *p2 = rows[2], *p3 = rows[3];
  const int16_t* q = x.values(t);
  const int64_t stride = x.n_tokens();
  const float* dx = x.scales(0) + t;
  const int32_t* sums8 = x.sums8(0) + t;
  const float* sx = x.q8_1_s(0) + t;
  const __m128i low4 = _mm_set1_epi16(0x0f), sixteen = _mm_set1_epi16(16);
  const __m128i even = _mm_setr_epi16(1 << 0, 1 << 2, 1 << 4, 1 << 6, 1 << 8, 1 << 10, 1 << 12, 1 << 14);
  const __m128i odd = _mm_slli_epi16(even, 1);
  __m128 acc = _mm_setzero_ps();
  RINGLM_ONE_BLOCK_AT_A_TIME
  for (int64_t b = 0; b < nb; b++) {
    // Lane i of the nibbles holds values 2i, 2i+16, 2i+1, 2i+17: x0..x3 hold the same values.
    const __m128i x0 = load16(q), x1 = load16(q + 8), x2 = load16(q + 16), x3 = load16(q + 24);
    const auto dot = [&](const uint8_t* p) {
      uint32_t qh;
      std::memcpy(&qh, p + kQ5QhAt<One>, 4);
      const __m128i h_lo = _mm_set1_epi16(int16_t(qh & 0xffff)), h_hi = _mm_set1_epi16(int16_t(qh >> 16));
      const auto bit4 = [&](__m128i h, __m128i m) { return _mm_and_si128(_mm_cmpeq_epi16(_mm_and_si128(h, m), m), sixteen); };
      const __m128i v = load16(p + kQ5QhAt<One> + 4);
      const __m128i a = _mm_add_epi32(_mm_madd_epi16(_mm_or_si128(_mm_and_si128(v, low4), bit4(h_lo, even)), x0),
                                      _mm_madd_epi16(_mm_or_si128(_mm_and_si128(_mm_srli_epi16(v, 4), low4), bit4(h_hi, even)), x1));
      const __m128i c = _mm_add_epi32(_mm_madd_epi16(_mm_or_si128(_mm_and_si128(_mm_srli_epi16(v, 8), low4), bit4(h_lo, odd)), x2),
                                      _mm_madd_epi16(_mm_or_si128(_mm_srli_epi16(v, 12), bit4(h_hi, odd)), x3));
      return _mm_add_epi32(a, c);
    };
    __m128i s = sum4(dot(p0), dot(p1), dot(p2), dot(p3));
    if constexpr (!One) s = _mm_sub_epi32(s, _mm_set1_epi32(int32_t(2u * uint32_t(*sums8))));
    uint16_t h[4];
    std::memcpy(&h[0], p0, 2), std::memcpy(&h[1], p1, 2), std::memcpy(&h[2], p2, 2), std::memcpy(&h[3], p3, 2);
    const __m128 scale = _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(h[0], h[1], h[2], h[3])), _mm_set1_ps(*dx));
    __m128 term = _mm_mul_ps(_mm_cvtepi32_ps(s), scale);
    if constexpr (One) {
      std::memcpy(&h[0], p0 + 2, 2), std::memcpy(&h[1], p1 + 2, 2), std::memcpy(&h[2], p2 + 2, 2), std::memcpy(&h[3], p3 + 2, 2);
      term = _mm_add_ps(term, _mm_mul_ps(f16x4_to_f32x4(_mm_setr_epi32(h[0], h[1], h[2], h[3])), _mm_set1_ps(*sx)));
    }
    acc = _mm_add_ps(acc, term);
    p0 += kQ5Bytes<One>, p1 += kQ5Bytes<One>, p2 += kQ5Bytes<One>, p3 += kQ5Bytes<One>;
    q += kBlock, dx += stride, sums8 += stride, sx += stride;
  }
  _mm_storeu_ps(out, acc);
}

// Prefill: as Q8_0's (widen, wide_tile), each group of kWideRows rows widened once per batch to
// int16 in the activations' layout, the fifth bits set as q5_tile sets them: Q5_0 as q - 16 (the
// same integer as q5_tile's sum minus 16 * sum(q)), Q5_1 as q, its m kept beside d. The float steps
// per block are q5_tile's, so a token's results are the same bits as in decode. The widened group:
// values as widen's, then d as floats [block][row], then (Q5_1) m likewise.
template <bool One>
uint64_t q5_widened_bytes(int64_t cols) {
  return widened_bytes(cols) + (One ? uint64_t(kWideRows) * uint64_t(cols / kBlock) * sizeof(float) : 0);
}

template <bool One>
void q5_widen(const uint8_t* const* rows, int64_t cols, uint8_t* scratch, const uint8_t** widened) {
  const int64_t nb = cols / kBlock;
  int16_t* values = reinterpret_cast<int16_t*>(scratch);
  float* scales = reinterpret_cast<float*>(values + kWideRows * cols);
  float* mins = scales + kWideRows * nb;
  const __m128i low4 = _mm_set1_epi16(0x0f), sixteen = _mm_set1_epi16(16);
  const __m128i even = _mm_setr_epi16(1 << 0, 1 << 2, 1 << 4, 1 << 6, 1 << 8, 1 << 10, 1 << 12, 1 << 14);
  const __m128i odd = _mm_slli_epi16(even, 1);
  const auto bit4 = [&](__m128i h, __m128i m) { return _mm_and_si128(_mm_cmpeq_epi16(_mm_and_si128(h, m), m), sixteen); };
  for (int r = 0; r < kWideRows; r++) {
    widened[r] = scratch;  // one group for all the rows: see wide_tile
    for (int64_t b = 0; b < nb; b++) {
      const uint8_t* block = rows[r] + size_t(b) * kQ5Bytes<One>;
      uint32_t qh;
      std::memcpy(&qh, block + kQ5QhAt<One>, 4);
      const __m128i h_lo = _mm_set1_epi16(int16_t(qh & 0xffff)), h_hi = _mm_set1_epi16(int16_t(qh >> 16));
      const __m128i v = load16(block + kQ5QhAt<One> + 4);  // lane i: values 2i, 2i+16, 2i+1, 2i+17
      const __m128i quarter[4] = {_mm_or_si128(_mm_and_si128(v, low4), bit4(h_lo, even)),
                                  _mm_or_si128(_mm_and_si128(_mm_srli_epi16(v, 4), low4), bit4(h_hi, even)),
                                  _mm_or_si128(_mm_and_si128(_mm_srli_epi16(v, 8), low4), bit4(h_lo, odd)),
                                  _mm_or_si128(_mm_srli_epi16(v, 12), bit4(h_hi, odd))};
      int16_t* out = values + b * kBlock * kWideRows + 8 * r;
      for (int q = 0; q < 4; q++) {
        const __m128i w = One ? quarter[q] : _mm_sub_epi16(quarter[q], sixteen);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 8 * kWideRows * q), w);
      }
      uint16_t d, m;
      std::memcpy(&d, block, 2);
      scales[b * kWideRows + r] = fp16_to_fp32(d);
      if constexpr (One) {
        std::memcpy(&m, block + 2, 2);
        mins[b * kWideRows + r] = fp16_to_fp32(m);
      }
    }
  }
}

#else  // AVX2 and plain builds: scalar, on whichever activation layout the build uses

template <bool One>
void q5_tile(const uint8_t* const* rows, const Activations& a, int t, float* out) {
  const QuantizedActivations& x = *a.q8;
  const int64_t nb = a.cols / kBlock;
  constexpr bool kPermuted = sizeof(QuantizedActivations::Value) == 2;
  for (int r = 0; r < 4; r++) {
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
      const uint8_t* block = rows[r] + size_t(b) * kQ5Bytes<One>;
      const QuantizedActivations::Value* q = x.values(t) + b * kBlock;
      uint32_t qh;
      std::memcpy(&qh, block + kQ5QhAt<One>, 4);
      const uint8_t* qs = block + kQ5QhAt<One> + 4;
      int32_t s = 0;
      for (int j = 0; j < 32; j++) {
        const int nibble = j < 16 ? (qs[j] & 0x0f) : (qs[j - 16] >> 4);
        s += (nibble | int((qh >> j) & 1) << 4) * int32_t(q[kPermuted ? permuted(j) : j]);
      }
      if constexpr (!One) s = int32_t(uint32_t(s) - 2u * uint32_t(x.sums8(b)[t]));
      uint16_t d;
      std::memcpy(&d, block, 2);
      float term = float(s) * (fp16_to_fp32(d) * x.scales(b)[t]);
      if constexpr (One) {
        uint16_t m;
        std::memcpy(&m, block + 2, 2);
        term = term + fp16_to_fp32(m) * x.q8_1_s(b)[t];
      }
      acc = acc + term;
    }
    out[r] = acc;
  }
}

#endif

}  // namespace

const TileKernel kQ5_0Tile = tile_kernel<4, 1, q5_tile<false>>();
const TileKernel kQ5_1Tile = tile_kernel<4, 1, q5_tile<true>>();
#if RINGLM_QUANT_SSE41
const TileKernel kQ5_0Prefill = tile_kernel<kWideRows, kWideTokens, wide_tile<>, q5_widen<false>>(q5_widened_bytes<false>);
const TileKernel kQ5_1Prefill = tile_kernel<kWideRows, kWideTokens, wide_tile<true>, q5_widen<true>>(q5_widened_bytes<true>);
#else
const TileKernel kQ5_0Prefill = kQ5_0Tile, kQ5_1Prefill = kQ5_1Tile;
#endif

}  // namespace ringlm
