#include "model/model_audit.h"

#include <algorithm>
#include <cctype>

namespace ringlm {

namespace {

// What to do with a key or tensor the loader did not take: leave it alone (`why` says why it does
// not change the logits), or refuse the file (`why` says what the feature is). A key refused
// "unless" has one value at which it changes nothing (an expert count of 0, a causal flag of true).
enum class Verdict { Leave, Refuse, RefuseUnless };

struct Rule {
  const char* pattern;  // a key after "<arch>.", or a tensor name with "blk.#." for any layer; '*' matches any text
  Verdict verdict;
  const char* why;
  double neutral = 0;   // RefuseUnless: the value that changes nothing
};

// Keys of "<arch>.*" the loader does not read. Most are llama.cpp's names (src/llama-arch.cpp) for
// features other architectures have; they are listed so the error can say what the file asks for.
const Rule kKeyRules[] = {
    {"vocab_size", Verdict::Leave, "the vocabulary size: the embedding's row count is used"},
    {"rope.scaling.finetuned", Verdict::Leave, "whether the model was fine-tuned with its RoPE scaling: informational"},
    // The RoPE architectures read these two (model.cpp: read_rope); the others have no RoPE to scale.
    {"rope.scaling.original_context_length", Verdict::Leave, "the context length before RoPE scaling: this architecture has no RoPE"},
    {"rope.scaling.attn_factor", Verdict::Leave, "a RoPE attention factor: this architecture has no RoPE"},
    {"pooling_type", Verdict::Leave, "how an embedding model pools its outputs: next-token logits do not use it"},

    {"expert_count", Verdict::RefuseUnless, "the experts of a mixture-of-experts model", 0},
    {"expert_used_count", Verdict::RefuseUnless, "the experts used per token of a mixture-of-experts model", 0},
    {"expert_shared_count", Verdict::RefuseUnless, "shared experts of a mixture-of-experts model", 0},
    {"expert_*", Verdict::Refuse, "a parameter of a mixture-of-experts model"},
    {"nextn_predict_layers", Verdict::RefuseUnless, "multi-token-prediction layers", 0},
    {"attention.causal", Verdict::RefuseUnless, "non-causal (bidirectional) attention", 1},
    {"attn_logit_softcapping", Verdict::RefuseUnless, "soft-capping of the attention scores, as in Gemma 2", 0},
    {"final_logit_softcapping", Verdict::RefuseUnless, "soft-capping of the final logits, as in Gemma 2", 0},
    {"attention.sliding_window", Verdict::RefuseUnless, "sliding-window (local) attention", 0},
    {"attention.sliding_window_pattern", Verdict::Refuse, "which layers use sliding-window attention"},
    {"attention.scale", Verdict::Refuse, "a query-key scale other than 1/sqrt(head size)"},
    {"attention.temperature_*", Verdict::Refuse, "position-dependent attention temperature, as in Llama 4"},
    {"attention.clamp_kqv", Verdict::Refuse, "clamping of Q, K and V"},
    {"attention.max_alibi_bias", Verdict::RefuseUnless, "ALiBi attention biases", 0},
    {"attention.layer_norm_epsilon", Verdict::Refuse, "the epsilon of a LayerNorm, which this architecture has none of"},
    {"attention.layer_norm_rms_epsilon", Verdict::Refuse, "the epsilon of an RMSNorm, which this architecture has none of"},
    {"attention.key_length_swa", Verdict::Refuse, "the head size of sliding-window layers"},
    {"attention.value_length_swa", Verdict::Refuse, "the head size of sliding-window layers"},
    {"attention.rope_pattern", Verdict::Refuse, "which layers use RoPE"},
    {"embedding_scale", Verdict::Refuse, "a multiplier of the embeddings"},
    {"residual_scale", Verdict::Refuse, "a multiplier of each layer's residual branch"},
    {"logit_scale", Verdict::Refuse, "a multiplier of the final logits"},
    {"embedding_length_per_layer_input", Verdict::Refuse, "per-layer input embeddings, as in Gemma 3n"},
    {"use_parallel_residual", Verdict::RefuseUnless, "attention and feed-forward side by side on one residual", 0},
    {"swin_norm", Verdict::RefuseUnless, "norms after attention and feed-forward (Swin-style)", 0},
    {"hidden_activation", Verdict::Refuse, "a feed-forward activation other than this architecture's own"},
    {"classifier.output_labels", Verdict::Refuse, "the labels of a classifier head"},
    {"rope.freq_base_swa", Verdict::Refuse, "the RoPE base of sliding-window layers"},
    {"rope.dimension_count_swa", Verdict::Refuse, "the rotated head size of sliding-window layers"},
    {"rope.dimension_sections", Verdict::Refuse, "multimodal RoPE sections (M-RoPE)"},
    {"rope.scaling.alpha", Verdict::RefuseUnless, "NTK-aware RoPE alpha (XDRoPE)", 0},
    {"rope.scaling.yarn_*", Verdict::Refuse, "a YaRN RoPE scaling parameter"},
};

// Tensors the loader did not bind.
const Rule kTensorRules[] = {
    {"v.*", Verdict::Leave, "a vision-encoder tensor: it only embeds images, which ringlm does not take"},
    {"mm.*", Verdict::Leave, "a multimodal-projector tensor: it only embeds images, which ringlm does not take"},

    {"rope_freqs.weight", Verdict::Refuse, "Llama 3 RoPE frequency factors"},
    {"rope_factors_long.weight", Verdict::Refuse, "LongRoPE frequency factors for long contexts, as in Phi-3"},
    {"rope_factors_short.weight", Verdict::Refuse, "LongRoPE frequency factors for short contexts, as in Phi-3"},
    {"blk.#.rope_factors_*", Verdict::Refuse, "LongRoPE frequency factors, as in Phi-3"},
    {"blk.#.rope_freqs.weight", Verdict::Refuse, "per-layer RoPE frequency factors"},
    {"position_embd.weight", Verdict::Refuse, "learned position embeddings"},
    {"token_types.weight", Verdict::Refuse, "token-type embeddings, as in BERT"},
    {"token_embd_norm.*", Verdict::Refuse, "a norm of the embeddings"},
    {"output.bias", Verdict::Refuse, "a bias of the output logits"},
    {"output.weight", Verdict::Refuse, "an output projection apart from the embeddings, which this architecture ties to them"},
    {"cls*", Verdict::Refuse, "a classifier or reranker head"},
    {"blk.#.attn_q_norm.*", Verdict::Refuse, "per-head RMSNorm of the queries, as in Qwen3"},
    {"blk.#.attn_k_norm.*", Verdict::Refuse, "per-head RMSNorm of the keys, as in Qwen3"},
    {"blk.#.attn_qkv.*", Verdict::Refuse, "a fused Q/K/V projection"},
    {"blk.#.attn_q.bias", Verdict::Refuse, "a bias of the query projection"},
    {"blk.#.attn_k.bias", Verdict::Refuse, "a bias of the key projection"},
    {"blk.#.attn_v.bias", Verdict::Refuse, "a bias of the value projection"},
    {"blk.#.attn_output.bias", Verdict::Refuse, "a bias of the attention output projection"},
    {"blk.#.ffn_gate.bias", Verdict::Refuse, "a bias of the feed-forward gate"},
    {"blk.#.ffn_up.bias", Verdict::Refuse, "a bias of the feed-forward up projection"},
    {"blk.#.ffn_down.bias", Verdict::Refuse, "a bias of the feed-forward down projection"},
    {"blk.#.attn_norm.bias", Verdict::Refuse, "a LayerNorm shift"},
    {"blk.#.ffn_norm.bias", Verdict::Refuse, "a LayerNorm shift"},
    {"output_norm.bias", Verdict::Refuse, "a LayerNorm shift"},
    {"blk.#.post_attention_norm.*", Verdict::Refuse, "a norm after attention, as in Gemma 2 and 3"},
    {"blk.#.post_ffw_norm.*", Verdict::Refuse, "a norm after the feed-forward, as in Gemma 2 and 3"},
    {"blk.#.attn_sinks.*", Verdict::Refuse, "learned attention sinks, as in gpt-oss"},
    {"blk.#.attn_rot_embd.*", Verdict::Refuse, "a precomputed rotary-embedding table"},
    {"blk.#.ffn_gate_inp.*", Verdict::Refuse, "the router of a mixture-of-experts layer"},
    {"blk.#.ffn_*_exps.*", Verdict::Refuse, "the experts of a mixture-of-experts layer"},
    {"blk.#.ffn_*_shexp.*", Verdict::Refuse, "the shared expert of a mixture-of-experts layer"},
    {"blk.#.ssm_*", Verdict::Refuse, "a state-space (Mamba-style) layer"},
    {"blk.#.shortconv.*", Verdict::Refuse, "a short-convolution layer, as in LFM2"},
    {"blk.#.ffn_gate.weight", Verdict::Refuse, "a feed-forward gate (a gated FFN)"},
};

// '*' matches any run of characters (none included); everything else matches itself.
bool glob(const char* p, const char* s) {
  if (*p == '\0') return *s == '\0';
  if (*p == '*') return glob(p + 1, s) || (*s != '\0' && glob(p, s + 1));
  return *p == *s && glob(p + 1, s + 1);
}

// "blk.12.attn_q.weight" -> "blk.#.attn_q.weight": the rules hold for every layer.
std::string any_layer(std::string_view name) {
  std::string s(name);
  if (s.rfind("blk.", 0) != 0) return s;
  size_t end = 4;
  while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) end++;
  if (end == 4 || end >= s.size() || s[end] != '.') return s;
  return "blk.#" + s.substr(end);
}

const Rule* find_rule(const Rule* begin, const Rule* end, const std::string& name) {
  const Rule* r = std::find_if(begin, end, [&](const Rule& rule) { return glob(rule.pattern, name.c_str()); });
  return r == end ? nullptr : r;
}

}  // namespace

