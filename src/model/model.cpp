#include "model/model.h"

#include <cmath>
#include <cstdio>

#include "kernels/matmul.h"
#include "model/model_audit.h"

namespace ringlm {

namespace {

// Read an integer hyperparameter into an int, checking it is present (if required) and in (0, max].
Status get_dim(LoadLedger& f, const std::string& key, int* out, bool required, int64_t max = 1 << 24) {
  uint64_t v = uint64_t(*out);
  RINGLM_TRY(f.get_uint(key, &v, required));
  if (v == 0 || v > uint64_t(max)) {
    return Status::error("key '" + key + "' is " + std::to_string(v) + " (expected 1 to " + std::to_string(max) + ")");
  }
  *out = int(v);
  return Status();
}

// Bind tensor `name` as a weight of shape [cols] (rows == 0) or [cols, rows].
Status bind_weight(LoadLedger& f, const std::string& name, int64_t cols, int64_t rows, Weight* w, bool vector_f32) {
  const GgufTensor* t = f.use_tensor(name);
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
  const NonFiniteHalf bad = find_nonfinite_half(t->type, t->data, t->nbytes);
  if (bad.index >= 0) {
    const std::string where = std::string(bad.field) == "value" ? "value " + std::to_string(bad.index)
                                                                : std::string("the ") + bad.field + " of block " + std::to_string(bad.index);
    return Status::error("tensor '" + name + "' (" + tensor_type_name(uint32_t(t->type)) + ") holds an f16 infinity or NaN at " + where +
                         ": the file is damaged or was converted wrongly (no model computes anything meaningful from it)");
  }
  return Status();
}

// An F32 vector of n floats (a bias, a norm, RoPE factors): bound if required or present, as `bias`
// says; when the architecture never has it, left alone (so the audit names it if the file does).
Status bind_vector(LoadLedger& f, const std::string& name, int64_t n, Bias bias, Weight* w) {
  if (bias == Bias::None || (bias == Bias::Optional && !f.file().find_tensor(name))) return Status();
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

constexpr Bias kNo = Bias::None, kMay = Bias::Optional, kMust = Bias::Required;
constexpr const char* kRmsEps = "attention.layer_norm_rms_epsilon";
constexpr const char* kLayerEps = "attention.layer_norm_epsilon";

// Which tensors each architecture has, as llama.cpp's loader (src/models/<arch>.cpp) creates them:
// biases it reads when present are kMay; tensors it never creates are refused by the audit.
// Columns: name, norm, eps key, RoPE, learned positions, fused QKV, biases (qkv, attn output, ffn,
// output), FFN, q/k norm, rope_freqs, no RoPE every n layers, partial RoPE, Gemma blocks, LongRoPE (the
// last three default to false).
const ArchTraits kArchitectures[] = {
    {"llama",   NormKind::RMS,   kRmsEps, RopeStyle::Adjacent, false, false, kMay,  kMay,  kMay,  kNo,  FfnKind::SwiGLU, false, true,  0},
    {"qwen2",   NormKind::RMS,   kRmsEps, RopeStyle::Neox,     false, false, kMay,  kNo,   kNo,   kMay, FfnKind::SwiGLU, false, false, 0},
    {"qwen3",   NormKind::RMS,   kRmsEps, RopeStyle::Neox,     false, false, kMay,  kNo,   kNo,   kNo,  FfnKind::SwiGLU, true,  false, 0},
    {"smollm3", NormKind::RMS,   kRmsEps, RopeStyle::Adjacent, false, false, kMay,  kNo,   kNo,   kNo,  FfnKind::SwiGLU, false, false, 4},
    {"gemma3",  NormKind::RMS,   kRmsEps, RopeStyle::Neox,     false, false, kNo,   kNo,   kNo,   kNo,  FfnKind::GeGLU,  true,  false, 0, false, true},
    // gemma2: gemma3's block without the q/k norms, soft-capped attention scores, its output always the
    // embeddings (llama.cpp reads no output.weight for it: one in the file is refused by the audit).
    {"gemma2",  NormKind::RMS,   kRmsEps, RopeStyle::Neox,     false, false, kNo,   kNo,   kNo,   kNo,  FfnKind::GeGLU,  false, false, 0, false, true},
    {"gpt2",    NormKind::Layer, kLayerEps, RopeStyle::None,   true,  true,  kMust, kMust, kMust, kNo,  FfnKind::GELU,   false, false, 0},
    // phi3 (src/models/phi3.cpp): LongRoPE factor tensors where present; its sliding window is read and
    // not applied, as llama.cpp does (see Model::from_gguf).
    {"phi3",    NormKind::RMS,   kRmsEps, RopeStyle::Neox,     false, true,  kMay,  kNo,   kNo,   kNo,  FfnKind::SwiGLUFused, false, false, 0, true, false, true},
};

// RoPE hyperparameters, as llama.cpp reads them (llama_model_base::load_hparams, llama_context):
// rope.scaling.type defaults to linear, and the factor (rope.scaling.factor, or the older
// rope.scale_linear) then divides every angle; 'none' ignores the factor; YaRN and LongRoPE change
// the angles per frequency and are refused; llama.cpp aborts on any other type, ringlm refuses it.
Status read_rope(LoadLedger& f, const std::string& a, bool partial_ok, Config* c) {
  c->rope_dims = c->head_dim;
  RINGLM_TRY(get_dim(f, a + "rope.dimension_count", &c->rope_dims, false, 1 << 16));
  // llama.cpp's graphs for most of these architectures rotate whole heads (they assert it): a partial
  // rotation would have no reference to be held to. Where allowed, the rest of each head is left as is.
  if (partial_ok && c->rope_dims < c->head_dim) {
    if (c->rope_dims % 2 != 0) {
      return Status::error("key '" + a + "rope.dimension_count' is " + std::to_string(c->rope_dims) + ", which is odd: RoPE turns pairs");
    }
  } else if (c->rope_dims != c->head_dim) {
    return Status::error("key '" + a + "rope.dimension_count' is " + std::to_string(c->rope_dims) + ", but RoPE rotates whole heads of " +
                         std::to_string(c->head_dim) + " in this architecture (a partial rotation is not supported)");
  }
  if (c->rope_dims % 2 != 0) return Status::error("the head size " + std::to_string(c->head_dim) + " is odd: RoPE turns pairs");
  double base = c->rope_base;
  RINGLM_TRY(f.get_float(a + "rope.freq_base", &base, false));
  c->rope_base = float(base);
  if (!(c->rope_base > 0)) return Status::error("key '" + a + "rope.freq_base' must be positive");

  std::string scaling = "linear";
  RINGLM_TRY(f.get_string(a + "rope.scaling.type", &scaling, false));
  double factor = 0.0;
  if (f.file().find(a + "rope.scaling.factor")) {
    RINGLM_TRY(f.get_float(a + "rope.scaling.factor", &factor, false));
  } else {
    RINGLM_TRY(f.get_float(a + "rope.scale_linear", &factor, false));
  }
  if (!(factor >= 0) || std::isinf(factor)) {
    return Status::error("key '" + a + "rope.scaling.factor' is " + std::to_string(factor) + " (expected a positive number)");
  }
  if (scaling == "linear") {
    c->rope_scale = factor == 0.0 ? 1.0f : float(1.0 / factor);  // 0 (or absent): no scaling
  } else if (scaling == "yarn" || scaling == "longrope") {
    return Status::error("key '" + a + "rope.scaling.type' is '" + scaling + "' (" +
                         (scaling == "yarn" ? "YaRN" : "LongRoPE") + " RoPE scaling), which is not supported");
  } else if (scaling != "none") {
    return Status::error("key '" + a + "rope.scaling.type' is '" + scaling +
                         "', which is not a RoPE scaling type (llama.cpp knows none, linear, yarn and longrope)");
  }
  // llama.cpp multiplies ggml's rope by this in every architecture ringlm runs (whatever the scaling type).
  double attn_factor = c->rope_attn_factor;
  RINGLM_TRY(f.get_float(a + "rope.scaling.attn_factor", &attn_factor, false));
  if (!(attn_factor > 0) || std::isinf(attn_factor)) {
    return Status::error("key '" + a + "rope.scaling.attn_factor' is " + std::to_string(attn_factor) + " (expected a positive number)");
  }
  c->rope_attn_factor = float(attn_factor);
  // As in llama.cpp (llama_context: n_ctx_orig_yarn), absent or 0 means the training context.
  uint64_t original = 0;
  RINGLM_TRY(f.get_uint(a + "rope.scaling.original_context_length", &original, false));
  if (original > uint64_t(1 << 30)) {
    return Status::error("key '" + a + "rope.scaling.original_context_length' is " + std::to_string(original));
  }
  c->rope_original_context = original == 0 ? c->context_length : int(original);
  return Status();
}

// RoPE frequency factors: rope_dims/2 positive F32 values (pair i turns by its angle / factor i).
Status bind_rope_factors(LoadLedger& f, const std::string& name, const char* what, int rope_dims, Weight* w) {
  if (!f.file().find_tensor(name)) return Status();
  const GgufTensor* t = f.file().find_tensor(name);
  if (t->n_dims != 1 || t->ne[0] != rope_dims / 2) {
    return Status::error("tensor '" + name + "' (" + what + ") has shape " + t->shape_string() + ", expected [" +
                         std::to_string(rope_dims / 2) + "]: one factor per rotated pair of the " +
                         std::to_string(rope_dims) + " rotated dims (rope.dimension_count)");
  }
  RINGLM_TRY(bind_weight(f, name, rope_dims / 2, 0, w, true));
  if (!f.file().has_tensor_data()) return Status();  // a header read before a download: values come with the file
  const float* factors = reinterpret_cast<const float*>(w->data);
  for (int i = 0; i < rope_dims / 2; i++) {
    if (!(factors[i] > 0) || std::isinf(factors[i])) {
      return Status::error("tensor '" + name + "' value " + std::to_string(i) + " is " + std::to_string(factors[i]) +
                           " (RoPE frequency factors must be positive)");
    }
  }
  return Status();
}

// Gemma 2's and Gemma 3's hyperparameters beyond the shared ones, as llama.cpp reads them
// (src/models/gemma2.cpp, gemma3.cpp). Both: embeddings times sqrt(dim), sliding-window layers with
// their own RoPE base, a query scale of 1/sqrt(head size) except in the 27B models.
//   Gemma 2: a window of 4096 and every other layer local unless the file says otherwise; local layers
//   turn RoPE like the global ones (base and scaling) unless rope.freq_base_swa says otherwise; the
//   attention scores and the final logits are always soft-capped (50 and 30 unless the file says).
//   Gemma 3: a file without a sliding window runs every layer global (llama.cpp then reads neither the
//   pattern nor the local RoPE base: they are taken here and change nothing); else every 6th layer is
//   global unless the file says otherwise, local layers turn RoPE by base 10000 unless the file says,
//   unscaled; the final logits are soft-capped only when the file says.
// A window written as 0 is refused: llama.cpp would run it all-global (Gemma 3) or mask everything
// (Gemma 2), but no Gemma has one, so the file is wrong.
Status read_gemma(LoadLedger& f, const std::string& a, Config* c) {
  const bool gemma2 = a == "gemma2.";
  c->embed_scale = std::sqrt(float(c->dim));
  if (!gemma2 && !f.find(a + "attention.sliding_window")) {
    f.find(a + "attention.sliding_window_pattern");
    f.find(a + "rope.freq_base_swa");
    c->sliding_window = 0;
  } else {
    uint64_t window = gemma2 ? 4096 : 0;
    RINGLM_TRY(f.get_uint(a + "attention.sliding_window", &window, false));
    if (window == 0 || window > uint64_t(1 << 30)) {
      return Status::error("key '" + a + "attention.sliding_window' is " + std::to_string(window) + " (expected 1 to 1073741824 tokens" +
                           (gemma2 ? ")" : "; leave the key out for a model with no sliding-window layers)"));
    }
    c->sliding_window = int(window);
  }
  uint64_t period = gemma2 ? 2 : 6;
  RINGLM_TRY(f.get_uint(a + "attention.sliding_window_pattern", &period, false));
  if (period > uint64_t(1 << 16)) return Status::error("key '" + a + "attention.sliding_window_pattern' is " + std::to_string(period));
  c->swa_period = int(period);
  double base_swa = gemma2 ? c->rope_base : 10000.0;
  RINGLM_TRY(f.get_float(a + "rope.freq_base_swa", &base_swa, false));
  c->rope_base_swa = float(base_swa);
  if (!(c->rope_base_swa > 0)) return Status::error("key '" + a + "rope.freq_base_swa' must be positive");
  c->rope_scale_swa = gemma2 ? c->rope_scale : 1.0f;
  // A cap divides the scores or logits: Gemma 2's are always applied, so 0 there is refused.
  const auto read_cap = [&](const char* key, double fallback, float* out) -> Status {
    double cap = fallback;
    RINGLM_TRY(f.get_float(a + key, &cap, false));
    if (!(gemma2 ? cap > 0 : cap >= 0) || std::isinf(cap)) {
      return Status::error("key '" + a + key + "' is " + std::to_string(cap) + " (expected a " + (gemma2 ? "positive" : "non-negative") + " number)");
    }
    *out = float(cap);
    return Status();
  };
  RINGLM_TRY(read_cap("final_logit_softcapping", gemma2 ? 30.0 : 0.0, &c->final_softcap));
  if (gemma2) RINGLM_TRY(read_cap("attn_logit_softcapping", 50.0, &c->attn_softcap));
  // The 27B models (Gemma 2: 46 layers, Gemma 3: 62) scale queries by 1/sqrt(dim / heads), not by the head size.
  if (c->n_layers == (gemma2 ? 46 : 62)) c->query_scale = 1.0f / std::sqrt(float(c->dim / c->n_heads));
  return Status();
}

}  // namespace

const ArchTraits* find_architecture(const std::string& name, std::string* supported) {
  supported->clear();
  for (const ArchTraits& a : kArchitectures) {
    if (name == a.name) return &a;
    *supported += (supported->empty() ? "" : ", ") + std::string(a.name);
  }
  return nullptr;
}

Status Model::from_gguf(const GgufFile& file, Model* out) {
  LoadLedger f(file);
  Model m;
  Config& c = m.config;
  RINGLM_TRY(f.get_string("general.architecture", &c.architecture, true));
  std::string supported;
  m.arch = find_architecture(c.architecture, &supported);
  if (!m.arch) return Status::error("architecture '" + c.architecture + "' is not supported (supported: " + supported + ")");
  const ArchTraits& arch = *m.arch;
  const std::string a = c.architecture + ".";
  for (const char* per_layer : {"attention.head_count", "attention.head_count_kv", "feed_forward_length"}) {
    if (const GgufValue* v = file.find(a + per_layer); v && v->type == GgufValueType::ARRAY) {
      return Status::error("key '" + a + per_layer + "' is a per-layer array, which is not supported");
    }
  }
  RINGLM_TRY(get_dim(f, a + "embedding_length", &c.dim, true));
  RINGLM_TRY(get_dim(f, a + "block_count", &c.n_layers, true, 4096));
  RINGLM_TRY(get_dim(f, a + "attention.head_count", &c.n_heads, true, 4096));
  c.n_kv_heads = c.n_heads;
  RINGLM_TRY(get_dim(f, a + "attention.head_count_kv", &c.n_kv_heads, false, 4096));
  RINGLM_TRY(get_dim(f, a + "feed_forward_length", &c.ffn_dim, true));
  c.context_length = 2048;
  RINGLM_TRY(get_dim(f, a + "context_length", &c.context_length, false, 1 << 30));
  // The head size is attention.key_length when given (Qwen3's is not dim / heads), else dim / heads.
  if (!file.find(a + "attention.key_length") && c.dim % c.n_heads != 0) {
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
  if (arch.rope != RopeStyle::None) {
    RINGLM_TRY(read_rope(f, a, arch.partial_rope, &c));
    c.no_rope_every = arch.no_rope_every;
  }
  // Phi-3 files carry a sliding window (2047 in Phi-3-mini-4k) that llama.cpp reads and turns off, with
  // a warning, attending to every position (src/models/phi3.cpp): the reference ringlm is held to, so the
  // key is taken here and full attention is what runs.
  if (std::string(arch.name) == "phi3") f.find(a + "attention.sliding_window");
  c.query_scale = 1.0f / std::sqrt(float(c.head_dim));
  if (arch.gemma_blocks) RINGLM_TRY(read_gemma(f, a, &c));
  double eps = c.norm_eps;
  RINGLM_TRY(f.get_float(a + arch.eps_key, &eps, false));
  c.norm_eps = float(eps);
  if (!(c.norm_eps >= 0)) return Status::error("key '" + a + arch.eps_key + "' must not be negative");

  // The vocabulary size is the embedding's row count.
  const GgufTensor* embd = file.find_tensor("token_embd.weight");
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
  // One set of frequency factors for every layer: pair i of each head turns by its angle / factor i.
  if (arch.rope_freqs) {
    RINGLM_TRY(bind_rope_factors(f, "rope_freqs.weight", "Llama 3 RoPE frequency factors", c.rope_dims, &m.rope_freqs));
  }
  // LongRoPE: two such sets, one picked by the context size (rope_factors()). llama.cpp's converter writes
  // both; a file with one would run with none at some context sizes in llama.cpp, so it is refused.
  if (arch.long_rope) {
    RINGLM_TRY(bind_rope_factors(f, "rope_factors_short.weight", "LongRoPE frequency factors for short contexts",
                                 c.rope_dims, &m.rope_factors_short));
    RINGLM_TRY(bind_rope_factors(f, "rope_factors_long.weight", "LongRoPE frequency factors for long contexts",
                                 c.rope_dims, &m.rope_factors_long));
    const bool has_short = file.find_tensor("rope_factors_short.weight"), has_long = file.find_tensor("rope_factors_long.weight");
    if (has_short != has_long) {
      return Status::error(std::string("tensor '") + (has_short ? "rope_factors_short.weight" : "rope_factors_long.weight") +
                           "' (LongRoPE frequency factors) comes without its pair '" +
                           (has_short ? "rope_factors_long.weight" : "rope_factors_short.weight") +
                           "': LongRoPE needs both");
    }
  }

  const bool layer_norm = arch.norm == NormKind::Layer, gelu = arch.ffn == FfnKind::GELU;
  const bool fused_gate_up = arch.ffn == FfnKind::SwiGLUFused;
  const Bias norm_bias = layer_norm ? kMust : kNo;
  const int64_t q_dim = c.q_dim(), kv_dim = c.kv_dim();
  m.layers.resize(size_t(c.n_layers));
  for (int l = 0; l < c.n_layers; l++) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LayerWeights& L = m.layers[size_t(l)];
    RINGLM_TRY(bind_vector(f, p + "attn_norm.weight", c.dim, kMust, &L.attn_norm));
    RINGLM_TRY(bind_vector(f, p + "attn_norm.bias", c.dim, norm_bias, &L.attn_norm_b));
    if (arch.fused_qkv) {
      // Q, K and V rows one after the other in one tensor: three views, no copy.
      Weight qkv, qkv_b;
      RINGLM_TRY(bind_weight(f, p + "attn_qkv.weight", c.dim, q_dim + 2 * kv_dim, &qkv, false));
      RINGLM_TRY(bind_vector(f, p + "attn_qkv.bias", q_dim + 2 * kv_dim, arch.qkv_bias, &qkv_b));
      L.wq = slice(qkv, 0, q_dim, false), L.bq = slice(qkv_b, 0, q_dim, true);
      L.wk = slice(qkv, q_dim, kv_dim, false), L.bk = slice(qkv_b, q_dim, kv_dim, true);
      L.wv = slice(qkv, q_dim + kv_dim, kv_dim, false), L.bv = slice(qkv_b, q_dim + kv_dim, kv_dim, true);
    } else {
      RINGLM_TRY(bind_weight(f, p + "attn_q.weight", c.dim, q_dim, &L.wq, false));
      RINGLM_TRY(bind_weight(f, p + "attn_k.weight", c.dim, kv_dim, &L.wk, false));
      RINGLM_TRY(bind_weight(f, p + "attn_v.weight", c.dim, kv_dim, &L.wv, false));
      RINGLM_TRY(bind_vector(f, p + "attn_q.bias", q_dim, arch.qkv_bias, &L.bq));
      RINGLM_TRY(bind_vector(f, p + "attn_k.bias", kv_dim, arch.qkv_bias, &L.bk));
      RINGLM_TRY(bind_vector(f, p + "attn_v.bias", kv_dim, arch.qkv_bias, &L.bv));
    }
    if (arch.qk_norm) {
      RINGLM_TRY(bind_vector(f, p + "attn_q_norm.weight", c.head_dim, kMust, &L.q_norm));
      RINGLM_TRY(bind_vector(f, p + "attn_k_norm.weight", c.head_dim, kMust, &L.k_norm));
    }
    RINGLM_TRY(bind_weight(f, p + "attn_output.weight", q_dim, c.dim, &L.wo, false));
    RINGLM_TRY(bind_vector(f, p + "attn_output.bias", c.dim, arch.out_bias, &L.bo));
    if (arch.gemma_blocks) RINGLM_TRY(bind_vector(f, p + "post_attention_norm.weight", c.dim, kMust, &L.attn_post_norm));
    RINGLM_TRY(bind_vector(f, p + "ffn_norm.weight", c.dim, kMust, &L.ffn_norm));
    RINGLM_TRY(bind_vector(f, p + "ffn_norm.bias", c.dim, norm_bias, &L.ffn_norm_b));
    if (fused_gate_up) {
      // Gate rows then up rows in one tensor (no biases): two views, no copy.
      Weight gate_up;
      RINGLM_TRY(bind_weight(f, p + "ffn_up.weight", c.dim, 2 * int64_t(c.ffn_dim), &gate_up, false));
      L.w_gate = slice(gate_up, 0, c.ffn_dim, false);
      L.w_up = slice(gate_up, c.ffn_dim, c.ffn_dim, false);
    } else {
      if (!gelu) {
        RINGLM_TRY(bind_weight(f, p + "ffn_gate.weight", c.dim, c.ffn_dim, &L.w_gate, false));
        RINGLM_TRY(bind_vector(f, p + "ffn_gate.bias", c.ffn_dim, arch.ffn_bias, &L.b_gate));
      }
      RINGLM_TRY(bind_weight(f, p + "ffn_up.weight", c.dim, c.ffn_dim, &L.w_up, false));
      RINGLM_TRY(bind_vector(f, p + "ffn_up.bias", c.ffn_dim, arch.ffn_bias, &L.b_up));
    }
    RINGLM_TRY(bind_weight(f, p + "ffn_down.weight", c.ffn_dim, c.dim, &L.w_down, false));
    RINGLM_TRY(bind_vector(f, p + "ffn_down.bias", c.dim, arch.ffn_bias, &L.b_down));
    if (arch.gemma_blocks) RINGLM_TRY(bind_vector(f, p + "post_ffw_norm.weight", c.dim, kMust, &L.ffn_post_norm));
  }
  RINGLM_TRY(bind_vector(f, "output_norm.weight", c.dim, kMust, &m.output_norm));
  RINGLM_TRY(bind_vector(f, "output_norm.bias", c.dim, norm_bias, &m.output_norm_b));
  if (file.find_tensor("output.weight") && c.architecture != "gemma2") {
    RINGLM_TRY(bind_weight(f, "output.weight", c.dim, c.vocab_size, &m.output, false));
  } else {
    m.output = m.token_embd;  // tied embeddings
    m.tied_output = true;
  }
  RINGLM_TRY(bind_vector(f, "output.bias", c.vocab_size, arch.output_bias, &m.output_b));
  RINGLM_TRY(f.audit(c.architecture));
  *out = std::move(m);
  return Status();
}

const float* Model::rope_factors(int context_size) const {
  const Weight& w = rope_freqs.data                                       ? rope_freqs
                    : context_size > config.rope_original_context ? rope_factors_long
                                                                          : rope_factors_short;
  return reinterpret_cast<const float*>(w.data);
}

uint64_t Model::weight_bytes() const {
  auto bytes = [](const Weight& w) { return w.data ? uint64_t(w.row_bytes) * uint64_t(w.rows) : 0; };
  uint64_t total = bytes(output) + bytes(output_b) + bytes(output_norm) + bytes(output_norm_b) + token_embd.row_bytes +
                   (position_embd.data ? position_embd.row_bytes : 0);
  for (const LayerWeights& L : layers) {
    for (const Weight* w : {&L.attn_norm, &L.attn_norm_b, &L.wq, &L.bq, &L.wk, &L.bk, &L.wv, &L.bv, &L.q_norm, &L.k_norm,
                            &L.wo, &L.bo, &L.attn_post_norm, &L.ffn_post_norm, &L.ffn_norm, &L.ffn_norm_b, &L.w_gate, &L.b_gate, &L.w_up, &L.b_up, &L.w_down,
                            &L.b_down}) {
      total += bytes(*w);
    }
  }
  return total;
}

}  // namespace ringlm
