// Never silently wrong: a file that asks for something ringlm does not implement is refused with a
// message naming the key or tensor and what it is (src/model/model_audit.cpp); the RoPE keys ringlm
// does implement mean what they mean to llama.cpp. One file is written per refused feature.
// (The architectures themselves are held to llama.cpp by tests/llamacpp-compare.test.mjs.)
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gguf_builder.h"
#include "test_util.h"

using namespace ringlm;
using test::LlamaShape;

namespace {

std::string load_error(const LlamaShape& shape) {
  std::unique_ptr<Engine> e;
  return test::load_engine(test::make_llama(shape), &e, 64).message();
}

// Logits of a few tokens, decoded one by one, with a KV ring of `context` tokens.
std::vector<float> logits_of(const LlamaShape& shape, int context = 64) {
  std::unique_ptr<Engine> e;
  Status s = test::load_engine(test::make_llama(shape), &e, context);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return {};
  const std::vector<int32_t> ids = {1, 17, 33, 5, 60, 41, 9, 77, 23, 50, 12, 88};
  const size_t vocab = size_t(e->model().config.vocab_size);
  std::vector<float> out;
  for (int32_t id : ids) {
    EXPECT_TRUE(e->decode(id).ok());
    out.insert(out.end(), e->logits(), e->logits() + vocab);
  }
  return out;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); i++) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

struct Refusal {
  const char* what;  // the feature, for the failure message
  LlamaShape shape;
  std::string message;  // the exact error
};

LlamaShape with_u32(const char* key, uint32_t v, const char* arch = "llama") {
  LlamaShape s;
  s.arch = arch;
  s.u32_keys = {{key, v}};
  return s;
}
LlamaShape with_f32(const char* key, float v) {
  LlamaShape s;
  s.f32_keys = {{key, v}};
  return s;
}
LlamaShape with_str(const char* key, const char* v, const char* arch = "llama") {
  LlamaShape s;
  s.arch = arch;
  s.str_keys = {{key, v}};
  return s;
}
LlamaShape phi3_factors(std::vector<float> short_factors, std::vector<float> long_factors) {
  LlamaShape s;
  s.arch = "phi3";
  s.rope_factors_short = std::move(short_factors);
  s.rope_factors_long = std::move(long_factors);
  return s;
}
LlamaShape with_tensor(const char* name, std::vector<int64_t> ne, const char* arch = "llama") {
  LlamaShape s;
  s.arch = arch;
  s.extra_tensors = {{name, ne}};
  return s;
}

}  // namespace

