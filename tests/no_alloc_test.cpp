// The per-token path allocates nothing: count heap allocations around prefill() and decode() calls,
// on one thread and on a pool of threads.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>

#include "generate/grammar.h"
#include "generate/grammar_matcher.h"
#include "generate/token_trie.h"
#include "gguf_builder.h"
#include "test_util.h"
#include "generate/logprobs.h"
#include "generate/sampler.h"

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t n) {
  g_allocations++;
  if (void* p = std::malloc(n ? n : 1)) return p;
  std::abort();  // tests only: the library itself never throws or aborts
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace ringlm;

namespace {
// Started before any counting: a pool's threads are created once, at load, never per token.
ThreadPool& pool() {
  static ThreadPool p(3);
  return p;
}
}  // namespace

TEST(NoAlloc, DecodeAndPrefillAllocateNothing) {
  for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::Q8_0, TensorType::Q4_0, TensorType::Q5_0,
                          TensorType::Q5_1, TensorType::BF16, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K}) {
    for (ThreadPool* threads : {static_cast<ThreadPool*>(nullptr), &pool()}) {
      test::LlamaShape shape;
      shape.type = type;
      if (tensor_type_traits(uint32_t(type)).block_size == kQK) shape.dim = 256, shape.ffn = 256;  // K-quant rows: 256
      std::unique_ptr<Engine> e;
      ASSERT_TRUE(test::load_engine(test::make_llama(shape), &e, 0, threads).ok());
      std::vector<int32_t> prompt = {1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 49, 53, 57, 61, 65, 69};
      const long before = g_allocations.load();
      ASSERT_TRUE(e->prefill(prompt.data(), int(prompt.size()), false).ok());
      for (int i = 0; i < 40; i++) ASSERT_TRUE(e->decode(int32_t((i * 7) % shape.vocab)).ok());
      e->reset();
      ASSERT_TRUE(e->prefill(prompt.data(), int(prompt.size()), false).ok());
      EXPECT_EQ(g_allocations.load() - before, 0) << tensor_type_name(uint32_t(type)) << ", threads " << e->threads();
    }
  }
}

// qwen2 and gpt2, past the capacity: gpt2's re-run of the window after a shift allocates nothing either.
TEST(NoAlloc, OtherArchitecturesThroughWrapsAllocateNothing) {
  for (const char* arch : {"qwen2", "gpt2"}) {
    for (TensorType type : {TensorType::F32, TensorType::Q8_0}) {
      test::LlamaShape shape;
      shape.arch = arch;
      shape.type = type;
      std::unique_ptr<Engine> e;
      ASSERT_TRUE(test::load_engine(test::make_llama(shape), &e, 24).ok());
      ASSERT_TRUE(e->set_context_policy(ContextPolicy::Shift, 4).ok());
      std::vector<int32_t> prompt = {1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 49, 53, 57, 61, 65, 69};
      const long before = g_allocations.load();
      ASSERT_TRUE(e->prefill(prompt.data(), int(prompt.size()), false).ok());
      for (int i = 0; i < 60; i++) ASSERT_TRUE(e->decode(int32_t((i * 7) % shape.vocab)).ok());
      EXPECT_GT(e->cache().dropped(), 0);
      EXPECT_EQ(g_allocations.load() - before, 0) << arch << " " << tensor_type_name(uint32_t(type));
    }
  }
}

