// model.h — a Llama-family model: its hyperparameters and its weights, as views into a GgufFile.
//
// Nothing is copied: every weight points into the loaded file, which must outlive the Model.
// Shapes are written as ggml does, innermost first: [cols, rows] is `rows` rows of `cols` values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf.h"
#include "status.h"

namespace ringlm {

struct Config {
  std::string architecture;  // general.architecture ("llama")
  int dim = 0;               // embedding_length
  int n_layers = 0;          // block_count
  int n_heads = 0;           // attention.head_count
  int n_kv_heads = 0;        // attention.head_count_kv (grouped-query attention when < n_heads)
  int head_dim = 0;          // dim / n_heads (or attention.key_length)
  int ffn_dim = 0;           // feed_forward_length
  int vocab_size = 0;        // rows of token_embd
  int context_length = 0;    // the length the model was trained for
  int rope_dims = 0;         // rope.dimension_count: leading dims of each head that rotate
  float rope_base = 10000.0f;   // rope.freq_base
  float rope_scale = 1.0f;      // position multiplier (1 / rope.scaling.factor for linear scaling)
  float norm_eps = 1e-5f;       // attention.layer_norm_rms_epsilon

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

// A weight matrix or vector: a non-owning view of one tensor of the file.
struct Weight {
  const char* name = "";  // for messages; points into the file
  TensorType type = TensorType::F32;
  const uint8_t* data = nullptr;
  int64_t cols = 0;       // ne[0]: values per row (the input size of a matmul)
  int64_t rows = 0;       // ne[1]: rows (the output size)
  size_t row_bytes = 0;

  const uint8_t* row(int64_t r) const { return data + size_t(r) * row_bytes; }
};

struct LayerWeights {
  Weight attn_norm;  // [dim]             F32
  Weight wq;         // [dim, q_dim]
  Weight wk;         // [dim, kv_dim]
  Weight wv;         // [dim, kv_dim]
  Weight wo;         // [q_dim, dim]
  Weight ffn_norm;   // [dim]             F32
  Weight w_gate;     // [dim, ffn_dim]
  Weight w_up;       // [dim, ffn_dim]
  Weight w_down;     // [ffn_dim, dim]
};

struct Model {
  Config config;
  Weight token_embd;  // [dim, vocab]     row t is token t's embedding
  std::vector<LayerWeights> layers;
  Weight output_norm;  // [dim]            F32
  Weight output;       // [dim, vocab]     token_embd itself when the file ties them
  bool tied_output = false;

  // Read the hyperparameters and bind every weight, checking names, shapes and types.
  static Status from_gguf(const GgufFile& file, Model* out);

  // Bytes of weight data the forward pass reads per token (every matrix once; one embedding row).
  uint64_t weight_bytes() const;
};

}  // namespace ringlm
