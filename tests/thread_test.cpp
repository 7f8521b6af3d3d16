// Threads: the pool runs every item of a loop exactly once, on several threads at once, job after
// job; and a model computes the same bits with 1, 2 or 3 threads (each output row and each
// attention head is computed by one thread, in the same order as with one), in prefill and in
// decode, past wrap-arounds of the KV ring. Built natively and into the threaded wasm module.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "gguf_builder.h"
#include "test_util.h"
#include "common/thread_pool.h"

using namespace ringlm;

namespace {

// One pool for the whole suite, as the wasm module has: its threads are started once.
ThreadPool& pool() {
  static ThreadPool p(3);
  return p;
}

}  // namespace

TEST(ThreadPool, EveryItemOnceOnAThreadOfItsOwn) {
  ASSERT_EQ(pool().size(), 3);
  for (int max_threads : {1, 2, 3, 8}) {
    for (int64_t n : {1, 2, 5, 16, 17, 1000}) {
      for (int64_t grain : {1, 3, 16, 2000}) {
        std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
        std::atomic<bool> bad_thread{false};
        pool().parallel_for(n, grain, max_threads, [&](int64_t begin, int64_t end, int thread) {
          const bool split = std::min(max_threads, 3) > 1 && n > grain;  // else one call does all
          if (thread < 0 || thread >= std::min(max_threads, 3) || (split && end - begin > grain) || begin >= end) {
            bad_thread = true;
          }
          for (int64_t i = begin; i < end; i++) seen[size_t(i)]++;
        });
        for (int64_t i = 0; i < n; i++) ASSERT_EQ(seen[size_t(i)].load(), 1) << n << " " << grain << " " << max_threads;
        ASSERT_FALSE(bad_thread) << n << " " << grain << " " << max_threads;
      }
    }
  }
}

TEST(ThreadPool, ThreadsRunAtTheSameTime) {
  // Each item waits until every item has started: this ends only if `threads` threads hold one
  // item each at the same moment (a thread stuck in one item cannot take another).
  for (int threads : {2, 3}) {
    std::atomic<int> started{0};
    std::atomic<bool> timed_out{false};
    pool().parallel_for(threads, 1, threads, [&](int64_t, int64_t, int) {
      started++;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (started.load() < threads) {
        if (std::chrono::steady_clock::now() > deadline) {
          timed_out = true;
          return;
        }
      }
    });
    EXPECT_FALSE(timed_out) << threads << " threads never ran at once";
  }
}

TEST(ThreadPool, ManyShortJobsOfChangingShapesAfterIdleSpells) {
  // Jobs back to back (workers still spinning), of the sizes and chunks a forward pass hands out
  // in turn, and after pauses long enough for the workers to sleep. A thread that wakes late must
  // never take a chunk of the next job (that once ran one chunk twice and then hung).
  const int64_t sizes[] = {32, 8, 128, 384, 512, 1};
  const int64_t grains[] = {16, 1, 16, 48, 64, 1};
  std::vector<int> hits(512);
  for (int round = 0; round < 100000; round++) {
    if (round % 25000 == 24999) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const int k = round % 6;
    const int64_t n = sizes[k];
    std::fill(hits.begin(), hits.end(), 0);
    pool().parallel_for(n, grains[k], 2 + (round / 1000) % 2, [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; i++) hits[size_t(i)]++;
    });
    for (int64_t i = 0; i < n; i++) ASSERT_EQ(hits[size_t(i)], 1) << "round " << round << ", item " << i;
  }
}

TEST(ThreadPool, StartsAndStopsCleanly) {
  for (int threads : {1, 2, 4}) {
    ThreadPool p(threads);
    EXPECT_EQ(p.size(), threads);
    std::atomic<int64_t> total{0};
    p.parallel_for(100, 7, threads, [&](int64_t b, int64_t e, int) { total += e - b; });
    EXPECT_EQ(total.load(), 100);
  }  // each destructor joins its threads, some asleep and some still spinning
}

