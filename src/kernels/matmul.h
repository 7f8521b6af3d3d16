// matmul.h — y = W x for a batch of tokens, for every weight type.
//
// One call multiplies a weight matrix by the activations of `n_tokens` tokens. The work is cut into
// tiles of a few weight rows by a few tokens: inside a tile each weight is loaded once for all its
// tokens and each activation once for all its rows, so batched prefill does far fewer loads per
// multiply than one matrix-vector product per token. Decode (one token) uses tiles of several rows,
// which keep several independent sums in flight while the weights stream in from memory.
// Activations are prepared once per call in the form llama.cpp uses for the weight type (f16-rounded
// for F16, bf16-rounded for BF16, Q8_0 blocks for Q8_0, Q4_0 and Q5_0, Q8_1 for Q5_1, Q8_K for the
// K-quants) so our sums match its sums. With a thread pool, the rows are split into ranges across
// threads: each row is still summed by one thread in the same order, so the results do not depend
// on the number of threads.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model.h"
#include "kernels/quant.h"
#include "gguf/tensor_type.h"
#include "common/thread_pool.h"

namespace ringlm {

// Buffers for prepared activations, sized once at load for the largest batch and row length, and
// the threads that share each product.
struct MatmulScratch {
  std::vector<float> rounded;      // [n_tokens][cols]  F16 / BF16 weights: activations rounded to f16 / bf16
  QuantizedActivations quantized;  //                   Q8_0 / Q4_0 / Q5_0 / Q5_1 weights
  KActivations kquantized;         //                   Q4_K / Q5_K / Q6_K weights
  struct PerThread {
    WidenedRows widened;           //                   Q8_0 / Q4_0 weights, batched
    std::vector<float> wide_rows;  // [4][cols]         F16 / BF16 weights, batched: rows as floats
  };
  std::vector<PerThread> per_thread;  // [threads]
  ThreadPool* pool = nullptr;         // not owned; null: the calling thread does all rows

  // `threads` (at most pool->size()) threads split each product's rows.
  void reserve(int max_tokens, int64_t max_cols, ThreadPool* pool = nullptr, int threads = 1);
  int threads() const { return int(per_thread.size()); }
  uint64_t bytes() const;  // what reserve() allocated
  // What reserve(max_tokens, max_cols, pool, threads) allocates, to state a memory budget before allocating it.
  static uint64_t bytes_for(int max_tokens, int64_t max_cols, int threads = 1);
};

// y[t * y_stride + r] = sum_i W[r][i] * x[t * x_stride + i], for r < rows, t < n_tokens.
// A token's results do not depend on n_tokens (the sums run in the same order in every tile).
void matmul(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride,
            MatmulScratch& scratch);

// The same product computed with the scalar references, for tests.
void matmul_reference(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride);

}  // namespace ringlm
