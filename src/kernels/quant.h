// quant.h — integer matrix products for quantized weights, as llama.cpp computes them.
//
// For Q8_0 and Q4_0 weights llama.cpp does not multiply floats: it first quantizes the activation
// vector to Q8_0 blocks (per 32 values: d = amax/127 stored as f16, q = round(x/d)), then sums
// d_w * d_x * (integer dot of the 32 quantized pairs) block by block. ringlm does the same, which
// is both faster (int8 reads) and what makes our logits match llama.cpp's. Q5_0 takes Q8_0
// activations too, Q5_1 Q8_1 (Q8_0 plus d * sum(q)), and the K-quants (Q4_K, Q5_K, Q6_K) Q8_K:
// 256-value blocks with a float scale; each sub-block's integer dot is scaled by its integer
// scale, and the block's integer total by d_w * d_x (the mins of Q4_K / Q5_K by dmin * d_x).
//
// The kernels are chosen at compile time: SSE4.1 intrinsics in the wasm build (Emscripten maps
// them onto SIMD128) and in the default native build (the same 128-bit instructions, so the same
// bits), AVX2 in the -DRINGLM_NATIVE_ARCH=ON build, plain C++ without SIMD; xsimd 8.1 has no
// widening integer operations, hence the per-ISA code. Each has the scalar references below
// (namespace ref) to be tested against. The Q5 and K-quant kernels are SSE4.1 in every SIMD build,
// AVX2 included (src/kernels/quant_k.cpp for the K-quants).
#pragma once

#include <cstdint>
#include <vector>

#include "gguf/tensor_type.h"

namespace ringlm {

// Quantize n values (n a multiple of 32) to n/32 Q8_0 blocks (llama.cpp's quantize_row_q8_0).
void quantize_row_q8_0(const float* x, BlockQ8_0* out, int64_t n);

// Q8_1 (Q5_1's activations): Q8_0 plus s = d * (sum of the q), stored as f16.
struct BlockQ8_1 { uint16_t d, s; int8_t qs[32]; };
void quantize_row_q8_1(const float* x, BlockQ8_1* out, int64_t n);

// Q8_K (the K-quants' activations, n a multiple of 256): per block of 256, the value of largest
// magnitude maps to -127, d = 1 / (-127 / that value) kept as a float, q rounded half to even.
void quantize_row_q8_K(const float* x, BlockQ8_K* out, int64_t n);

// Round each value to the nearest f16 (llama.cpp feeds F16 matmuls with f16 activations).
void round_to_fp16(const float* x, float* out, int64_t n);
// Likewise to bf16, for BF16 weights.
void round_to_bf16(const float* x, float* out, int64_t n);

// Convert n f16 values to float.
void fp16_to_fp32_row(const uint16_t* h, float* out, int64_t n);

namespace ref {
float dot_q8_0(const BlockQ8_0* w, const BlockQ8_0* x, int64_t n_blocks);
float dot_q4_0(const BlockQ4_0* w, const BlockQ8_0* x, int64_t n_blocks);
float dot_q5_0(const BlockQ5_0* w, const BlockQ8_0* x, int64_t n_blocks);
float dot_q5_1(const BlockQ5_1* w, const BlockQ8_1* x, int64_t n_blocks);
// K-quants: n_blocks blocks of 256.
float dot_q4_K(const BlockQ4_K* w, const BlockQ8_K* x, int64_t n_blocks);
float dot_q5_K(const BlockQ5_K* w, const BlockQ8_K* x, int64_t n_blocks);
float dot_q6_K(const BlockQ6_K* w, const BlockQ8_K* x, int64_t n_blocks);
}  // namespace ref

// The activations of one Q8_0 / Q4_0 / Q5_0 / Q5_1 matrix product (tile kernels in quant.cpp): n_tokens vectors quantized to Q8_0 blocks
// exactly as quantize_row_q8_0 does, stored once per product in the form the kernels read fastest.
//   values  [token][cols]   the quantized values q. wasm and scalar builds widen them to int16 and
//                           permute each block (its even values, then its odd ones, per half) so
//                           that the weights unpack with shifts alone; AVX2 keeps int8 in order.
//   scales  [block][token]  d as a float (the f16 value), tokens side by side for vector loads
//   sums8   [block][token]  8 * (sum of the block's q): Q4_0 weights are stored as w + 8, and
//                           sum((w + 8 - 8) q) = sum((w + 8) q) - 8 sum(q)  (Q5_0: w + 16, 2 * sums8)
//   q8_1_s  [block][token]  Q8_1's s = f16(d * sum(q)) as a float, for Q5_1 weights
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
  void quantize(const float* x, int64_t stride, int n_tokens, int64_t cols) {
    set_shape(n_tokens, cols);
    quantize_tokens(x, stride, 0, n_tokens);
  }
  // The same in parts, so that threads can share it: the shape first, then tokens [begin, end) of
  // x (each token's blocks are the same whoever quantizes them, and parts touch disjoint entries).
  void set_shape(int n_tokens, int64_t cols) { n_tokens_ = n_tokens, cols_ = cols; }
  void quantize_tokens(const float* x, int64_t stride, int begin, int end);

