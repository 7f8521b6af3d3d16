// The KV ring past its capacity, held to two slow, obviously correct references:
//
// 1. With one layer, a key or value depends only on its token, so the logits must equal a
//    recomputation from scratch over exactly the tokens the policy keeps, at the positions it
//    assigns them (0 .. kept-1, as StreamingLLM and llama.cpp's context shift do).
// 2. With several layers that is not the semantics of any KV cache (StreamingLLM's included): the
//    deeper layers' K/V of a kept token were computed when it arrived, with the context it had
//    then. The second reference is a naive forward pass that stores each kept token's un-rotated
//    keys and values per layer and, at every step, rotates them afresh at their kept positions
//    (llama's adjacent pairs and qwen2's NEOX halves, with its biases).
// 3. Learned positions (gpt2) re-run the window after each shift, so there even several layers
//    must equal a recomputation from scratch over the kept tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <vector>

#include "gguf_builder.h"
#include "kernels/float_kernels.h"
#include "kernels/matmul.h"
#include "test_util.h"

using namespace ringlm;

namespace {

// The reference model of each policy: which tokens are kept once `token` has been added.
struct KeptTokens {
  ContextPolicy policy;
  int capacity, anchors;
  std::vector<int32_t> head;   // the anchors
  std::deque<int32_t> window;  // the rest, oldest first

  void add(int32_t token) {
    if (int(head.size()) < anchors) {
      head.push_back(token);
      return;
    }
    const int room = capacity - anchors;
    if (policy == ContextPolicy::Sinks && int(window.size()) == room) window.pop_front();
    if (policy == ContextPolicy::Shift && int(window.size()) == room) {
      const size_t discard = std::max<size_t>(1, window.size() / 2);  // llama.cpp: n_discard = n_left / 2
      window.erase(window.begin(), window.begin() + long(discard));
    }
    window.push_back(token);
  }
  std::vector<int32_t> tokens() const {
    std::vector<int32_t> t = head;
    t.insert(t.end(), window.begin(), window.end());
    return t;
  }
};

std::vector<float> reference_logits(Engine& ref, const std::vector<int32_t>& kept) {
  ref.reset();
  EXPECT_TRUE(ref.prefill(kept.data(), int(kept.size()), false).ok());
  return std::vector<float>(ref.logits(), ref.logits() + ref.model().config.vocab_size);
}

// Reference 2: a plain forward pass over an explicit list of kept tokens' cached K/V.
class NaiveStreamingReference {
public:
  NaiveStreamingReference(const Model& m, ContextPolicy policy, int capacity, int anchors)
      : m_(m), policy_(policy), capacity_(capacity), anchors_(anchors) {}

