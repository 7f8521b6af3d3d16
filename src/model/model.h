// model.h — a decoder-only transformer: its hyperparameters, how its architecture differs from the
// others (ArchTraits), and its weights, as views into a GgufFile.
//
// Nothing is copied: every weight points into the loaded file, which must outlive the Model.
// Shapes are written as ggml does, innermost first: [cols, rows] is `rows` rows of `cols` values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "common/status.h"

namespace ringlm {

// How an architecture differs from the others: the one place that says so. The forward pass is
// shared and reads these flags; model.cpp holds the table (kArchitectures) and binds the tensors.
enum class NormKind { RMS, Layer };             // x/rms(x)*w, or (x-mean)/std*w + b
enum class RopeStyle { None, Adjacent, Neox };  // pairs (2i, 2i+1), or (i, i + rope_dims/2)
// down(silu(gate x) * up x), down(gelu(up x)) (biases below), or down(gelu(gate x) * up x) (GeGLU, Gemma);
// SwiGLUFused is SwiGLU with gate and up in one ffn_up tensor of 2 * ffn_dim rows, the gate's first
// (ggml_swiglu's split, as in Phi-3).
enum class FfnKind { SwiGLU, GELU, SwiGLUFused, GeGLU };
enum class Bias { None, Optional, Required };   // a bias tensor the architecture never has, may have, must have

struct ArchTraits {
  const char* name;          // general.architecture
  NormKind norm;
  const char* eps_key;       // the norm epsilon's key, after "<arch>."
  RopeStyle rope;
  bool learned_positions;    // position_embd rows are added to the embeddings (no RoPE)
  bool fused_qkv;            // one attn_qkv tensor instead of attn_q/attn_k/attn_v
  Bias qkv_bias;             // attn_q/k/v.bias (or attn_qkv.bias)
  Bias out_bias;             // attn_output.bias
  Bias ffn_bias;             // ffn_gate/ffn_up/ffn_down.bias
  Bias output_bias;          // output.bias
  FfnKind ffn;
  bool qk_norm;              // attn_q_norm/attn_k_norm: each head of q and k RMS-normed before RoPE (Qwen3)
  bool rope_freqs;           // may carry rope_freqs.weight, per-pair RoPE frequency factors (Llama 3.1/3.2)
  int no_rope_every;         // n > 0: layers l with (l+1) % n == 0 have no RoPE (SmolLM3's rule, not in the file)
  // rope.dimension_count may be less than the head size: only the leading dims rotate (Phi-4-mini's
  // 96 of 128); llama.cpp allows it where its graph does not assert n_rot == head size.
  bool partial_rope = false;
  // Gemma 2 and 3: embeddings times sqrt(dim), a norm after attention and after the FFN (post_attention_norm,
  // post_ffw_norm), interleaved sliding-window layers, soft-capping (see read_gemma in model.cpp).
  bool gemma_blocks = false;
  // Phi-3: may carry LongRoPE's two sets of per-pair RoPE frequency factors, rope_factors_short.weight and
  // rope_factors_long.weight; which one turns the angles depends on the context size (Model::rope_factors).
  bool long_rope = false;
};

// The architectures ringlm runs, or null with the list of supported names in *supported.
const ArchTraits* find_architecture(const std::string& name, std::string* supported);

struct Config {
  std::string architecture;  // general.architecture ("llama", "qwen2", "gpt2")
  int dim = 0;               // embedding_length
  int n_layers = 0;          // block_count
  int n_heads = 0;           // attention.head_count
  int n_kv_heads = 0;        // attention.head_count_kv (grouped-query attention when < n_heads)
  int head_dim = 0;          // dim / n_heads (or attention.key_length)
  int ffn_dim = 0;           // feed_forward_length
  int vocab_size = 0;        // rows of token_embd
  int context_length = 0;    // the length the model was trained for
  int rope_dims = 0;         // rope.dimension_count: leading dims of each head that rotate (0: no RoPE)
  float rope_base = 10000.0f;   // rope.freq_base
  float rope_scale = 1.0f;      // angle multiplier (1 / rope.scaling.factor for linear scaling)
  // rope.scaling.attn_factor: multiplies the cosines and sines of every rotation (so the rotated part of each
  // query and key, and the scores by its square), as ggml's rope does with llama.cpp's attn_factor. Phi-3's
  // converter writes LongRoPE's sqrt(1 + ln(context / original) / ln(original)) here.
  float rope_attn_factor = 1.0f;
  // rope.scaling.original_context_length (default context_length): the context the model was trained at
  // before its RoPE was extended. LongRoPE's long factors are used when the context is larger.
  int rope_original_context = 0;
  int no_rope_every = 0;        // ArchTraits::no_rope_every
  float norm_eps = 1e-5f;       // attention.layer_norm_rms_epsilon (or layer_norm_epsilon)
  float query_scale = 0.0f;     // multiplies q·k: 1/sqrt(head_dim), except Gemma 3 27B's rule
  float embed_scale = 1.0f;     // multiplies the embeddings (Gemma: sqrt(dim))
  float final_softcap = 0.0f;   // > 0: logits = cap * tanh(logits / cap) (final_logit_softcapping)
  float attn_softcap = 0.0f;    // > 0: scores = cap * tanh(scores / cap), after the query scale (Gemma 2's attn_logit_softcapping)
  // Sliding-window (local) attention, llama.cpp's standard kind: a query at position p of a local layer
  // sees positions p - sliding_window + 1 .. p. Layer l is local unless l % swa_period == swa_period - 1
  // (period 0: every layer local). Local layers turn RoPE by rope_base_swa, times rope_scale_swa.
  int sliding_window = 0;       // 0: no local layers
  int swa_period = 0;
  float rope_base_swa = 10000.0f;
  float rope_scale_swa = 1.0f;

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
  // Whether layer l rotates its queries and keys (RoPE architectures leave some layers out).
  bool rope_in_layer(int l) const { return rope_dims > 0 && (no_rope_every == 0 || (l + 1) % no_rope_every != 0); }
  // Whether layer l attends only within the sliding window.
  bool local_layer(int l) const { return sliding_window > 0 && (swa_period == 0 || l % swa_period < swa_period - 1); }
};

// A weight matrix or vector: a non-owning view of one tensor of the file.
struct Weight {
  const char* name = "";  // for messages; points into the file
  TensorType type = TensorType::F32;
  const uint8_t* data = nullptr;
  int64_t cols = 0;       // ne[0]: values per row (the input size of a matmul)
  int64_t rows = 0;       // ne[1]: rows (the output size)
  size_t row_bytes = 0;
  bool repacked = false;  // Q4_K rows regrouped in place at load for the decode kernels (matmul.h: repack_weight)