  uint64_t bytes() const { return values_.size() * sizeof(Value) + (scales_.size() + sums8_.size() + q8_1_s_.size()) * 4; }
  static uint64_t bytes_for(int max_tokens, int64_t max_cols);  // what reserve() allocates
  int n_tokens() const { return n_tokens_; }
  int64_t cols() const { return cols_; }
  const Value* values(int token) const { return &values_[size_t(token) * size_t(cols_)]; }
  // Per-block rows of n_tokens entries, padded so a 4-token vector load from any token is in bounds.
  const float* scales(int64_t block) const { return &scales_[size_t(block) * size_t(n_tokens_)]; }
  const int32_t* sums8(int64_t block) const { return &sums8_[size_t(block) * size_t(n_tokens_)]; }
  const float* q8_1_s(int64_t block) const { return &q8_1_s_[size_t(block) * size_t(n_tokens_)]; }

private:
  std::vector<Value> values_;
  std::vector<float> scales_;
  std::vector<int32_t> sums8_;
  std::vector<float> q8_1_s_;
  int n_tokens_ = 0;
  int64_t cols_ = 0;
};

// The activations of one K-quant matrix product (tile kernels in quant_k.cpp): n_tokens vectors quantized to Q8_K exactly as
// quantize_row_q8_K does (cols a multiple of 256).
//   values  [token][cols]         q as int8, in order: the kernels multiply weight bytes by them
//                                 directly (maddubs natively, extending multiplies in wasm)
//   scales  [token][block]        d
//   sums16  [token][cols / 16]    sum of each 16 q: Q8_K's bsums (Q6_K's offset of 32)
//   sums32  [token][cols / 32]    sum of each 32 q (for the mins of Q4_K / Q5_K)
//   pairs   [token][cols]         q as int16, each 16 of them as the 8 at even places then the 8 at odd
//                                 places: the wasm kernels of Q4_K and Q6_K read a weight vector's
//                                 16-bit lanes as (even value, odd value) pairs and multiply them by
//                                 these with i32x4.dot_i16x8, which V8 compiles to one instruction
//                                 (wasm's extending int8 multiplies cost it 3 to 5)
class KActivations {
public:
  void reserve(int max_tokens, int64_t max_cols);
  void quantize(const float* x, int64_t stride, int n_tokens, int64_t cols) {
    set_shape(n_tokens, cols);
    quantize_tokens(x, stride, 0, n_tokens);
  }
  // In parts, as QuantizedActivations.
  void set_shape(int n_tokens, int64_t cols) { n_tokens_ = n_tokens, cols_ = cols; }
  void quantize_tokens(const float* x, int64_t stride, int begin, int end);

  uint64_t bytes() const {
    return values_.size() * sizeof(int8_t) + (pairs_.size() + sums16_.size() + sums32_.size()) * sizeof(int16_t) +
           scales_.size() * sizeof(float);
  }
  static uint64_t bytes_for(int max_tokens, int64_t max_cols);
  int n_tokens() const { return n_tokens_; }
  int64_t cols() const { return cols_; }
  const int8_t* values(int token) const { return &values_[size_t(token) * size_t(cols_)]; }
  const float* scales(int token) const { return &scales_[size_t(token) * size_t(cols_ / kQK)]; }
  const int16_t* sums16(int token) const { return &sums16_[size_t(token) * size_t(cols_ / 16)]; }
  const int16_t* sums32(int token) const { return &sums32_[size_t(token) * size_t(cols_ / 32)]; }
  const int16_t* pairs(int token) const { return &pairs_[size_t(token) * size_t(cols_)]; }

private:
  std::vector<int8_t> values_;
  std::vector<int16_t> pairs_;
  std::vector<float> scales_;
  std::vector<int16_t> sums16_;
  std::vector<int16_t> sums32_;
  int n_tokens_ = 0;
  int64_t cols_ = 0;
};

// Q4_K rows repacked at load for the decode kernels (quant_k.cpp; matmul.h: repack_weight): each
// group of 4 neighbouring rows (rows 4g .. 4g + 3) is rewritten in place, in the same bytes, block by
// block as the four rows' blocks b interleaved: f16 d and dmin of each row, the 6-bit scales and
// mins unpacked into bytes and nibbles, and the nibbles of the four rows side by side in each 16-bit
// lane, in the order of KActivations::pairs. Rows past the last group of 4 stay as they are.
// `temp` holds a group while it is rewritten (4 rows; grown when needed).
void repack_q4_K(uint8_t* data, int64_t rows, int64_t cols, std::vector<uint8_t>& temp);
// A repacked group of 4 rows of `cols` values back into the file's layout (4 rows, for tests and
// the scalar reference).
void unpack_q4_K_group(const uint8_t* group, int64_t cols, uint8_t* rows4);

}  // namespace ringlm