// The grammar step: once its buffers have grown (a first stretch of text), checking candidate pieces and
// accepting text allocate nothing, through the matcher's compactions too.
TEST(NoAlloc, GrammarMatcherAllocatesNothing) {
  Grammar g;
  ASSERT_TRUE(Grammar::parse("root ::= \"[\" ws (num (\",\" ws num)*)? \"]\"\nnum ::= \"-\"? [0-9]+ (\".\" [0-9]+)?\n"
                             "ws ::= [ \\t\\n]*\n", &g).ok());
  GrammarMatcher m(g);
  const char* pieces[] = {"1", "23", ", ", "-4", ".5", "]", "x", "\xC3", " ,", "[", ",\n", "007"};
  ASSERT_TRUE(m.accept("["));
  const auto run = [&](int items) {
    for (int i = 0; i < items; i++) {
      for (const char* p : pieces) (void)m.allows(p);
      ASSERT_TRUE(m.accept(", "));
      ASSERT_TRUE(m.accept("-12"));
      ASSERT_TRUE(m.accept(".5"));
    }
  };
  ASSERT_TRUE(m.accept("0"));
  run(20000);  // warm-up: the buffers reach their working size
  const long before = g_allocations.load();
  run(20000);
  EXPECT_EQ(g_allocations.load() - before, 0);
}

// Sampling under a grammar: the best candidates asked one by one, and the whole-vocabulary mask walked through
// the token trie when most are refused (digits after words), greedy and sampled, allocate nothing per token.
TEST(NoAlloc, GrammarConstrainedSamplingAllocatesNothing) {
  test::LlamaShape shape;
  shape.pieces = test::test_pieces();
  for (const char* digits : {"0", "1", "12", "7"}) shape.pieces.push_back(digits);
  std::unique_ptr<Engine> e;
  ASSERT_TRUE(test::load_engine(test::make_llama(shape), &e).ok());
  const Tokenizer* tokenizer = nullptr;
  ASSERT_TRUE(e->tokenizer(&tokenizer).ok());
  TokenTrie trie;
  ASSERT_TRUE(TokenTrie::build(*tokenizer, &trie).ok());
  Grammar g;
  ASSERT_TRUE(Grammar::parse("root ::= ([0-9]+ \" \" [a-z]+ \" \")+\n", &g).ok());
  const int vocab = tokenizer->n_tokens();
  std::vector<float> logits(static_cast<size_t>(vocab));
  for (float temperature : {0.0f, 0.8f}) {
   // Triggers: none; ones written early (the grammar then holds); one never written (every token searched for it).
   for (const std::vector<std::string>& triggers : {std::vector<std::string>{}, std::vector<std::string>{"1", "12 "},
                                                    std::vector<std::string>{"never written"}}) {
    GrammarConstraint constraint(g, *tokenizer, {}, &trie, triggers);
    Sampler sampler;
    SamplingParams params;
    params.temperature = temperature;
    params.seed = 3;
    ASSERT_TRUE(sampler.init(vocab, params).ok());
    sampler.set_constraint(&constraint);
    const auto run = [&](int steps) {
      for (int step = 0; step < steps; step++) {
        for (int i = 0; i < vocab; i++) logits[size_t(i)] = float((i * 37 + step * 11) % 101) / 10.0f;
        const int32_t token = sampler.sample(logits.data());
        ASSERT_GE(token, 0);
        constraint.accept(token);
        sampler.accept(token);
      }
    };
    run(300);  // warm-up: the walk's and the matcher's buffers reach their working size
    const long before = g_allocations.load();
    run(300);
    EXPECT_EQ(g_allocations.load() - before, 0) << "temperature " << temperature << ", " << triggers.size() << " triggers";
   }
  }
}

TEST(NoAlloc, LogitBiasAndLogprobsAllocateNothing) {
  const int vocab = 1000;
  Sampler sampler;
  SamplingParams params;
  params.repeat_penalty = 1.1f;
  ASSERT_TRUE(sampler.init(vocab, params).ok());
  sampler.set_logit_bias({{5, -INFINITY}, {7, 2.5f}, {999, -1.0f}});
  TokenLogprobs logprobs;
  logprobs.reserve(TokenLogprobs::kMaxTop);
  std::vector<float> logits(vocab);
  for (int i = 0; i < vocab; i++) logits[size_t(i)] = float((i * 37) % 101) / 10.0f;
  const long before = g_allocations.load();
  for (int step = 0; step < 50; step++) {
    const int32_t token = sampler.sample(logits.data());
    logprobs.compute(logits.data(), vocab, token);
    sampler.accept(token);
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
}