  const uint8_t* row(int64_t r) const { return data + size_t(r) * row_bytes; }
};

// A bias (or LayerNorm shift) is an F32 vector; `data == nullptr` means the file has none.
// With a fused attn_qkv tensor, wq/wk/wv (and their biases) are views of its three row ranges.
struct LayerWeights {
  Weight attn_norm, attn_norm_b;  // [dim]             F32 (bias: LayerNorm only)
  Weight wq, bq;                  // [dim, q_dim]      [q_dim]
  Weight wk, bk;                  // [dim, kv_dim]     [kv_dim]
  Weight wv, bv;                  // [dim, kv_dim]     [kv_dim]
  Weight q_norm, k_norm;          // [head_dim]        F32, qk_norm architectures only
  Weight wo, bo;                  // [q_dim, dim]      [dim]
  Weight attn_post_norm;          // [dim]             F32, gemma_blocks only: RMS norm of the attention output
  Weight ffn_norm, ffn_norm_b;    // [dim]             F32
  Weight w_gate, b_gate;          // [dim, ffn_dim]    [ffn_dim]   SwiGLU only
  Weight w_up, b_up;              // [dim, ffn_dim]    [ffn_dim]
  Weight w_down, b_down;          // [ffn_dim, dim]    [dim]
  Weight ffn_post_norm;           // [dim]             F32, gemma_blocks only: RMS norm of the FFN output
};

struct Model {
  Config config;
  const ArchTraits* arch = nullptr;
  Weight token_embd;     // [dim, vocab]     row t is token t's embedding
  Weight position_embd;  // [dim, context_length]  learned positions only: row p is added at position p
  Weight rope_freqs;     // [rope_dims/2]    F32, optional: RoPE pair i turns by its angle / rope_freqs[i]
  Weight rope_factors_short, rope_factors_long;  // [rope_dims/2] F32, LongRoPE (both or neither), as rope_freqs
  std::vector<LayerWeights> layers;
  Weight output_norm, output_norm_b;  // [dim]  F32
  Weight output;       // [dim, vocab]     token_embd itself when the file ties them
  Weight output_b;     // [vocab]          rarely present (qwen2 allows it)
  bool tied_output = false;

  // Read the hyperparameters and bind every weight, checking names, shapes and types. Every tensor
  // and every "<arch>." key of the file is used or left alone by a named rule (model_audit.h);
  // anything else is an error that names it. A file parsed from its header alone (parse_header) gives
  // the hyperparameters and a model whose weights have no data: for sizing a load, never for running.
  static Status from_gguf(const GgufFile& file, Model* out);

  // The RoPE frequency factors a context of `context_size` tokens runs with (null: none): rope_freqs, or
  // LongRoPE's long factors when the context exceeds the original one, else its short factors. This is
  // llama.cpp's rule (llama_model::get_rope_factors, with n_ctx_seq the context size), fixed for the
  // context's life: the factors do not change as a conversation grows.
  const float* rope_factors(int context_size) const;

  // Bytes of weight data the forward pass reads per token (every matrix once; one embedding row).
  uint64_t weight_bytes() const;
};

}  // namespace ringlm