TEST(ModelAudit, EveryRefusedFeatureIsNamed) {
  LlamaShape qwen3_without_norm;
  qwen3_without_norm.arch = "qwen3";
  qwen3_without_norm.left_out = {"blk.1.attn_k_norm.weight"};
  LlamaShape bad_factors;  // head size 16: 8 pairs, so 8 factors
  bad_factors.rope_freqs = std::vector<float>(9, 1.0f);
  LlamaShape negative_factor;
  negative_factor.rope_freqs = std::vector<float>(8, 2.0f);
  negative_factor.rope_freqs[3] = -1.0f;

  const std::vector<Refusal> cases = {
      // Tensors of features the architecture does not have.
      {"Llama 3 RoPE factors on qwen2", [] { LlamaShape s; s.arch = "qwen2"; s.rope_freqs = std::vector<float>(8, 2.0f); return s; }(),
       "tensor 'rope_freqs.weight' (Llama 3 RoPE frequency factors) is not supported for architecture 'qwen2'"},
      {"q norm on llama", with_tensor("blk.0.attn_q_norm.weight", {16}),
       "tensor 'blk.0.attn_q_norm.weight' (per-head RMSNorm of the queries, as in Qwen3) is not supported for architecture 'llama'"},
      {"k norm on smollm3", with_tensor("blk.1.attn_k_norm.weight", {16}, "smollm3"),
       "tensor 'blk.1.attn_k_norm.weight' (per-head RMSNorm of the keys, as in Qwen3) is not supported for architecture 'smollm3'"},
      {"post-attention norm", with_tensor("blk.0.post_attention_norm.weight", {64}),
       "tensor 'blk.0.post_attention_norm.weight' (a norm after attention, as in Gemma 2 and 3) is not supported for architecture 'llama'"},
      {"post-FFN norm", with_tensor("blk.1.post_ffw_norm.weight", {64}, "qwen3"),
       "tensor 'blk.1.post_ffw_norm.weight' (a norm after the feed-forward, as in Gemma 2 and 3) is not supported for architecture 'qwen3'"},
      {"LongRoPE factors", with_tensor("rope_factors_long.weight", {8}),
       "tensor 'rope_factors_long.weight' (LongRoPE frequency factors for long contexts, as in Phi-3) is not supported for architecture 'llama'"},
      {"fused QKV on llama", with_tensor("blk.0.attn_qkv.weight", {64, 128}),
       "tensor 'blk.0.attn_qkv.weight' (a fused Q/K/V projection) is not supported for architecture 'llama'"},
      {"MoE router", with_tensor("blk.0.ffn_gate_inp.weight", {64, 8}),
       "tensor 'blk.0.ffn_gate_inp.weight' (the router of a mixture-of-experts layer) is not supported for architecture 'llama'"},
      {"MoE experts", with_tensor("blk.0.ffn_up_exps.weight", {64, 8}),
       "tensor 'blk.0.ffn_up_exps.weight' (the experts of a mixture-of-experts layer) is not supported for architecture 'llama'"},
      {"output bias on llama", with_tensor("output.bias", {96}),
       "tensor 'output.bias' (a bias of the output logits) is not supported for architecture 'llama'"},
      {"attention output bias on qwen3", with_tensor("blk.0.attn_output.bias", {64}, "qwen3"),
       "tensor 'blk.0.attn_output.bias' (a bias of the attention output projection) is not supported for architecture 'qwen3'"},
      {"attention sinks", with_tensor("blk.0.attn_sinks.weight", {4}),
       "tensor 'blk.0.attn_sinks.weight' (learned attention sinks, as in gpt-oss) is not supported for architecture 'llama'"},
      {"a classifier head", with_tensor("cls.output.weight", {64, 2}, "qwen3"),
       "tensor 'cls.output.weight' (a classifier or reranker head) is not supported for architecture 'qwen3'"},
      {"an unknown tensor", with_tensor("blk.0.mystery.weight", {64}),
       "tensor 'blk.0.mystery.weight' is not one ringlm knows for architecture 'llama'; it may change the model's output, so the file is refused"},
      // Tensors an architecture requires, or has with the wrong size.
      {"qwen3 without its k norm", qwen3_without_norm, "missing tensor 'blk.1.attn_k_norm.weight'"},
      {"rope_freqs of the wrong size", bad_factors,
       "tensor 'rope_freqs.weight' (Llama 3 RoPE frequency factors) has shape [9], expected [8]: one factor per rotated pair "
       "of the 16 rotated dims (rope.dimension_count)"},
      {"phi3 with short LongRoPE factors of the wrong length", phi3_factors(std::vector<float>(16, 1.0f), std::vector<float>(8, 2.0f)),
       "tensor 'rope_factors_short.weight' (LongRoPE frequency factors for short contexts) has shape [16], expected [8]: one "
       "factor per rotated pair of the 16 rotated dims (rope.dimension_count)"},
      {"phi3 with long LongRoPE factors of the wrong length", phi3_factors(std::vector<float>(8, 1.0f), std::vector<float>(7, 2.0f)),
       "tensor 'rope_factors_long.weight' (LongRoPE frequency factors for long contexts) has shape [7], expected [8]: one "
       "factor per rotated pair of the 16 rotated dims (rope.dimension_count)"},
      {"phi3 with long LongRoPE factors sized for the whole head, rotating half of it",
       [] { LlamaShape s = phi3_factors(std::vector<float>(4, 1.0f), std::vector<float>(8, 2.0f)); s.u32_keys = {{"rope.dimension_count", 8}}; return s; }(),
       "tensor 'rope_factors_long.weight' (LongRoPE frequency factors for long contexts) has shape [8], expected [4]: one "
       "factor per rotated pair of the 8 rotated dims (rope.dimension_count)"},
      {"phi3 with only the long LongRoPE factors", phi3_factors({}, std::vector<float>(8, 2.0f)),
       "tensor 'rope_factors_long.weight' (LongRoPE frequency factors) comes without its pair 'rope_factors_short.weight': "
       "LongRoPE needs both"},
      {"phi3 with a zero LongRoPE factor", phi3_factors(std::vector<float>(8, 1.0f), {1, 2, 3, 0, 5, 6, 7, 8}),
       "tensor 'rope_factors_long.weight' value 3 is 0.000000 (RoPE frequency factors must be positive)"},
      {"a negative RoPE attention factor", with_f32("rope.scaling.attn_factor", -1.0f),
       "key 'llama.rope.scaling.attn_factor' is -1.000000 (expected a positive number)"},
      {"a partial rotation", [] { LlamaShape s; s.u32_keys = {{"rope.dimension_count", 8}}; return s; }(),
       "key 'llama.rope.dimension_count' is 8, but RoPE rotates whole heads of 16 in this architecture (a partial rotation is not supported)"},
      {"a negative RoPE factor", negative_factor,
       "tensor 'rope_freqs.weight' value 3 is -1.000000 (RoPE frequency factors must be positive)"},
      // Keys of features ringlm does not implement.
      {"YaRN", with_str("rope.scaling.type", "yarn"),
       "key 'llama.rope.scaling.type' is 'yarn' (YaRN RoPE scaling), which is not supported"},
      {"LongRoPE", with_str("rope.scaling.type", "longrope", "qwen3"),
       "key 'qwen3.rope.scaling.type' is 'longrope' (LongRoPE RoPE scaling), which is not supported"},
      {"a scaling type llama.cpp does not know", with_str("rope.scaling.type", "llama3"),
       "key 'llama.rope.scaling.type' is 'llama3', which is not a RoPE scaling type (llama.cpp knows none, linear, yarn and longrope)"},
      {"a YaRN parameter", with_f32("rope.scaling.yarn_log_multiplier", 0.1f),
       "key 'llama.rope.scaling.yarn_log_multiplier' (a YaRN RoPE scaling parameter) is not supported"},
      {"a RoPE base for local layers", with_f32("rope.freq_base_swa", 10000.0f),
       "key 'llama.rope.freq_base_swa' (the RoPE base of sliding-window layers) is not supported"},
      {"sliding windows", with_u32("attention.sliding_window", 512),
       "key 'llama.attention.sliding_window' (sliding-window (local) attention) is not supported"},
      {"attention soft-capping", with_f32("attn_logit_softcapping", 50.0f),
       "key 'llama.attn_logit_softcapping' (soft-capping of the attention scores, as in Gemma 2) is not supported"},
      {"logit soft-capping", with_f32("final_logit_softcapping", 30.0f),
       "key 'llama.final_logit_softcapping' (soft-capping of the final logits, as in Gemma 2) is not supported"},
      {"an attention scale", with_f32("attention.scale", 0.125f),
       "key 'llama.attention.scale' (a query-key scale other than 1/sqrt(head size)) is not supported"},
      {"an embedding scale", with_f32("embedding_scale", 12.0f),
       "key 'llama.embedding_scale' (a multiplier of the embeddings) is not supported"},
      {"a residual scale", with_f32("residual_scale", 0.22f),
       "key 'llama.residual_scale' (a multiplier of each layer's residual branch) is not supported"},
      {"a logit scale", with_f32("logit_scale", 0.5f),
       "key 'llama.logit_scale' (a multiplier of the final logits) is not supported"},
      {"experts", with_u32("expert_count", 8),
       "key 'llama.expert_count' (the experts of a mixture-of-experts model) is not supported"},
      {"bidirectional attention", [] { LlamaShape s; s.u32_keys = {{"attention.causal", 0}}; return s; }(),
       "key 'llama.attention.causal' (non-causal (bidirectional) attention) is not supported"},
      {"a LayerNorm epsilon on an RMSNorm model", with_f32("attention.layer_norm_epsilon", 1e-5f),
       "key 'llama.attention.layer_norm_epsilon' (the epsilon of a LayerNorm, which this architecture has none of) is not supported"},
      // A window written as 0: llama.cpp would run it as all-global layers (as it runs a file without the
      // key, and so does ringlm), but no Gemma 3 has one, so ringlm refuses it by name.
      {"gemma3 with a window of 0", with_u32("attention.sliding_window", 0, "gemma3"),
       "key 'gemma3.attention.sliding_window' is 0 (expected 1 to 1073741824 tokens; leave the key out for a model with "
       "no sliding-window layers)"},
      {"gemma2 with an output projection of its own", with_u32("attention.sliding_window", 4, "gemma2"),
       "tensor 'output.weight' (an output projection apart from the embeddings, which this architecture ties to them) is not "
       "supported for architecture 'gemma2'"},
      {"gemma2 with its attention soft-cap at 0", [] { LlamaShape s = with_f32("attn_logit_softcapping", 0.0f); s.arch = "gemma2"; s.tied = true; return s; }(),
       "key 'gemma2.attn_logit_softcapping' is 0.000000 (expected a positive number)"},
      {"gemma2 with a window of 0", [] { LlamaShape s = with_u32("attention.sliding_window", 0, "gemma2"); s.tied = true; return s; }(),
       "key 'gemma2.attention.sliding_window' is 0 (expected 1 to 1073741824 tokens)"},
      {"layers told which use RoPE", with_u32("attention.rope_pattern", 4, "smollm3"),
       "key 'smollm3.attention.rope_pattern' (which layers use RoPE) is not supported"},
      {"an odd partial rotation on phi3", with_u32("rope.dimension_count", 7, "phi3"),
       "key 'phi3.rope.dimension_count' is 7, which is odd: RoPE turns pairs"},
      {"a rotation wider than the head on phi3", with_u32("rope.dimension_count", 20, "phi3"),
       "key 'phi3.rope.dimension_count' is 20, but RoPE rotates whole heads of 16 in this architecture (a partial rotation is not supported)"},
      {"phi3 with a separate gate", with_tensor("blk.0.ffn_gate.weight", {64, 96}, "phi3"),
       "tensor 'blk.0.ffn_gate.weight' (a feed-forward gate (a gated FFN)) is not supported for architecture 'phi3'"},
      {"an unknown key", with_u32("mystery_length", 3),
       "key 'llama.mystery_length' is not one ringlm knows for architecture 'llama'; it may change the model's output, so the file is refused"},
  };
  for (const Refusal& c : cases) EXPECT_EQ(load_error(c.shape), c.message) << c.what;
}