namespace {

struct Outputs {
  std::vector<float> prefill;  // every prompt position's logits
  std::vector<float> decode;   // every decoded position's logits
  std::vector<int32_t> ids;    // greedy ids
};

Outputs run_model(const std::vector<uint8_t>& file, int vocab, int threads, ContextPolicy policy) {
  std::unique_ptr<Engine> e;
  Status s = test::load_engine(file, &e, 40, threads > 1 ? &pool() : nullptr, threads);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return {};
  EXPECT_EQ(e->threads(), threads);
  EXPECT_TRUE(e->set_context_policy(policy, 4).ok());
  std::vector<int32_t> prompt(45);  // more than a prefill batch, and more than the ring holds
  for (size_t i = 0; i < prompt.size(); i++) prompt[i] = int32_t((i * 37 + 11) % size_t(vocab));
  Outputs r;
  EXPECT_TRUE(e->prefill(prompt.data(), 30, true).ok());
  r.prefill.assign(e->logits(), e->logits() + e->logits_count());
  for (int i = 0; i < 70; i++) {  // past several wraps of the 40-token ring
    const float* l = e->logits();
    const int32_t id = int32_t(std::max_element(l, l + vocab) - l);
    r.ids.push_back(id);
    EXPECT_TRUE(e->decode(id).ok());
    r.decode.insert(r.decode.end(), e->logits(), e->logits() + vocab);
  }
  return r;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

class ThreadedModel : public ::testing::TestWithParam<TensorType> {};

TEST_P(ThreadedModel, SameBitsWithOneTwoOrThreeThreads) {
  test::LlamaShape shape;
  shape.type = GetParam();
  const bool k_quant = tensor_type_traits(uint32_t(shape.type)).block_size == 256;
  shape.dim = k_quant ? 256 : 128;  // K-quant rows are 256 long
  shape.heads = 8;
  shape.kv_heads = 2;
  shape.ffn = k_quant ? 512 : 320;
  shape.vocab = 300;
  const std::vector<uint8_t> file = test::make_llama(shape);
  for (ContextPolicy policy : {ContextPolicy::Sinks, ContextPolicy::Shift}) {
    const Outputs one = run_model(file, shape.vocab, 1, policy);
    ASSERT_EQ(one.prefill.size(), size_t(30 * shape.vocab));
    for (int threads : {2, 3}) {
      const Outputs many = run_model(file, shape.vocab, threads, policy);
      EXPECT_TRUE(same_bits(one.prefill, many.prefill)) << threads << " threads, prefill";
      EXPECT_TRUE(same_bits(one.decode, many.decode)) << threads << " threads, decode";
      EXPECT_EQ(one.ids, many.ids) << threads << " threads, greedy ids";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, ThreadedModel,
                         ::testing::Values(TensorType::F32, TensorType::F16, TensorType::Q8_0, TensorType::Q4_0,
                                           TensorType::Q5_0, TensorType::Q5_1, TensorType::BF16, TensorType::Q4_K,
                                           TensorType::Q5_K, TensorType::Q6_K),
                         [](const auto& info) { return tensor_type_name(uint32_t(info.param)); });

TEST(ThreadedModel, EnginesShareOnePoolInTurn) {
  test::LlamaShape shape;
  shape.type = TensorType::Q8_0;
  const std::vector<uint8_t> file = test::make_llama(shape);
  std::unique_ptr<Engine> a, b;
  ASSERT_TRUE(test::load_engine(file, &a, 64, &pool()).ok());
  ASSERT_TRUE(test::load_engine(file, &b, 64, &pool(), 2).ok());
  EXPECT_EQ(a->threads(), 3);
  EXPECT_EQ(b->threads(), 2);
  const int32_t prompt[] = {1, 7, 9, 30, 2};
  ASSERT_TRUE(a->prefill(prompt, 5, false).ok());
  ASSERT_TRUE(b->prefill(prompt, 3, false).ok());
  ASSERT_TRUE(b->prefill(prompt + 3, 2, false).ok());
  EXPECT_EQ(std::memcmp(a->logits(), b->logits(), size_t(shape.vocab) * sizeof(float)), 0);
  // A thread count the pool does not have is capped at its size, and the memory budget says so.
  std::unique_ptr<Engine> c;
  ASSERT_TRUE(test::load_engine(file, &c, 64, &pool(), 9).ok());
  EXPECT_EQ(c->threads(), 3);
  EXPECT_EQ(c->budget().scratch_bytes, c->scratch_bytes());
}
