// quant.h — integer dot products for quantized weights, as llama.cpp computes them.
//
// For Q8_0 and Q4_0 weights llama.cpp does not multiply floats: it first quantizes the activation
// vector to Q8_0 blocks (per 32 values: d = amax/127 stored as f16, q = round(x/d)), then sums
// d_w * d_x * (integer dot of the 32 quantized pairs) block by block. ringlm does the same, which
// is both faster (int8 reads) and what makes our logits match llama.cpp's.
//
// Each dot has a scalar reference (namespace ref) and a SIMD version chosen at compile time:
// wasm SIMD128 intrinsics in the wasm build, AVX2 natively, the reference elsewhere. xsimd 8.1 has
// no widening integer operations, hence the per-ISA code.
#pragma once

#include <cstdint>

#include "tensor_type.h"

namespace ringlm {

// Quantize n values (n a multiple of 32) to n/32 Q8_0 blocks.
void quantize_row_q8_0(const float* x, BlockQ8_0* out, int64_t n);

// Round each value to the nearest f16 (llama.cpp feeds F16 matmuls with f16 activations).
void round_to_fp16(const float* x, float* out, int64_t n);

// Convert n f16 values to float.
void fp16_to_fp32_row(const uint16_t* h, float* out, int64_t n);

namespace ref {
float dot_q8_0(const BlockQ8_0* w, const BlockQ8_0* x, int64_t n_blocks);
float dot_q4_0(const BlockQ4_0* w, const BlockQ8_0* x, int64_t n_blocks);
}  // namespace ref

namespace simd {
float dot_q8_0(const BlockQ8_0* w, const BlockQ8_0* x, int64_t n_blocks);
float dot_q4_0(const BlockQ4_0* w, const BlockQ8_0* x, int64_t n_blocks);
// Dot of an f16 row with float values (already rounded to f16 by the caller, as llama.cpp does).
float dot_f16(const uint16_t* w, const float* x, int64_t n);
}  // namespace simd

}  // namespace ringlm
