// Threads: the pool runs every item of a loop exactly once, in shrinking chunks, on several threads
// at once, job after job; the governor drops to one thread when probes say one is faster and goes
// back when they say all are; and a model computes the same bits with 1, 2 or 3 threads (each
// output row and each attention head is computed by one thread, in the same order as with one),
// however many its layers actually use, in prefill and in decode, past wrap-arounds of the KV ring.
// Built natively and into the threaded wasm module.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "gguf_builder.h"
#include "test_util.h"
#include "common/thread_governor.h"
#include "common/thread_pool.h"
#include "kernels/matmul.h"

using namespace ringlm;

namespace {

// One pool for the whole suite, as the wasm module has: its threads are started once.
ThreadPool& pool() {
  static ThreadPool p(3);
  return p;
}

}  // namespace

TEST(ThreadPool, EveryItemOnceOnAThreadOfItsOwnInShrinkingAlignedChunks) {
  ASSERT_EQ(pool().size(), 3);
  for (int max_threads : {1, 2, 3, 8}) {
    const int threads = std::min(max_threads, 3);
    for (int64_t n : {1, 2, 5, 16, 17, 1000}) {
      for (int64_t grain : {1, 3, 16, 2000}) {
        std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
        std::atomic<bool> bad_thread{false}, bad_chunk{false};
        pool().reset_stats();
        pool().parallel_for(n, grain, max_threads, [&](int64_t begin, int64_t end, int thread) {
          const bool split = threads > 1 && n > grain;  // else one call does all
          if (thread < 0 || thread >= threads || begin >= end) bad_thread = true;
          // A share of what was left when the chunk was taken (all items before `begin` were
          // taken), a multiple of grain, at least grain, starting at a multiple of grain.
          const int64_t share = std::max<int64_t>(1, (n - begin) / (grain * 2 * threads)) * grain;
          if (split && (begin % grain != 0 || end != std::min(n, begin + share))) bad_chunk = true;
          for (int64_t i = begin; i < end; i++) seen[size_t(i)]++;
        });
        for (int64_t i = 0; i < n; i++) ASSERT_EQ(seen[size_t(i)].load(), 1) << n << " " << grain << " " << max_threads;
        ASSERT_FALSE(bad_thread) << n << " " << grain << " " << max_threads;
        ASSERT_FALSE(bad_chunk) << n << " " << grain << " " << max_threads;
        const ThreadPool::Stats st = pool().stats();
        const bool split = threads > 1 && n > grain;
        EXPECT_EQ(st.jobs, split ? 1u : 0u);
        EXPECT_EQ(st.items, split ? uint64_t(n) : 0u);
        EXPECT_LE(st.caller_items, st.items);
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

TEST(MatmulMany, EachOutputHasTheBitsOfItsOwnProductOnAnyNumberOfThreads) {
  // Ragged row counts (a part's rows end inside a chunk), and types whose activations take the same
  // form (Q8_0 beside Q4_0), other forms (F32 beside Q8_0), or one buffer in two forms (F16 beside BF16).
  const int64_t cols = 64;
  const int rows[] = {37, 5, 100};
  const TensorType groups[][3] = {{TensorType::Q8_0, TensorType::Q4_0, TensorType::F32},
                                  {TensorType::F16, TensorType::BF16, TensorType::F16},
                                  {TensorType::BF16, TensorType::Q8_0, TensorType::F16}};
  uint32_t seed = 1;
  const auto value = [&] { return float(int((seed = seed * 1664525u + 1013904223u) >> 9) % 2001 - 1000) / 700.0f; };
  std::vector<float> x(size_t(5 * cols));
  for (float& v : x) v = value();
  for (const auto& types : groups) {
    std::vector<uint8_t> bytes[3];
    Weight w[3];
    for (int i = 0; i < 3; i++) {
      test::TensorSpec spec{"w", {cols, rows[i]}, types[i], std::vector<float>(size_t(cols * rows[i]))};
      for (float& v : spec.values) v = value();
      bytes[i] = test::encode(spec);
      w[i].type = types[i];
      w[i].data = bytes[i].data();
      w[i].cols = cols;
      w[i].rows = rows[i];
      w[i].row_bytes = bytes[i].size() / size_t(rows[i]);
    }
    for (int tokens : {1, 5}) {
      MatmulScratch one;
      one.reserve(5, cols);
      std::vector<float> expected[3];
      for (int i = 0; i < 3; i++) {
        expected[i].assign(size_t(tokens * rows[i]), 0.0f);
        matmul(w[i], x.data(), cols, tokens, expected[i].data(), rows[i], one);
      }
      for (int threads : {1, 3}) {
        MatmulScratch s;
        s.reserve(5, cols, threads);
        std::vector<float> y[3];
        MatmulOutput out[3];
        for (int i = 0; i < 3; i++) {
          y[i].assign(expected[i].size(), -1.0f);
          out[i] = {&w[i], y[i].data(), rows[i]};
        }
        matmul_many(out, 3, x.data(), cols, tokens, s, Threads{&pool(), threads});
        for (int i = 0; i < 3; i++) {
          EXPECT_EQ(std::memcmp(y[i].data(), expected[i].data(), y[i].size() * sizeof(float)), 0)
              << tensor_type_name(uint32_t(types[i])) << " (output " << i << "), " << tokens << " tokens, " << threads << " threads";
        }
      }
    }
  }
}

TEST(MatmulMany, ActivationsPreparedAcrossThreadsHaveTheBitsOfOneThread) {
  // A batch long enough that preparing the activations (rounding to f16 / bf16, quantizing to Q8_0
  // or Q8_K) is split by tokens across the threads (Threads::for_rows), for every weight type.
  const int64_t cols = 512;
  const int rows = 40, tokens = 33;
  uint32_t seed = 7;
  const auto value = [&] { return float(int((seed = seed * 1664525u + 1013904223u) >> 9) % 2001 - 1000) / 300.0f; };
  std::vector<float> x(size_t(tokens * cols));
  for (float& v : x) v = value();
  ASSERT_GT(int64_t(tokens) * cols, 2 * Threads::kMinValuesPerChunk);
  for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0, TensorType::Q4_0,
                          TensorType::Q5_0, TensorType::Q5_1, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K}) {
    test::TensorSpec spec{"w", {cols, rows}, type, std::vector<float>(size_t(cols * rows))};
    for (float& v : spec.values) v = value();
    const std::vector<uint8_t> bytes = test::encode(spec);
    Weight w;
    w.type = type;
    w.data = bytes.data();
    w.cols = cols;
    w.rows = rows;
    w.row_bytes = bytes.size() / size_t(rows);
    MatmulScratch one;
    one.reserve(tokens, cols);
    std::vector<float> expected(size_t(tokens * rows));
    matmul(w, x.data(), cols, tokens, expected.data(), rows, one);
    for (int threads : {2, 3}) {
      MatmulScratch s;
      s.reserve(tokens, cols, threads);
      std::vector<float> y(expected.size(), -1.0f);
      pool().reset_stats();
      matmul(w, x.data(), cols, tokens, y.data(), rows, s, Threads{&pool(), threads});
      EXPECT_EQ(std::memcmp(y.data(), expected.data(), y.size() * sizeof(float)), 0)
          << tensor_type_name(uint32_t(type)) << ", " << threads << " threads";
      // F32 reads its activations as they are; every other form is prepared in a loop of its own.
      EXPECT_EQ(pool().stats().jobs, type == TensorType::F32 ? 1u : 2u) << tensor_type_name(uint32_t(type));
    }
  }
}

namespace {

struct Outputs {
  std::vector<float> prefill;  // every prompt position's logits
  std::vector<float> decode;   // every decoded position's logits
  std::vector<int32_t> ids;    // greedy ids
  ThreadGovernor::Stats governor;
};

// How the layers choose their threads: the governor's measurements (the default), or pinned to a
// count that changes at every decode step (1, 2, ..., threads, 1, ...), so that tokens run on one
// thread sit between tokens run on several, as when the governor drops to one thread and back.
enum class Choice { Measured, PinnedInTurn };

Outputs run_model(const std::vector<uint8_t>& file, int vocab, int threads, ContextPolicy policy,
                  Choice choice = Choice::Measured) {
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
    if (choice == Choice::PinnedInTurn) e->thread_governor().pin(1 + i % threads);
    const float* l = e->logits();
    const int32_t id = int32_t(std::max_element(l, l + vocab) - l);
    r.ids.push_back(id);
    EXPECT_TRUE(e->decode(id).ok());
    r.decode.insert(r.decode.end(), e->logits(), e->logits() + vocab);
  }
  r.governor = e->thread_governor().stats();
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
  shape.dim = 256;  // K-quant rows are 256 long; and a 30-token batch of such rows is split by tokens (Threads::for_rows)
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
      // The governor's probes ran some layers on the other choice, inside passes on the usual one.
      EXPECT_GT(many.governor.probes, 0u) << threads << " threads";
      EXPECT_GT(many.governor.layers_on_one, 0u) << threads << " threads";
      EXPECT_GT(many.governor.layers_on_all, 0u) << threads << " threads";
      const Outputs turns = run_model(file, shape.vocab, threads, policy, Choice::PinnedInTurn);
      EXPECT_TRUE(same_bits(one.decode, turns.decode)) << threads << " threads pinned in turn, decode";
      EXPECT_EQ(one.ids, turns.ids) << threads << " threads pinned in turn, greedy ids";
      EXPECT_EQ(turns.governor.probes, 0u) << "a pinned count is not probed";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, ThreadedModel,
                         ::testing::Values(TensorType::F32, TensorType::F16, TensorType::Q8_0, TensorType::Q4_0,
                                           TensorType::Q5_0, TensorType::Q5_1, TensorType::BF16, TensorType::Q4_K,
                                           TensorType::Q5_K, TensorType::Q6_K),
                         [](const auto& info) { return tensor_type_name(uint32_t(info.param)); });

TEST(ThreadedModel, EveryArchitectureHasTheBitsOfOneThread) {
  // Each architecture's own per-token steps (biases, q/k norms, norms after a branch, GeGLU,
  // LayerNorm and GELU, learned positions, fused products), split by tokens across the threads in
  // prefill (rows of 256 values: a 30-token batch is split), and on one token in decode.
  for (const std::string arch : {"qwen2", "qwen3", "gemma3", "gemma2", "phi3", "gpt2", "smollm3"}) {
    test::LlamaShape shape;
    shape.arch = arch;
    shape.type = TensorType::Q8_0;
    shape.dim = 256;
    shape.heads = 8;
    shape.kv_heads = arch == "gpt2" ? 8 : 2;
    shape.ffn = 512;
    shape.vocab = 300;
    shape.tied = arch == "gemma2";
    const std::vector<uint8_t> file = test::make_llama(shape);
    // Learned positions cannot keep sinks; the shift policy runs the kept window again (more prefill passes).
    const ContextPolicy policy = arch == "gpt2" ? ContextPolicy::Shift : ContextPolicy::Sinks;
    const Outputs one = run_model(file, shape.vocab, 1, policy);
    ASSERT_EQ(one.prefill.size(), size_t(30 * shape.vocab)) << arch;
    const Outputs many = run_model(file, shape.vocab, 3, policy, Choice::PinnedInTurn);
    EXPECT_TRUE(same_bits(one.prefill, many.prefill)) << arch << ", prefill";
    EXPECT_TRUE(same_bits(one.decode, many.decode)) << arch << ", decode";
    EXPECT_EQ(one.ids, many.ids) << arch;
  }
}

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

// The governor on made-up layer times: a pass of 4 layers of 1 token, `usual` seconds a layer on the
// current choice and `other` on the other one. Returns the threads of each layer of the pass.
std::vector<int> pass(ThreadGovernor& g, double on_all, double on_one, int tokens = 1) {
  std::vector<int> used;
  g.begin_pass(tokens);
  for (int l = 0; l < 4; l++) {
    const int t = g.layer_threads(l);
    used.push_back(t);
    g.layer_done(l, t == 1 ? on_one : on_all);
  }
  return used;
}

int count(const std::vector<int>& v, int x) { return int(std::count(v.begin(), v.end(), x)); }

TEST(ThreadGovernor, DropsToOneThreadWhenThatIsFasterAndComesBackWhenAllAre) {
  ThreadGovernor g;
  g.init(3, 4);
  EXPECT_EQ(g.threads(), 3);
  // All threads twice as fast: probes now and then (one layer on one thread), no switch.
  int probe_layers = 0;
  for (int p = 0; p < 10 * ThreadGovernor::kProbeEvery; p++) probe_layers += count(pass(g, 1.0, 2.0), 1);
  EXPECT_EQ(g.threads(), 3);
  EXPECT_EQ(g.stats().switches, 0u);
  EXPECT_GE(probe_layers, 3 + 9);  // three in a row to start, then one every kProbeEvery passes
  EXPECT_LE(probe_layers, 3 + 10);
  // A busy neighbour: all threads now take 1.6 where one takes 1.0. Within a few probes (each
  // confirming the last at the next pass) the governor runs the layers on one thread.
  int passes = 0;
  while (g.threads() != 1 && passes < 4 * ThreadGovernor::kProbeEvery) pass(g, 1.6, 1.0), passes++;
  EXPECT_EQ(g.threads(), 1);
  EXPECT_LE(passes, ThreadGovernor::kProbeEvery + 3);
  EXPECT_EQ(g.stats().switches, 1u);
  EXPECT_GE(count(pass(g, 1.6, 1.0), 1), 3);  // all layers on one thread, but for a probe
  // Still busy: probes of all threads lose, the choice stays.
  for (int p = 0; p < 5 * ThreadGovernor::kProbeEvery; p++) pass(g, 1.6, 1.0);
  EXPECT_EQ(g.threads(), 1);
  // The neighbour is gone: all threads are faster again, and are chosen again.
  passes = 0;
  while (g.threads() != 3 && passes < 4 * ThreadGovernor::kProbeEvery) pass(g, 0.6, 1.0), passes++;
  EXPECT_EQ(g.threads(), 3);
  EXPECT_EQ(g.stats().switches, 2u);
  // Barely faster (within kRiseBelow) is not enough to come back; barely slower is enough to leave.
  while (g.threads() != 1) pass(g, 1.05, 1.0);
  for (int p = 0; p < 5 * ThreadGovernor::kProbeEvery; p++) pass(g, 0.95, 1.0);
  EXPECT_EQ(g.threads(), 1);
}

TEST(ThreadGovernor, OneSlowProbeIsNotEnough) {
  ThreadGovernor g;
  g.init(2, 4);
  // All threads twice as fast, but one probe (a preempted layer, say) sees one thread faster: the
  // probes after it outvote it.
  bool misled = false;
  for (int p = 0; p < 20 * ThreadGovernor::kProbeEvery; p++) {
    g.begin_pass(1);
    for (int l = 0; l < 4; l++) {
      const int t = g.layer_threads(l);
      const bool mislead = t == 1 && !misled && g.stats().probes >= 3;
      misled = misled || mislead;
      g.layer_done(l, t == 2 ? 1.0 : mislead ? 0.5 : 2.0);
    }
  }
  EXPECT_TRUE(misled);
  EXPECT_EQ(g.threads(), 2);
  EXPECT_EQ(g.stats().switches, 0u);
}

TEST(ThreadGovernor, ProbesCompareOnlyPassesOfTheSameSizeAndNeverWhenPinned) {
  ThreadGovernor g;
  g.init(2, 4);
  // Batches alternating between 32 and 16 tokens never probe: no layer has a usual time for that size.
  for (int p = 0; p < 10 * ThreadGovernor::kProbeEvery; p++) EXPECT_EQ(count(pass(g, 1.0, 0.1, p % 2 ? 16 : 32), 1), 0);
  EXPECT_EQ(g.stats().probes, 0u);
  g.pin(1);
  for (int p = 0; p < 3 * ThreadGovernor::kProbeEvery; p++) EXPECT_EQ(count(pass(g, 0.1, 1.0), 1), 4);
  EXPECT_EQ(g.threads(), 1);
  g.pin(5);  // more than it has: all of them
  EXPECT_EQ(g.threads(), 2);
  EXPECT_EQ(count(pass(g, 1.0, 0.1), 2), 4);
  EXPECT_EQ(g.stats().probes, 0u);
  g.pin(0);  // measured again
  for (int p = 0; p < 4 * ThreadGovernor::kProbeEvery; p++) pass(g, 1.0, 0.1);
  EXPECT_EQ(g.threads(), 1);
}

TEST(ThreadGovernor, DecodeAndBatchesChooseApart) {
  ThreadGovernor g;
  g.init(2, 4);
  // Beside a busy neighbour, say: one token's layers are faster on one thread, a batch's on both.
  // Decode passes and 32-token batches in turn (a prompt's passes between decoded tokens): each kind
  // probes and chooses by its own times.
  const auto decode = [&] { return pass(g, 1.6, 1.0, 1); };
  const auto batch = [&] { return pass(g, 1.0, 1.6, 32); };
  for (int p = 0; p < 4 * ThreadGovernor::kProbeEvery; p++) {
    decode();
    decode();
    batch();
  }
  EXPECT_EQ(g.decode_threads(), 1);
  EXPECT_EQ(g.batch_threads(), 2);
  EXPECT_EQ(g.stats().switches, 1u);  // decode's
  EXPECT_GE(count(decode(), 1), 3);   // on one thread but for a probe
  EXPECT_GE(count(batch(), 2), 3);    // on both but for a probe
  // The neighbour is gone and both kinds are faster on both threads: decode comes back, batches stay.
  for (int p = 0; p < 4 * ThreadGovernor::kProbeEvery; p++) pass(g, 0.6, 1.0, 1), pass(g, 0.6, 1.0, 32);
  EXPECT_EQ(g.decode_threads(), 2);
  EXPECT_EQ(g.batch_threads(), 2);
  EXPECT_EQ(g.stats().switches, 2u);
}

TEST(ThreadGovernor, APromptsFirstBatchCanProbe) {
  ThreadGovernor g;
  g.init(2, 4);
  // 96-token prompts (three 32-token passes) with 64 decoded tokens after each: the decode passes no
  // longer wipe a batch's usual times, so a probe that is due comes at the next batch, even the first
  // of a prompt (here the third of the first three probes, in a row).
  int batch_probes = 0, first_pass_probes = 0;
  for (int prompt = 0; prompt < 8; prompt++) {
    for (int p = 0; p < 3; p++) {
      const int probes = count(pass(g, 1.0, 1.8, 32), 1);
      batch_probes += probes;
      if (p == 0) first_pass_probes += probes;
    }
    for (int d = 0; d < 64; d++) pass(g, 1.0, 1.8, 1);
  }
  EXPECT_GE(batch_probes, 3 + 2);  // three in a row to start, then one every kProbeEvery batches (24 in all)
  EXPECT_GT(first_pass_probes, 0);
  EXPECT_EQ(g.stats().switches, 0u);
}
