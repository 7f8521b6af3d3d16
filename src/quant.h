// quant.h — integer matrix products for quantized weights, as llama.cpp computes them.
//
// For Q8_0 and Q4_0 weights llama.cpp does not multiply floats: it first quantizes the activation
// vector to Q8_0 blocks (per 32 values: d = amax/127 stored as f16, q = round(x/d)), then sums
// d_w * d_x * (integer dot of the 32 quantized pairs) block by block. ringlm does the same, which
// is both faster (int8 reads) and what makes our logits match llama.cpp's.
//
// The kernels are chosen at compile time: wasm SIMD128 intrinsics in the wasm build, AVX2 natively,
// plain C++ elsewhere; xsimd 8.1 has no widening integer operations, hence the per-ISA code. Each
// has the scalar references below (namespace ref) to be tested against.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor_type.h"

namespace ringlm {

// Quantize n values (n a multiple of 32) to n/32 Q8_0 blocks (llama.cpp's quantize_row_q8_0).
void quantize_row_q8_0(const float* x, BlockQ8_0* out, int64_t n);

// Round each value to the nearest f16 (llama.cpp feeds F16 matmuls with f16 activations).
void round_to_fp16(const float* x, float* out, int64_t n);

// Convert n f16 values to float.
void fp16_to_fp32_row(const uint16_t* h, float* out, int64_t n);

namespace ref {
float dot_q8_0(const BlockQ8_0* w, const BlockQ8_0* x, int64_t n_blocks);
float dot_q4_0(const BlockQ4_0* w, const BlockQ8_0* x, int64_t n_blocks);
}  // namespace ref

// The activations of one Q8_0/Q4_0 matrix product: n_tokens vectors quantized to Q8_0 blocks
// exactly as quantize_row_q8_0 does, stored once per product in the form the kernels read fastest.
//   values  [token][cols]   the quantized values q. wasm and scalar builds widen them to int16 and
//                           permute each block (its even values, then its odd ones, per half) so
//                           that the weights unpack with shifts alone; AVX2 keeps int8 in order.
//   scales  [block][token]  d as a float (the f16 value), tokens side by side for vector loads
//   sums8   [block][token]  8 * (sum of the block's q): Q4_0 weights are stored as w + 8, and
//                           sum((w + 8 - 8) q) = sum((w + 8) q) - 8 sum(q)
class QuantizedActivations {
public:
#if defined(__AVX2__) && !defined(__wasm_simd128__)
  using Value = int8_t;
#else
  using Value = int16_t;
#endif

  // Size the buffers for up to max_tokens vectors of max_cols values; the only allocation.
  void reserve(int max_tokens, int64_t max_cols);
  // Quantize x[t * stride + i] for t < n_tokens, i < cols (cols a multiple of 32, within reserve()).
  void quantize(const float* x, int64_t stride, int n_tokens, int64_t cols);

  uint64_t bytes() const { return values_.size() * sizeof(Value) + (scales_.size() + sums8_.size()) * 4; }
  static uint64_t bytes_for(int max_tokens, int64_t max_cols);  // what reserve() allocates
  int n_tokens() const { return n_tokens_; }
  int64_t cols() const { return cols_; }
  const Value* values(int token) const { return &values_[size_t(token) * size_t(cols_)]; }
  // Per-block rows of n_tokens entries, padded so a 4-token vector load from any token is in bounds.
  const float* scales(int64_t block) const { return &scales_[size_t(block) * size_t(n_tokens_)]; }
  const int32_t* sums8(int64_t block) const { return &sums8_[size_t(block) * size_t(n_tokens_)]; }

private:
  std::vector<Value> values_;
  std::vector<float> scales_;
  std::vector<int32_t> sums8_;
  int n_tokens_ = 0;
  int64_t cols_ = 0;
};

// Scratch for batched products: a few weight rows widened to int16 once, then read for every token.
struct WidenedRows {
  std::vector<int16_t> values;  // [4 rows][cols]
  std::vector<float> scales;    // [block][4 rows]  d as a float
  void reserve(int64_t max_cols);
};

// y[t * y_stride + r] = sum over blocks of d_w * d_x * (integer dot), for every weight row r of the
// `rows` rows at w (row_bytes apart) and every token t of x. Each (row, token) pair is summed in
// the same order whatever the number of tokens, so decode and batched prefill agree exactly.
void matmul_q8_0(const uint8_t* w, size_t row_bytes, int64_t rows, const QuantizedActivations& x, WidenedRows& scratch,
                 float* y, int64_t y_stride);
void matmul_q4_0(const uint8_t* w, size_t row_bytes, int64_t rows, const QuantizedActivations& x, WidenedRows& scratch,
                 float* y, int64_t y_stride);

}  // namespace ringlm