TEST(ModelAudit, NeutralValuesAndInformationalKeysLoad) {
  for (const LlamaShape& s : {with_u32("expert_count", 0), with_u32("attention.causal", 1), with_u32("vocab_size", 96),
                              with_u32("rope.scaling.original_context_length", 8192), with_f32("rope.scaling.attn_factor", 1.0f),
                              with_tensor("v.blk.0.attn_q.weight", {32, 32}), with_tensor("mm.0.weight", {32, 64})}) {
    EXPECT_EQ(load_error(s), "") << (s.u32_keys.empty() ? s.f32_keys.empty() ? s.extra_tensors[0].first : s.f32_keys[0].first
                                                       : s.u32_keys[0].first);
  }
}

// llama.cpp reads rope.scaling.type as 'linear' when the file has none, so a factor alone scales
// the positions; 'none' ignores the factor; rope.scale_linear is the factor's older name.
TEST(ModelAudit, RopeScalingMeansWhatItMeansToLlamaCpp) {
  const std::vector<float> plain = logits_of(LlamaShape{});
  const std::vector<float> linear = logits_of([] {
    LlamaShape s;
    s.str_keys = {{"rope.scaling.type", "linear"}};
    s.f32_keys = {{"rope.scaling.factor", 4.0f}};
    return s;
  }());
  ASSERT_FALSE(plain.empty());
  ASSERT_FALSE(linear.empty());
  EXPECT_GT(max_abs_diff(plain, linear), 1e-2f) << "a factor of 4 must change the logits";
  EXPECT_EQ(max_abs_diff(linear, logits_of(with_f32("rope.scaling.factor", 4.0f))), 0.0f) << "no type: linear";
  EXPECT_EQ(max_abs_diff(linear, logits_of(with_f32("rope.scale_linear", 4.0f))), 0.0f) << "the older key";
  EXPECT_EQ(max_abs_diff(plain, logits_of([] {
              LlamaShape s;
              s.str_keys = {{"rope.scaling.type", "none"}};
              s.f32_keys = {{"rope.scaling.factor", 4.0f}};
              return s;
            }())),
            0.0f)
      << "'none' ignores the factor";
}

