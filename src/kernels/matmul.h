// matmul.h — y = W x for a batch of tokens, for every weight type, through one table of what each
// type computes with.
//
// One call multiplies a weight matrix by the activations of `n_tokens` tokens. The activations are
// prepared once per call in the form llama.cpp uses for the weight type (f16-rounded for F16,
// bf16-rounded for BF16, Q8_0 blocks for Q8_0, Q4_0, Q5_0 and Q5_1 (with Q8_1's sums), Q8_K for the
// K-quants) so our sums match its sums. Then one tiling loop cuts the product into tiles of a few
// weight rows by a few tokens and hands each to the type's tile kernel (tile.h): inside a tile each
// weight is loaded once for all its tokens and each activation once for all its rows, so batched
// prefill does far fewer loads per multiply than one matrix-vector product per token; decode (one
// token) takes rows far apart, which keeps several streams and independent sums in flight. On
// several threads (a `Threads` argument: which pool, how many of its threads), the activations are
// prepared a few tokens per thread and the rows are split into ranges across threads: each token is
// prepared and each row summed by one thread in the same order, so the results do not depend on the
// number of threads.
//
// Adding a weight type: its block layout and dequantizer (gguf/tensor_type.*), its tile kernels and
// scalar reference (kernels/), and one row of the table in matmul.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/thread_pool.h"
#include "gguf/tensor_type.h"
#include "kernels/quant.h"
#include "kernels/tile.h"
#include "model/model.h"

namespace ringlm {

struct MatmulScratch;

// A layout that a type's kernels read faster than the file's, written in place at load
// (repack_weight): groups of `group_rows` neighbouring rows rewritten in the same bytes.
struct RepackedKernels {
  int group_rows;
  void (*repack)(uint8_t* data, int64_t rows, int64_t cols, std::vector<uint8_t>& temp);
  void (*unpack_group)(const uint8_t* group, int64_t cols, uint8_t* rows);  // a group back to the file's rows
  const TileKernel* decode;   // read the groups; rows past the last group keep the file's layout and
  const TileKernel* prefill;  // the type's own kernels
};

// What ringlm computes with one weight type: a row of the table in matmul.cpp.
struct WeightKernels {
  TensorType type;
  // The activations in the form the kernels read, prepared into `scratch`, tokens split across `threads`.
  Activations (*prepare)(const float* x, int64_t stride, int n_tokens, int64_t cols, MatmulScratch& scratch,
                         Threads threads);
  const TileKernel* decode;   // one token
  const TileKernel* prefill;  // a batch
  // One row . one token as the scalar references compute it (x prepared as llama.cpp's reference
  // code prepares it), which the tests hold the tile kernels to.
  float (*reference)(const uint8_t* row, const float* x, int64_t n);
  void (*dequantize)(const uint8_t* row, float* out, int64_t n);  // the row's values as floats
  // Its repacked layout, in builds that have kernels for one (null: the file's layout only).
  const RepackedKernels* repacked = nullptr;
};

// The row for `type`, or null when ringlm has no kernels for it.
const WeightKernels* weight_kernels(TensorType type);
// The names of the types that have a row, "F32, F16, ...", for messages.
std::string weight_kernel_type_names();

// Expand n values of a row of a type that has kernels into floats (other types give zeros).
void dequantize_row(TensorType type, const void* row, float* out, int64_t n);

// Buffers for prepared activations, sized once at load for the largest batch and row length, and
// each thread's own buffers for the threads that may share a product.
struct MatmulScratch {
  std::vector<float> rounded;      // [n_tokens][cols]  F16 / BF16 weights: activations rounded to f16 / bf16
  QuantizedActivations quantized;  //                   Q8_0 / Q4_0 / Q5_0 / Q5_1 weights
  KActivations kquantized;         //                   Q4_K / Q5_K / Q6_K weights
  struct PerThread {
    std::vector<float> widened;    //                   rows a batch's tile kernel converts first (TileKernel::widen)
  };
  std::vector<PerThread> per_thread;  // [threads]

  // Products on up to `threads` threads (a product asked for more uses this many).
  void reserve(int max_tokens, int64_t max_cols, int threads = 1);
  int threads() const { return int(per_thread.size()); }
  uint64_t bytes() const;  // what reserve() allocated
  // What reserve(max_tokens, max_cols, pool, threads) allocates, to state a memory budget before allocating it.
  static uint64_t bytes_for(int max_tokens, int64_t max_cols, int threads = 1);
};

// y[t * y_stride + r] = sum_i W[r][i] * x[t * x_stride + i], for r < rows, t < n_tokens.
// A token's results do not depend on n_tokens (the sums run in the same order in every tile), nor on
// `threads` (by default the calling thread alone).
void matmul(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride,
            MatmulScratch& scratch, Threads threads = {});

// Several products of the same activations (attention's q, k and v; the FFN's gate and up) as one
// split across the threads: one wait for the threads instead of one per product, and the
// activations prepared once per form. Each product's results are the bits matmul() gives.
struct MatmulOutput {
  const Weight* w;  // w->cols values per row, the same for every output of a call
  float* y;
  int64_t y_stride;
};
void matmul_many(const MatmulOutput* outputs, int count, const float* x, int64_t x_stride, int n_tokens,
                 MatmulScratch& scratch, Threads threads = {});

// Whether the engine should repack `type` at load: where its kernels read the repacked layout faster.
// Q4_K: the default wasm build, whose kernels multiply int16 pairs (in V8 the file's layout costs
// ~1.5x the instructions per weight). Natively SSSE3's maddubs reads the file's layout faster, and
// the relaxed build has its own kernels on it.
bool repacking_pays(TensorType type);
// Rewrite w's bytes (`data`: the same bytes as w->data, writable) into its type's repacked layout
// (WeightKernels::repacked), and mark w (repacked). False, with nothing changed, for a type this
// build has no repacked kernels for. Every SSE4.1 build has them, so the tests hold them to the
// file's kernels natively too, whether or not repacking pays there. A repacked weight must not be
// read as rows any more (embeddings: leave them alone); matmul reads it, and matmul_reference
// unpacks it.
bool repack_weight(Weight* w, uint8_t* data);

// The same product computed with the scalar references, for tests.
void matmul_reference(const Weight& w, const float* x, int64_t x_stride, int n_tokens, float* y, int64_t y_stride);

}  // namespace ringlm
