// tensor_type.h — the ggml tensor types a GGUF file may name, their block layouts, f16 / bf16
// conversion, and how each type ringlm computes with is read back as floats (dequantize_*).
//
// Quantized types store a row as blocks: `block_size` values packed into `block_bytes` bytes.
//   Q8_0: 32 values = f16 scale d + 32 int8 q;            value = d * q
//   Q4_0: 32 values = f16 scale d + 16 bytes of nibbles;  value = d * (nibble - 8),
//         byte j holds value j in its low nibble and value j+16 in its high nibble.
//   Q5_0: as Q4_0 plus a 32-bit word qh whose bit j is bit 4 of value j;  value = d * (q - 16)
//   Q5_1: f16 d, f16 m, qh, nibbles;  value = d * q + m  (q in 0..31)
//   BF16: the top 16 bits of a float.
// K-quants: 256 values in sub-blocks, scales quantized against two f16 super-scales.
//   Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales sc[8] and mins m[8] (k4_scale_min), 128 bytes of
//         nibbles. Values 64c .. 64c+63 are bytes 32c .. 32c+31: low nibbles first, then high ones.
//         value = d * sc[s] * q - dmin * m[s] for value i in sub-block s = i / 32.
//   Q5_K: as Q4_K with 32 bytes qh before the nibbles: bit 2c (low nibble) or 2c+1 (high nibble) of
//         qh[l] is bit 4 of the value stored in byte 32c + l.
//   Q6_K: 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16 int8 scales, f16 d at the end.
//         Per half h (128 values): ql[64h + l] holds values l (low nibble) and l+64 (high), ql[64h+32+l]
//         values l+32 and l+96; qh[32h + l] bits 0-1, 2-3, 4-5, 6-7 top values l, l+32, l+64, l+96.
//         value = d * scales[i / 16] * (q - 32).
//   Q8_K: (activations only) float d, 256 int8 q, int16 sums of each 16 q.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace ringlm {

// Ids as ggml numbers them (they are stored in the file).
enum class TensorType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35,
};

// What the file format says of a type. Which types ringlm computes with is kernels/matmul.cpp's table.
struct TensorTypeTraits {
  const char* name;     // nullptr: an id no ggml version defines
  int64_t block_size;   // values per block (1 for plain types)
  int64_t block_bytes;  // bytes per block
};

// Traits for any 32-bit id; unknown ids get name nullptr.
TensorTypeTraits tensor_type_traits(uint32_t id);
std::string tensor_type_name(uint32_t id);  // "Q8_0", or "type 77" for unknown ids

// Where a tensor's bytes hold an f16 infinity or NaN: a value of an F16 tensor, or a scale (d, dmin, m) of a
// quantized block. ringlm's kernels widen halves by moving their bits, which is exact for every finite half but
// reads these as finite numbers, where llama.cpp computes infinities and NaNs: such a file is refused at load
// (a damaged or wrongly converted file; no real model stores them). F32 and BF16 need no check: their kernels
// carry infinities and NaNs as IEEE arithmetic does.
struct NonFiniteHalf {
  int64_t index = -1;          // the value (F16) or block (quantized types); -1: none
  const char* field = "";      // "value", or the block's "d", "dmin" or "m"
};
// data null (a header parsed without its data) finds nothing.
NonFiniteHalf find_nonfinite_half(TensorType type, const uint8_t* data, uint64_t nbytes);

constexpr int64_t kQ8_0Block = 32;
struct BlockQ8_0 { uint16_t d; int8_t qs[32]; };
struct BlockQ4_0 { uint16_t d; uint8_t qs[16]; };
static_assert(sizeof(BlockQ8_0) == 34, "ggml's Q8_0 block is 34 bytes");
static_assert(sizeof(BlockQ4_0) == 18, "ggml's Q4_0 block is 18 bytes");
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; };
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24, "ggml's Q5_0 / Q5_1 blocks");

constexpr int64_t kQK = 256;  // values per K-quant block
struct BlockQ4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; };
struct BlockQ5_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
struct BlockQ6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };
struct BlockQ8_K { float d; int8_t qs[256]; int16_t bsums[16]; };
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 &&
                  sizeof(BlockQ8_K) == 292, "ggml's K-quant blocks");

// Scale and min of sub-block j (0..7) of a Q4_K / Q5_K block: eight 6-bit pairs in 12 bytes. Bytes
// 0-3 hold the low 6 bits of sc[0..3] (their top 2 bits are sc[4..7]'s high bits), bytes 4-7 those of
// m[0..3] (likewise for m[4..7]), bytes 8-11 the low 4 bits of sc[4..7] (low nibble) and m[4..7] (high).
inline void k4_scale_min(const uint8_t* s, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Bits of a value stored as bfloat16.
struct Bf16 { uint16_t bits; };

// A float's bits and back.
inline uint32_t float_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}
inline float float_from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// IEEE half <-> float. fp32_to_fp16 rounds to nearest even, as ggml does.
inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t em = h & 0x7fff;
  uint32_t bits;
  if (em >= 0x7c00) {
    bits = 0x7f800000u | ((em & 0x3ff) << 13);  // inf / nan
  } else if (em >= 0x0400) {
    bits = (em << 13) + (112u << 23);  // normal: rebias exponent 15 -> 127
  } else {
    bits = float_bits(float(em) * 5.9604644775390625e-8f);  // subnormal: em * 2^-24, exact
  }
  return float_from_bits(bits | sign);
}

inline uint16_t fp32_to_fp16(float f) {
  const uint32_t x = float_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000;
  uint32_t a = x & 0x7fffffff;
  if (a >= 0x7f800000u) return uint16_t(sign | 0x7c00 | (a > 0x7f800000u ? 0x200 : 0));
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // >= 65520 rounds to infinity
  if (a < 0x38800000u) {                                   // below 2^-14: a half subnormal (or zero)
    return uint16_t(sign | uint32_t(std::nearbyint(float_from_bits(a) * 16777216.0f)));  // units of 2^-24, ties to even
  }
  a += 0xfff + ((a >> 13) & 1);  // round the 13 dropped mantissa bits to nearest even
  return uint16_t(sign | ((a - (112u << 23)) >> 13));
}

// Value of a bfloat16 (the top half of a float).
inline float bf16_to_fp32(uint16_t h) { return float_from_bits(uint32_t(h) << 16); }

// A float rounded to the nearest bfloat16, ties to even (NaN stays a quiet NaN), as ggml rounds.
inline uint16_t fp32_to_bf16(float f) {
  const uint32_t x = float_bits(f);
  if ((x & 0x7fffffff) > 0x7f800000u) return uint16_t((x >> 16) | 64);
  return uint16_t((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

// The n values of a row of each type (n a multiple of its block size) as floats, with ggml's
// arithmetic. kernels/matmul.h's dequantize_row picks the one for a type.
void dequantize_f32(const uint8_t* row, float* out, int64_t n);
void dequantize_f16(const uint8_t* row, float* out, int64_t n);
void dequantize_bf16(const uint8_t* row, float* out, int64_t n);
void dequantize_q8_0(const uint8_t* row, float* out, int64_t n);
void dequantize_q4_0(const uint8_t* row, float* out, int64_t n);
void dequantize_q5_0(const uint8_t* row, float* out, int64_t n);
void dequantize_q5_1(const uint8_t* row, float* out, int64_t n);
void dequantize_q4_K(const uint8_t* row, float* out, int64_t n);
void dequantize_q5_K(const uint8_t* row, float* out, int64_t n);
void dequantize_q6_K(const uint8_t* row, float* out, int64_t n);

}  // namespace ringlm