// Frequency factors of 1 change nothing; others divide each pair's angle (the values themselves are
// held to llama.cpp by the golden test).
TEST(ModelAudit, RopeFreqsOfOneChangeNothingAndOthersDo) {
  LlamaShape ones, llama3;
  ones.rope_freqs = std::vector<float>(8, 1.0f);
  llama3.rope_freqs = {1, 1, 1.5f, 2, 3, 5, 8, 8};
  const std::vector<float> plain = logits_of(LlamaShape{});
  EXPECT_EQ(max_abs_diff(plain, logits_of(ones)), 0.0f);
  EXPECT_GT(max_abs_diff(plain, logits_of(llama3)), 1e-3f);
}

// phi3 may rotate only the leading dims of each head (llama.cpp's phi3 graph allows it; the golden
// test holds the values to llama.cpp): a narrower rotation loads and changes the logits.
// llama.cpp reads Phi-3's sliding window and runs full attention (src/models/phi3.cpp): so does ringlm.
// A window of 2 over 12 positions would change every row after the second if it were applied.
TEST(ModelAudit, Phi3SlidingWindowIsLlamaCppsFullAttention) {
  LlamaShape plain;
  plain.arch = "phi3";
  const std::vector<float> full = logits_of(plain);
  ASSERT_FALSE(full.empty());
  const std::vector<float> windowed = logits_of(with_u32("attention.sliding_window", 2, "phi3"));
  EXPECT_EQ(max_abs_diff(full, windowed), 0.0f);
}

