// matmul.h — y = W x for a batch of tokens, for every weight type.
//
// One call multiplies a weight matrix by the activations of `n_tokens` tokens. The loop runs over
// weight rows on the outside and tokens on the inside, so each row is read from memory once per
// batch and reused from cache for every token: that is what makes batched prefill cheaper than a
// loop of one-token forwards. Activations are prepared once per call in the form llama.cpp uses for
// the weight type (f16-rounded for F16, Q8_0 blocks for Q8_0 and Q4_0) so our sums match its sums.
#pragma once

#include <cstdint>
#include <vector>

#include "model.h"
#include "tensor_type.h"

namespace ringlm {

// Buffers for prepared activations, sized once at load for the largest batch and row length.
struct MatmulScratch {
  std::vector<float> rounded;     // [n_tokens][cols]       F16 weights
  std::vector<BlockQ8_0> blocks;  // [n_tokens][cols / 32]  Q8_0 / Q4_0 weights

  void reserve(int max_tokens, int64_t max_cols);
};

// y[t * y_stride + r] = sum_i W[r][i] * x[t * x_stride + i], for r < rows, t < n_tokens.
void matmul(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride,
            MatmulScratch& scratch);

// The same product computed with the scalar references, for tests.
void matmul_reference(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride);

}  // namespace ringlm
