#include "model/model.h"

#include <cstdio>

#include "kernels/matmul.h"

namespace ringlm {

namespace {

// Read an integer hyperparameter into an int, checking it is present (if required) and in (0, max].
Status get_dim(const GgufFile& f, const std::string& key, int* out, bool required, int64_t max = 1 << 24) {
  uint64_t v = uint64_t(*out);
  RINGLM_TRY(f.get_uint(key, &v, required));
  if (v == 0 || v > uint64_t(max)) {
    return Status::error("key '" + key + "' is " + std::to_string(v) + " (expected 1 to " + std::to_string(max) + ")");
  }
  *out = int(v);
  return Status();
}

// Bind tensor `name` as a weight of shape [cols] (rows == 0) or [cols, rows].
Status bind_weight(const GgufFile& f, const std::string& name, int64_t cols, int64_t rows, Weight* w, bool vector_f32) {
  const GgufTensor* t = f.find_tensor(name);
  if (!t) return Status::error("missing tensor '" + name + "'");
  const bool shape_ok = rows == 0 ? (t->n_dims == 1 && t->ne[0] == cols)
                                  : (t->n_dims == 2 && t->ne[0] == cols && t->ne[1] == rows);
  if (!shape_ok) {
    const std::string want = rows == 0 ? "[" + std::to_string(cols) + "]"
                                       : "[" + std::to_string(cols) + ", " + std::to_string(rows) + "]";
    return Status::error("tensor '" + name + "' has shape " + t->shape_string() + ", expected " + want);
  }
  if (vector_f32 && t->type != TensorType::F32) {
    return Status::error("tensor '" + name + "' has type " + tensor_type_name(uint32_t(t->type)) + ", expected F32");
  }
  if (!weight_kernels(t->type)) {
    return Status::error("tensor '" + name + "' has type " + tensor_type_name(uint32_t(t->type)) +
                         ", which ringlm does not support yet (supported: " + weight_kernel_type_names() + ")");
  }
  w->name = t->name.data();
  w->type = t->type;
  w->data = t->data;
  w->cols = t->ne[0];
  w->rows = rows == 0 ? 1 : t->ne[1];
  w->row_bytes = size_t(t->nbytes / uint64_t(w->rows));
  return Status();
}

// A bias or norm vector of n floats that the file may leave out (then w stays empty).
Status bind_optional_vector(const GgufFile& f, const std::string& name, int64_t n, Weight* w) {
  if (!f.find_tensor(name)) return Status();
  return bind_weight(f, name, n, 0, w, true);
}

// Rows [first, first + count) of a matrix, or floats [first, first + count) of a vector (rows == 1
// and count < cols): a view of part of a fused tensor.
Weight slice(const Weight& w, int64_t first, int64_t count, bool vector) {
  if (!w.data) return w;
  Weight s = w;
  if (vector) {
    s.data = w.data + size_t(first) * sizeof(float);
    s.cols = count;
    s.row_bytes = size_t(count) * sizeof(float);
  } else {
    s.data = w.row(first);
    s.rows = count;
  }
  return s;
}

//                 name     norm             eps key                              rope               learned fused  qkv_b  out_b  ffn
const ArchTraits kArchitectures[] = {
    {"llama", NormKind::RMS, "attention.layer_norm_rms_epsilon", RopeStyle::Adjacent, false, false, false, false, FfnKind::SwiGLU},
    {"qwen2", NormKind::RMS, "attention.layer_norm_rms_epsilon", RopeStyle::Neox, false, false, false, false, FfnKind::SwiGLU},
    {"gpt2", NormKind::Layer, "attention.layer_norm_epsilon", RopeStyle::None, true, true, true, true, FfnKind::GELU},
};

}  // namespace

const ArchTraits* find_architecture(const std::string& name, std::string* supported) {
  supported->clear();
  for (const ArchTraits& a : kArchitectures) {
    if (name == a.name) return &a;
    *supported += (supported->empty() ? "" : ", ") + std::string(a.name);
  }
  return nullptr;
}

Status Model::from_gguf(const GgufFile& f, Model* out) {
  Model m;
  Config& c = m.config;
  RINGLM_TRY(f.get_string("general.architecture", &c.architecture, true));
  std::string supported;
  m.arch = find_architecture(c.architecture, &supported);
  if (!m.arch) return Status::error("architecture '" + c.architecture + "' is not supported (supported: " + supported + ")");
  const ArchTraits& arch = *m.arch;
  const std::string a = c.architecture + ".";
  if (const GgufValue* h = f.find(a + "attention.head_count"); h && h->type == GgufValueType::ARRAY) {
    return Status::error("key '" + a + "attention.head_count' is a per-layer array, which is not supported");
  }
  RINGLM_TRY(get_dim(f, a + "embedding_length", &c.dim, true));
  RINGLM_TRY(get_dim(f, a + "block_count", &c.n_layers, true, 4096));
  RINGLM_TRY(get_dim(f, a + "attention.head_count", &c.n_heads, true, 4096));
  c.n_kv_heads = c.n_heads;
  RINGLM_TRY(get_dim(f, a + "attention.head_count_kv", &c.n_kv_heads, false, 4096));
  RINGLM_TRY(get_dim(f, a + "feed_forward_length", &c.ffn_dim, true));
  c.context_length = 2048;
  RINGLM_TRY(get_dim(f, a + "context_length", &c.context_length, false, 1 << 30));
  if (c.dim % c.n_heads != 0) {
    return Status::error("embedding_length " + std::to_string(c.dim) + " is not a multiple of head_count " + std::to_string(c.n_heads));
  }
  c.head_dim = c.dim / c.n_heads;
  RINGLM_TRY(get_dim(f, a + "attention.key_length", &c.head_dim, false, 1 << 16));
  int value_length = c.head_dim;
  RINGLM_TRY(get_dim(f, a + "attention.value_length", &value_length, false, 1 << 16));
  if (value_length != c.head_dim) {
    return Status::error("attention.key_length " + std::to_string(c.head_dim) + " != attention.value_length " +
                         std::to_string(value_length) + " is not supported");
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    return Status::error("head_count " + std::to_string(c.n_heads) + " is not a multiple of head_count_kv " + std::to_string(c.n_kv_heads));
  }
  double d = c.rope_base;
  if (arch.rope != RopeStyle::None) {
    c.rope_dims = c.head_dim;
    RINGLM_TRY(get_dim(f, a + "rope.dimension_count", &c.rope_dims, false, 1 << 16));
    if (c.rope_dims > c.head_dim || c.rope_dims % 2 != 0) {
      return Status::error("rope.dimension_count " + std::to_string(c.rope_dims) + " must be even and at most the head size " +
                           std::to_string(c.head_dim));
    }
    RINGLM_TRY(f.get_float(a + "rope.freq_base", &d, false));
    c.rope_base = float(d);
    std::string scaling = "none";
    RINGLM_TRY(f.get_string(a + "rope.scaling.type", &scaling, false));
    if (scaling == "linear") {
      double factor = 1.0;
      RINGLM_TRY(f.get_float(a + "rope.scaling.factor", &factor, false));
      if (factor > 0) c.rope_scale = float(1.0 / factor);
    } else if (scaling != "none") {
      return Status::error("rope.scaling.type '" + scaling + "' is not supported (supported: none, linear)");
    }
  }
  d = c.norm_eps;
  RINGLM_TRY(f.get_float(a + arch.eps_key, &d, false));
  c.norm_eps = float(d);
  if (!(c.rope_base > 0) || !(c.norm_eps >= 0)) {
    return Status::error("rope.freq_base and " + std::string(arch.eps_key) + " must be positive");
  }

  // The vocabulary size is the embedding's row count.
  const GgufTensor* embd = f.find_tensor("token_embd.weight");
  if (!embd) return Status::error("missing tensor 'token_embd.weight'");
  if (embd->n_dims != 2 || embd->ne[1] > (1 << 24)) {
    return Status::error("tensor 'token_embd.weight' has shape " + embd->shape_string() + ", expected [" +
                         std::to_string(c.dim) + ", vocab]");
  }
  c.vocab_size = int(embd->ne[1]);
  RINGLM_TRY(bind_weight(f, "token_embd.weight", c.dim, c.vocab_size, &m.token_embd, false));
  if (arch.learned_positions) {
    RINGLM_TRY(bind_weight(f, "position_embd.weight", c.dim, c.context_length, &m.position_embd, false));
  }

  // A required vector, or one bound only when the file has it.
  auto vector = [&](const std::string& name, int64_t n, bool required, Weight* w) {
    return required ? bind_weight(f, name, n, 0, w, true) : bind_optional_vector(f, name, n, w);
  };
  const bool layer_norm = arch.norm == NormKind::Layer, gelu = arch.ffn == FfnKind::GELU;
  const int64_t q_dim = c.q_dim(), kv_dim = c.kv_dim();
  m.layers.resize(size_t(c.n_layers));
  for (int l = 0; l < c.n_layers; l++) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LayerWeights& L = m.layers[size_t(l)];
    RINGLM_TRY(bind_weight(f, p + "attn_norm.weight", c.dim, 0, &L.attn_norm, true));
    if (layer_norm) RINGLM_TRY(vector(p + "attn_norm.bias", c.dim, true, &L.attn_norm_b));
    if (arch.fused_qkv) {
      // Q, K and V rows one after the other in one tensor: three views, no copy.
      Weight qkv, qkv_b;
      RINGLM_TRY(bind_weight(f, p + "attn_qkv.weight", c.dim, q_dim + 2 * kv_dim, &qkv, false));
      RINGLM_TRY(vector(p + "attn_qkv.bias", q_dim + 2 * kv_dim, arch.qkv_bias_required, &qkv_b));
      L.wq = slice(qkv, 0, q_dim, false), L.bq = slice(qkv_b, 0, q_dim, true);
      L.wk = slice(qkv, q_dim, kv_dim, false), L.bk = slice(qkv_b, q_dim, kv_dim, true);
      L.wv = slice(qkv, q_dim + kv_dim, kv_dim, false), L.bv = slice(qkv_b, q_dim + kv_dim, kv_dim, true);
    } else {
      RINGLM_TRY(bind_weight(f, p + "attn_q.weight", c.dim, q_dim, &L.wq, false));
      RINGLM_TRY(bind_weight(f, p + "attn_k.weight", c.dim, kv_dim, &L.wk, false));
      RINGLM_TRY(bind_weight(f, p + "attn_v.weight", c.dim, kv_dim, &L.wv, false));
      RINGLM_TRY(vector(p + "attn_q.bias", q_dim, arch.qkv_bias_required, &L.bq));
      RINGLM_TRY(vector(p + "attn_k.bias", kv_dim, arch.qkv_bias_required, &L.bk));
      RINGLM_TRY(vector(p + "attn_v.bias", kv_dim, arch.qkv_bias_required, &L.bv));
    }
    RINGLM_TRY(bind_weight(f, p + "attn_output.weight", q_dim, c.dim, &L.wo, false));
    if (arch.out_bias) RINGLM_TRY(vector(p + "attn_output.bias", c.dim, true, &L.bo));
    RINGLM_TRY(bind_weight(f, p + "ffn_norm.weight", c.dim, 0, &L.ffn_norm, true));
    if (layer_norm) RINGLM_TRY(vector(p + "ffn_norm.bias", c.dim, true, &L.ffn_norm_b));
    if (!gelu) RINGLM_TRY(bind_weight(f, p + "ffn_gate.weight", c.dim, c.ffn_dim, &L.w_gate, false));
    RINGLM_TRY(bind_weight(f, p + "ffn_up.weight", c.dim, c.ffn_dim, &L.w_up, false));
    RINGLM_TRY(bind_weight(f, p + "ffn_down.weight", c.ffn_dim, c.dim, &L.w_down, false));
    if (gelu) {
      RINGLM_TRY(vector(p + "ffn_up.bias", c.ffn_dim, true, &L.b_up));
      RINGLM_TRY(vector(p + "ffn_down.bias", c.dim, true, &L.b_down));
    }
  }
  RINGLM_TRY(bind_weight(f, "output_norm.weight", c.dim, 0, &m.output_norm, true));
  if (layer_norm) RINGLM_TRY(vector("output_norm.bias", c.dim, true, &m.output_norm_b));
  if (f.find_tensor("output.weight")) {
    RINGLM_TRY(bind_weight(f, "output.weight", c.dim, c.vocab_size, &m.output, false));
  } else {
    m.output = m.token_embd;  // tied embeddings
    m.tied_output = true;
  }
  RINGLM_TRY(bind_optional_vector(f, "output.bias", c.vocab_size, &m.output_b));
  *out = std::move(m);
  return Status();
}

uint64_t Model::weight_bytes() const {
  auto bytes = [](const Weight& w) { return w.data ? uint64_t(w.row_bytes) * uint64_t(w.rows) : 0; };
  uint64_t total = bytes(output) + bytes(output_b) + bytes(output_norm) + bytes(output_norm_b) + token_embd.row_bytes +
                   (position_embd.data ? position_embd.row_bytes : 0);
  for (const LayerWeights& L : layers) {
    for (const Weight* w : {&L.attn_norm, &L.attn_norm_b, &L.wq, &L.bq, &L.wk, &L.bk, &L.wv, &L.bv, &L.wo, &L.bo,
                            &L.ffn_norm, &L.ffn_norm_b, &L.w_gate, &L.w_up, &L.b_up, &L.w_down, &L.b_down}) {
      total += bytes(*w);
    }
  }
  return total;
}

}  // namespace ringlm