TEST(ModelAudit, Phi3RotatesPartOfEachHead) {
  LlamaShape whole, partial;
  whole.arch = partial.arch = "phi3";
  partial.u32_keys = {{"rope.dimension_count", 8}};  // 8 of 16
  const std::vector<float> a = logits_of(whole), b = logits_of(partial);
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_GT(max_abs_diff(a, b), 1e-3f);
}

// qwen3's head size comes from attention.key_length, which need not be dim / heads.
TEST(ModelAudit, Qwen3HeadSizeFromKeyLength) {
  LlamaShape s;
  s.arch = "qwen3";
  s.head_dim = 32;  // 4 heads of 32 on a 64-wide model
  std::unique_ptr<Engine> e;
  ASSERT_TRUE(test::load_engine(test::make_llama(s), &e, 64).ok());
  EXPECT_EQ(e->model().config.head_dim, 32);
  EXPECT_EQ(e->model().config.q_dim(), 128);
  const std::vector<int32_t> ids = {1, 5, 9};
  ASSERT_TRUE(e->prefill(ids.data(), 3, false).ok());
}

// LongRoPE (phi3): the short factors below the original context (rope.scaling.original_context_length,
// or the training context when absent), the long ones past it, fixed by the context size as llama.cpp
// fixes them by its n_ctx. The factors' values are held to llama.cpp by the golden test.
TEST(ModelAudit, LongRopePicksItsFactorsByTheContextSize) {
  const std::vector<float> short_f = {1, 1, 1.2f, 1.5f, 2, 2.5f, 3, 3}, long_f = {1, 2, 3, 5, 8, 13, 21, 34};
  const LlamaShape both = phi3_factors(short_f, long_f);  // training context 128
  const LlamaShape only_short = phi3_factors(short_f, short_f), only_long = phi3_factors(long_f, long_f);
  const std::vector<float> at_64 = logits_of(both, 64), at_128 = logits_of(both, 128), at_129 = logits_of(both, 129);
  ASSERT_FALSE(at_64.empty());
  EXPECT_EQ(max_abs_diff(at_64, logits_of(only_short, 64)), 0.0f) << "64 <= 128: the short factors";
  EXPECT_EQ(max_abs_diff(at_128, logits_of(only_short, 128)), 0.0f) << "128 is not past 128: still short";
  EXPECT_EQ(max_abs_diff(at_129, logits_of(only_long, 129)), 0.0f) << "129 > 128: the long factors";
  EXPECT_GT(max_abs_diff(at_64, at_129), 1e-3f) << "the two sets must differ in effect";
  LlamaShape original_64 = both;
  original_64.u32_keys = {{"rope.scaling.original_context_length", 64}};
  EXPECT_EQ(max_abs_diff(logits_of(original_64, 65), logits_of(only_long, 65)), 0.0f) << "65 > the original 64: long";
  EXPECT_EQ(max_abs_diff(logits_of(original_64, 64), logits_of(only_short, 64)), 0.0f) << "64 is not past 64: short";
}

// rope.scaling.attn_factor multiplies every rotated value (ggml's rope multiplies cos and sin by it):
// 1 changes nothing, others change the scores; layers without RoPE are untouched by it.
TEST(ModelAudit, RopeAttentionFactorScalesRotatedQueriesAndKeys) {
  const std::vector<float> plain = logits_of(LlamaShape{});
  EXPECT_EQ(max_abs_diff(plain, logits_of(with_f32("rope.scaling.attn_factor", 1.0f))), 0.0f);
  EXPECT_GT(max_abs_diff(plain, logits_of(with_f32("rope.scaling.attn_factor", 1.2f))), 1e-3f);
}

// gemma3 without a sliding-window key: every layer global (llama.cpp's reading), turning RoPE by the
// global base. With the local base equal to it, a window wider than the sequence is the same model.
TEST(ModelAudit, Gemma3WithoutAWindowIsAllGlobal) {
  LlamaShape none, wide;
  none.arch = wide.arch = "gemma3";
  wide.u32_keys = {{"attention.sliding_window", 1000}, {"attention.sliding_window_pattern", 2}};
  wide.f32_keys = {{"rope.freq_base_swa", 10000.0f}};  // the file's global base (gguf_builder.h)
  LlamaShape narrow = wide;
  narrow.u32_keys[0].second = 2;
  const std::vector<float> a = logits_of(none);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(max_abs_diff(a, logits_of(wide)), 0.0f);
  EXPECT_GT(max_abs_diff(a, logits_of(narrow)), 1e-3f) << "a window of 2 over 12 positions must matter";
}