Status LoadLedger::get_uint(const std::string& key, uint64_t* out, bool required) {
  read_.push_back(key);
  return file_.get_uint(key, out, required);
}

Status LoadLedger::get_float(const std::string& key, double* out, bool required) {
  read_.push_back(key);
  return file_.get_float(key, out, required);
}

Status LoadLedger::get_string(const std::string& key, std::string* out, bool required) {
  read_.push_back(key);
  return file_.get_string(key, out, required);
}

const GgufValue* LoadLedger::find(const std::string& key) {
  read_.push_back(key);
  return file_.find(key);
}

const GgufTensor* LoadLedger::use_tensor(const std::string& name) {
  const GgufTensor* t = file_.find_tensor(name);
  if (t) bound_[size_t(t - file_.tensors().data())] = true;
  return t;
}

Status LoadLedger::audit(const std::string& arch) const {
  // A split file's parts were joined (and checked complete) by the GgufFile before the model was read.
  RINGLM_TRY(file_.complete());

  const std::string prefix = arch + ".";
  for (const GgufKV& kv : file_.metadata()) {
    if (kv.key.substr(0, prefix.size()) != prefix) continue;  // general.*, tokenizer.*: not the model's math
    const std::string key(kv.key);
    if (std::find(read_.begin(), read_.end(), key) != read_.end()) continue;
    const Rule* rule = find_rule(std::begin(kKeyRules), std::end(kKeyRules), key.substr(prefix.size()));
    if (!rule) {
      return Status::error("key '" + key + "' is not one ringlm knows for architecture '" + arch +
                           "'; it may change the model's output, so the file is refused");
    }
    if (rule->verdict == Verdict::Leave) continue;
    if (rule->verdict == Verdict::RefuseUnless && kv.value.is_number() && kv.value.f64 == rule->neutral) continue;
    return Status::error("key '" + key + "' (" + rule->why + ") is not supported");
  }

  for (size_t i = 0; i < file_.tensors().size(); i++) {
    if (bound_[i]) continue;
    const std::string name(file_.tensors()[i].name);
    const Rule* rule = find_rule(std::begin(kTensorRules), std::end(kTensorRules), any_layer(name));
    if (!rule) {
      return Status::error("tensor '" + name + "' is not one ringlm knows for architecture '" + arch +
                           "'; it may change the model's output, so the file is refused");
    }
    if (rule->verdict == Verdict::Leave) continue;
    return Status::error("tensor '" + name + "' (" + rule->why + ") is not supported for architecture '" + arch + "'");
  }
  return Status();
}

}  // namespace ringlm