  std::vector<float> step(int32_t token) {
    const Config& c = m_.config;
    const int dim = c.dim, hd = c.head_dim, kvd = c.kv_dim();
    // Make room first, exactly as the policy says.
    const int room = capacity_ - anchors_;
    if (int(kept_.size()) - anchors_ == room && int(kept_.size()) >= anchors_ && room > 0) {
      const long from = anchors_;
      const long discard = policy_ == ContextPolicy::Sinks ? 1 : std::max(1, room / 2);
      kept_.erase(kept_.begin() + from, kept_.begin() + from + discard);
    }
    Entry e;
    e.k.assign(size_t(c.n_layers), std::vector<float>(size_t(kvd)));
    e.v.assign(size_t(c.n_layers), std::vector<float>(size_t(kvd)));
    std::vector<float> x(static_cast<size_t>(dim)), xn(static_cast<size_t>(dim)), q(static_cast<size_t>(c.q_dim())), out(static_cast<size_t>(c.q_dim())), tmp(static_cast<size_t>(dim));
    std::vector<float> gate(static_cast<size_t>(c.ffn_dim)), up(static_cast<size_t>(c.ffn_dim));
    dequantize_row(m_.token_embd.type, m_.token_embd.row(token), x.data(), dim);
    const int n = int(kept_.size()) + 1;  // kept positions 0 .. n-1; this token at n-1
    std::vector<float> cs(static_cast<size_t>(c.rope_dims));
    for (int l = 0; l < c.n_layers; l++) {
      const LayerWeights& L = m_.layers[size_t(l)];
      ref::rmsnorm(xn.data(), x.data(), reinterpret_cast<const float*>(L.attn_norm.data), dim, c.norm_eps);
      matmul_reference(L.wq, xn.data(), dim, 1, q.data(), c.q_dim());
      matmul_reference(L.wk, xn.data(), dim, 1, e.k[size_t(l)].data(), kvd);
      matmul_reference(L.wv, xn.data(), dim, 1, e.v[size_t(l)].data(), kvd);
      add_bias(L.bq, q.data());
      add_bias(L.bk, e.k[size_t(l)].data());
      add_bias(L.bv, e.v[size_t(l)].data());
      rope_angles(cs.data(), c.rope_dims, n - 1, c.rope_base);
      rotate(q.data(), c.n_heads, hd, c.rope_dims, cs.data());
      // Keys of every kept token (and this one), rotated at their kept positions.
      std::vector<std::vector<float>> keys;
      for (int j = 0; j < n; j++) {
        keys.push_back(j < n - 1 ? kept_[size_t(j)].k[size_t(l)] : e.k[size_t(l)]);
        rope_angles(cs.data(), c.rope_dims, j, c.rope_base);
        rotate(keys.back().data(), c.n_kv_heads, hd, c.rope_dims, cs.data());
      }
      for (int h = 0; h < c.n_heads; h++) {
        const int kvh = h / (c.n_heads / c.n_kv_heads);
        std::vector<float> att(static_cast<size_t>(n));
        for (int j = 0; j < n; j++) att[size_t(j)] = ref::dot(&q[size_t(h * hd)], &keys[size_t(j)][size_t(kvh * hd)], hd) / std::sqrt(float(hd));
        ref::softmax(att.data(), n);
        for (int i = 0; i < hd; i++) {
          float acc = 0.0f;
          for (int j = 0; j < n; j++) {
            const auto& v = j < n - 1 ? kept_[size_t(j)].v[size_t(l)] : e.v[size_t(l)];
            acc += att[size_t(j)] * v[size_t(kvh * hd + i)];
          }
          out[size_t(h * hd + i)] = acc;
        }
      }
      matmul_reference(L.wo, out.data(), c.q_dim(), 1, tmp.data(), dim);
      ref::add(tmp.data(), x.data(), dim);
      ref::rmsnorm(xn.data(), x.data(), reinterpret_cast<const float*>(L.ffn_norm.data), dim, c.norm_eps);
      matmul_reference(L.w_gate, xn.data(), dim, 1, gate.data(), c.ffn_dim);
      matmul_reference(L.w_up, xn.data(), dim, 1, up.data(), c.ffn_dim);
      ref::swiglu(gate.data(), up.data(), c.ffn_dim);
      matmul_reference(L.w_down, gate.data(), c.ffn_dim, 1, tmp.data(), dim);
      ref::add(tmp.data(), x.data(), dim);
    }
    kept_.push_back(std::move(e));
    ref::rmsnorm(xn.data(), x.data(), reinterpret_cast<const float*>(m_.output_norm.data), dim, c.norm_eps);
    std::vector<float> logits(static_cast<size_t>(c.vocab_size));
    matmul_reference(m_.output, xn.data(), dim, 1, logits.data(), c.vocab_size);
    return logits;
  }

private:
  void rotate(float* v, int heads, int hd, int dims, const float* cs) const {
    if (m_.arch->rope == RopeStyle::Neox) rope_rotate_neox(v, heads, hd, dims, cs);
    else rope_rotate(v, heads, hd, dims, cs);
  }
  static void add_bias(const Weight& b, float* y) {
    if (b.data) ref::add(reinterpret_cast<const float*>(b.data), y, b.cols);
  }
  struct Entry {
    std::vector<std::vector<float>> k, v;  // [layer][kv_dim], keys not rotated
  };
  const Model& m_;
  ContextPolicy policy_;
  int capacity_, anchors_;
  std::vector<Entry> kept_;
};

float max_abs_diff(const float* a, const float* b, size_t n) {
  float m = 0.0f;
  for (size_t i = 0; i < n; i++) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

struct RingCase {
  ContextPolicy policy;
  int capacity, anchors, prompt;  // prompt: tokens given to one prefill() before decoding
};

}  // namespace

class KvRing : public ::testing::TestWithParam<RingCase> {};

TEST_P(KvRing, OneLayerEqualsARecomputationOverTheKeptTokens) {
  const RingCase rc = GetParam();
  test::LlamaShape shape;
  shape.ctx = 256;
  shape.layers = 1;
  const auto file = test::make_llama(shape, 7);
  std::unique_ptr<Engine> ring, ref;
  ASSERT_TRUE(test::load_engine(file, &ring, rc.capacity).ok());
  ASSERT_TRUE(test::load_engine(file, &ref, 256).ok());
  ASSERT_TRUE(ring->set_context_policy(rc.policy, rc.anchors).ok());
  const size_t V = size_t(shape.vocab);

  const int total = 6 * rc.capacity + 5;  // several wraps
  std::vector<int32_t> stream(static_cast<size_t>(total));
  for (int i = 0; i < total; i++) stream[size_t(i)] = int32_t((i * 53 + 7) % shape.vocab);

  KeptTokens kept{rc.policy, rc.capacity, rc.anchors, {}, {}};
  float worst = 0.0f;
  // A long prompt first, in one prefill call: compare every position's logits.
  ASSERT_TRUE(ring->prefill(stream.data(), rc.prompt, true).ok());
  const std::vector<float> prompt_logits(ring->logits(), ring->logits() + size_t(rc.prompt) * V);
  for (int i = 0; i < rc.prompt; i++) {
    kept.add(stream[size_t(i)]);
    const auto expect = reference_logits(*ref, kept.tokens());
    const float d = max_abs_diff(&prompt_logits[size_t(i) * V], expect.data(), V);
    ASSERT_LE(d, 1e-4f) << "prompt position " << i;
    worst = std::max(worst, d);
  }
  // Then one token at a time.
  for (int i = rc.prompt; i < total; i++) {
    ASSERT_TRUE(ring->decode(stream[size_t(i)]).ok());
    kept.add(stream[size_t(i)]);
    const auto expect = reference_logits(*ref, kept.tokens());
    const float d = max_abs_diff(ring->logits(), expect.data(), V);
    ASSERT_LE(d, 1e-4f) << "step " << i << " (" << kept.tokens().size() << " kept)";
    worst = std::max(worst, d);
  }
  EXPECT_LE(worst, 1e-4f);
  EXPECT_EQ(ring->position(), total) << "positions keep counting past the capacity";
}

INSTANTIATE_TEST_SUITE_P(
    Policies, KvRing,
    ::testing::Values(RingCase{ContextPolicy::Sinks, 13, 4, 5}, RingCase{ContextPolicy::Sinks, 20, 1, 45},
                      RingCase{ContextPolicy::Sinks, 37, 4, 100}, RingCase{ContextPolicy::Shift, 13, 3, 5},
                      RingCase{ContextPolicy::Shift, 20, 0, 45}, RingCase{ContextPolicy::Shift, 37, 4, 100}),
    [](const auto& info) {
      const RingCase& c = info.param;
      return std::string(c.policy == ContextPolicy::Sinks ? "Sinks" : "Shift") + "_cap" + std::to_string(c.capacity) +
             "_anchors" + std::to_string(c.anchors) + "_prompt" + std::to_string(c.prompt);
    });

TEST_P(KvRing, MultiLayerEqualsANaiveStreamingCache) {
  for (const char* arch : {"llama", "qwen2"}) {
  SCOPED_TRACE(arch);
  const RingCase rc = GetParam();
  test::LlamaShape shape;  // two layers, grouped-query attention
  shape.arch = arch;
  const auto file = test::make_llama(shape, 9);
  std::unique_ptr<Engine> ring;
  ASSERT_TRUE(test::load_engine(file, &ring, rc.capacity).ok());
  ASSERT_TRUE(ring->set_context_policy(rc.policy, rc.anchors).ok());
  NaiveStreamingReference naive(ring->model(), rc.policy, rc.capacity, rc.anchors);
  const size_t V = size_t(shape.vocab);
  const int total = 4 * rc.capacity + 3;
  std::vector<int32_t> stream(static_cast<size_t>(total));
  for (int i = 0; i < total; i++) stream[size_t(i)] = int32_t((i * 29 + 5) % shape.vocab);

  ASSERT_TRUE(ring->prefill(stream.data(), rc.prompt, true).ok());
  const std::vector<float> prompt_logits(ring->logits(), ring->logits() + size_t(rc.prompt) * V);
  for (int i = 0; i < rc.prompt; i++) {
    const auto expect = naive.step(stream[size_t(i)]);
    ASSERT_LE(max_abs_diff(&prompt_logits[size_t(i) * V], expect.data(), V), 1e-4f) << "prompt position " << i;
  }
  for (int i = rc.prompt; i < total; i++) {
    ASSERT_TRUE(ring->decode(stream[size_t(i)]).ok());
    const auto expect = naive.step(stream[size_t(i)]);
    ASSERT_LE(max_abs_diff(ring->logits(), expect.data(), V), 1e-4f) << "step " << i;
  }
  }
}

// gpt2: the shift policy re-runs the kept window at its new positions, so every step, for several
// layers, equals a fresh prefill of exactly the kept tokens.
class LearnedPositionsRing : public ::testing::TestWithParam<RingCase> {};

TEST_P(LearnedPositionsRing, ShiftEqualsARecomputationOverTheKeptTokens) {
  const RingCase rc = GetParam();
  test::LlamaShape shape;
  shape.arch = "gpt2";
  shape.ctx = 64;  // learned positions: the capacity must fit, the stream goes far beyond
  const auto file = test::make_llama(shape, 8);
  std::unique_ptr<Engine> ring, ref;
  ASSERT_TRUE(test::load_engine(file, &ring, rc.capacity).ok());
  ASSERT_TRUE(test::load_engine(file, &ref, 64).ok());
  ASSERT_TRUE(ring->set_context_policy(rc.policy, rc.anchors).ok());
  const size_t V = size_t(shape.vocab);
  const int total = 5 * rc.capacity + 3;
  std::vector<int32_t> stream(static_cast<size_t>(total));
  for (int i = 0; i < total; i++) stream[size_t(i)] = int32_t((i * 37 + 11) % shape.vocab);

  KeptTokens kept{rc.policy, rc.capacity, rc.anchors, {}, {}};
  ASSERT_TRUE(ring->prefill(stream.data(), rc.prompt, true).ok());
  const std::vector<float> prompt_logits(ring->logits(), ring->logits() + size_t(rc.prompt) * V);
  for (int i = 0; i < rc.prompt; i++) {
    kept.add(stream[size_t(i)]);
    ASSERT_LE(max_abs_diff(&prompt_logits[size_t(i) * V], reference_logits(*ref, kept.tokens()).data(), V), 1e-4f)
        << "prompt position " << i;
  }
  for (int i = rc.prompt; i < total; i++) {
    ASSERT_TRUE(ring->decode(stream[size_t(i)]).ok());
    kept.add(stream[size_t(i)]);
    ASSERT_LE(max_abs_diff(ring->logits(), reference_logits(*ref, kept.tokens()).data(), V), 1e-4f)
        << "step " << i << " (" << kept.tokens().size() << " kept)";
  }
  EXPECT_EQ(ring->position(), total) << "positions keep counting past the capacity";
  EXPECT_GT(ring->cache().dropped(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Shift, LearnedPositionsRing,
    ::testing::Values(RingCase{ContextPolicy::Shift, 13, 3, 5}, RingCase{ContextPolicy::Shift, 20, 0, 45},
                      RingCase{ContextPolicy::Shift, 37, 4, 100}, RingCase{ContextPolicy::Shift, 64, 4, 150}),
    [](const auto& info) {
      const RingCase& c = info.param;
      return "cap" + std::to_string(c.capacity) + "_anchors" + std::to_string(c.anchors) + "_prompt" + std::to_string(c.prompt);
    });

TEST(KvRing, StopStopsExactlyAtCapacity) {
  test::LlamaShape shape;
  std::unique_ptr<Engine> e;
  ASSERT_TRUE(test::load_engine(test::make_llama(shape), &e, 11).ok());
  for (int i = 0; i < 11; i++) ASSERT_TRUE(e->decode(i + 3).ok()) << i;
  const Status s = e->decode(3);
  EXPECT_NE(s.message().find("context full"), std::string::npos) << s.message();
  EXPECT_EQ(e->position(), 11);
}

TEST(KvRing, LearnedPositionsRefuseSinksAndStopAtCapacity) {
  test::LlamaShape shape;
  shape.arch = "gpt2";
  shape.ctx = 32;
  const auto file = test::make_llama(shape);
  std::unique_ptr<Engine> e;
  ASSERT_TRUE(test::load_engine(file, &e, 16).ok());
  const Status sinks = e->set_context_policy(ContextPolicy::Sinks, 4);
  ASSERT_FALSE(sinks.ok());
  EXPECT_NE(sinks.message().find("'sinks' needs rotary positions"), std::string::npos) << sinks.message();
  EXPECT_NE(sinks.message().find("'shift'"), std::string::npos) << sinks.message();
  ASSERT_TRUE(e->set_context_policy(ContextPolicy::Stop, 0).ok());
  for (int i = 0; i < 16; i++) ASSERT_TRUE(e->decode(i + 3).ok()) << i;
  const Status s = e->decode(3);
  EXPECT_NE(s.message().find("context full"), std::string::npos) << s.message();
}

TEST(KvRing, ContextBeyondTheLearnedPositionsIsRefusedAtLoad) {
  test::LlamaShape shape;
  shape.arch = "gpt2";
  shape.ctx = 32;
  const auto file = test::make_llama(shape);
  std::unique_ptr<Engine> e;
  const Status s = test::load_engine(file, &e, 33);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("contextSize 33 is larger than the 32 positions"), std::string::npos) << s.message();
  EXPECT_TRUE(test::load_engine(file, &e, 32).ok());
  std::unique_ptr<Engine> d;
  ASSERT_TRUE(test::load_engine(file, &d, 0).ok());
  EXPECT_EQ(d->context_size(), 32) << "the default context is the trained one";
}
