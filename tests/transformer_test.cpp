// The forward pass: batched prefill, decode and the cache agree with each other; bad calls fail
// cleanly and leave the engine usable; bad model files name what is wrong. (Agreement with
// llama.cpp itself is checked by tests/llamacpp-compare.test.mjs on files from our GGUF writer.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "gguf_builder.h"
#include "test_util.h"

using namespace ringlm;
using test::LlamaShape;

namespace {

std::vector<int32_t> some_tokens(int n, int vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; i++) t[size_t(i)] = int32_t((i * 37 + 11) % vocab);
  return t;
}

float max_abs_diff(const float* a, const float* b, size_t n) {
  float m = 0.0f;
  for (size_t i = 0; i < n; i++) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace

class TransformerTypes : public ::testing::TestWithParam<TensorType> {};

TEST_P(TransformerTypes, PrefillThenDecodeEqualsOnePrefill) {
  LlamaShape shape;
  shape.type = GetParam();
  if (tensor_type_traits(uint32_t(shape.type)).block_size == kQK) shape.dim = 256, shape.ffn = 256;  // K-quant rows
  std::unique_ptr<Engine> e;
  ASSERT_TRUE(test::load_engine(test::make_llama(shape), &e).ok());
  const int n = 70;  // spans several prefill batches
  const auto tokens = some_tokens(n, shape.vocab);
  const size_t V = size_t(shape.vocab);

  ASSERT_TRUE(e->prefill(tokens.data(), n, true).ok());
  const std::vector<float> all(e->logits(), e->logits() + size_t(n) * V);
  float spread = 0.0f;
  for (size_t i = 0; i < V; i++) spread = std::max(spread, std::fabs(all[i] - all[0]));
  EXPECT_GT(spread, 2.0f) << "random weights should give logits that vary by units";

  for (int split : {1, 17, 32, 33, 69}) {
    e->reset();
    ASSERT_TRUE(e->prefill(tokens.data(), split, false).ok());
    EXPECT_LE(max_abs_diff(e->logits(), &all[size_t(split - 1) * V], V), 1e-5f) << "prefill of " << split;
    for (int i = split; i < n; i++) {
      ASSERT_TRUE(e->decode(tokens[size_t(i)]).ok());
      ASSERT_LE(max_abs_diff(e->logits(), &all[size_t(i) * V], V), 1e-5f) << "decode at " << i << " after " << split;
    }
    EXPECT_EQ(e->position(), n);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, TransformerTypes,
                         ::testing::Values(TensorType::F32, TensorType::F16, TensorType::Q8_0, TensorType::Q4_0,
                                           TensorType::Q5_0, TensorType::Q5_1, TensorType::BF16, TensorType::Q4_K,
                                           TensorType::Q5_K, TensorType::Q6_K),
                         [](const auto& info) { return tensor_type_name(uint32_t(info.param)); });

TEST(Transformer, TiedOutputAndMultiHeadShapes) {
  for (int kv_heads : {4, 2, 1}) {
    LlamaShape shape;
    shape.kv_heads = kv_heads;
    shape.tied = kv_heads == 2;
    std::unique_ptr<Engine> e;
    ASSERT_TRUE(test::load_engine(test::make_llama(shape), &e).ok());
    EXPECT_EQ(e->model().tied_output, shape.tied);
    EXPECT_EQ(e->model().config.n_kv_heads, kv_heads);
    const auto tokens = some_tokens(9, shape.vocab);
    ASSERT_TRUE(e->prefill(tokens.data(), 9, false).ok());
    for (size_t i = 0; i < size_t(shape.vocab); i++) ASSERT_TRUE(std::isfinite(e->logits()[i]));
  }
}

TEST(Transformer, BadCallsFailAndLeaveTheEngineUsable) {
  LlamaShape shape;
  shape.ctx = 16;
  std::unique_ptr<Engine> e;
  ASSERT_TRUE(test::load_engine(test::make_llama(shape), &e, 16).ok());
  EXPECT_EQ(e->context_size(), 16);
  const auto tokens = some_tokens(10, shape.vocab);
  ASSERT_TRUE(e->prefill(tokens.data(), 10, false).ok());
  const std::vector<float> expect(e->logits(), e->logits() + shape.vocab);

  Status s = e->decode(shape.vocab);
  EXPECT_NE(s.message().find("token id 96 at index 0 is out of range (vocabulary size 96)"), std::string::npos) << s.message();
  s = e->decode(-1);
  EXPECT_FALSE(s.ok());
  const auto more = some_tokens(7, shape.vocab);
  s = e->prefill(more.data(), 7, false);
  EXPECT_NE(s.message().find("context full"), std::string::npos) << s.message();
  EXPECT_FALSE(e->prefill(more.data(), 0, false).ok());
  EXPECT_EQ(e->position(), 10) << "failed calls change nothing";

  e->reset();
  ASSERT_TRUE(e->prefill(tokens.data(), 10, false).ok());
  EXPECT_EQ(max_abs_diff(e->logits(), expect.data(), expect.size()), 0.0f);
  ASSERT_TRUE(e->prefill(more.data(), 6, false).ok()) << "exactly fills the cache";
}

TEST(Transformer, DefaultContextIsTheTrainedOneOrTheLargestThatFits) {
  LlamaShape shape;
  shape.ctx = 100;
  std::unique_ptr<Engine> e;
  ASSERT_TRUE(test::load_engine(test::make_llama(shape), &e).ok());
  EXPECT_EQ(e->context_size(), 100);
  EXPECT_EQ(e->context_limited_by(), ContextLimit::Trained);
  ASSERT_TRUE(test::load_engine(test::make_llama(shape), &e, 50).ok());
  EXPECT_EQ(e->context_limited_by(), ContextLimit::Option);

  // A trained context whose KV ring does not fit the limit: the largest that does, with the headroom left.
  shape.ctx = 1 << 20;
  const std::vector<uint8_t> bytes = test::make_llama(shape);
  const uint64_t limit = 8ull << 20;
  EngineOptions options;
  options.memory_limit = limit;
  uint8_t* copy = static_cast<uint8_t*>(std::malloc(bytes.size()));
  std::memcpy(copy, bytes.data(), bytes.size());
  ASSERT_TRUE(Engine::load(copy, bytes.size(), options, &e).ok());
  EXPECT_EQ(e->context_limited_by(), ContextLimit::Memory);
  const int ctx = e->context_size();
  EXPECT_EQ(ctx % 256, 0);
  const uint64_t room = limit - limit / Engine::kAutoContextHeadroomDivisor;
  EXPECT_LE(e->budget().total(), room);
  EXPECT_GT(Engine::plan(e->model().config, bytes.size(), ctx + 256).total(), room) << "the largest multiple of 256";
  EXPECT_EQ(e->kv_bytes(), e->budget().kv_bytes) << "the plan is what was allocated";
}

namespace {


std::string load_error(std::vector<uint8_t> bytes, int ctx = 0) {
  std::unique_ptr<Engine> e;
  return test::load_engine(bytes, &e, ctx).message();
}

// Replace the first occurrence of `from` in the file bytes by `to` (same length).
std::vector<uint8_t> patch(std::vector<uint8_t> bytes, const std::string& from, const std::string& to) {
  auto it = std::search(bytes.begin(), bytes.end(), from.begin(), from.end());
  if (it != bytes.end()) std::copy(to.begin(), to.end(), it);
  return bytes;
}

}  // namespace

TEST(Transformer, BadModelFilesNameTheProblem) {
  const auto good = test::make_llama(LlamaShape{});
  EXPECT_EQ(load_error(good), "");
  EXPECT_NE(load_error(patch(good, std::string("\x05\0\0\0\0\0\0\0llama", 13), std::string("\x05\0\0\0\0\0\0\0gpt99", 13))).find("architecture"), std::string::npos);
  EXPECT_EQ(load_error(patch(good, "blk.1.ffn_up.weight", "blk.1.ffn_XX.weight")), "missing tensor 'blk.1.ffn_up.weight'");
  EXPECT_EQ(load_error(patch(good, "llama.block_count", "llama.block_XXXXX")), "missing metadata key 'llama.block_count'");
  EXPECT_NE(load_error(good, -5).find("contextSize must be positive"), std::string::npos);
  EXPECT_NE(load_error(good, 1 << 24).find("choose a smaller contextSize"), std::string::npos);

  LlamaShape q;
  q.type = TensorType::Q8_0;
  auto qbytes = test::make_llama(q);
  // Retype token_embd from Q8_0 (8) to Q6_K (14): same block length rules do not hold, so the
  // parser or loader must refuse it by name.
  const std::string name = "token_embd.weight";
  auto it = std::search(qbytes.begin(), qbytes.end(), name.begin(), name.end());
  ASSERT_NE(it, qbytes.end());
  const size_t type_at = size_t(it - qbytes.begin()) + name.size() + 4 + 16;  // n_dims, ne[0], ne[1]
  ASSERT_EQ(qbytes[type_at], 8);
  qbytes[type_at] = 14;
  const std::string err = load_error(qbytes);
  EXPECT_NE(err.find("token_embd.weight"), std::string::npos) << err;
}

// The memory budget, stated before anything is allocated (and refused against the limit), is what
// loading then allocates: the KV ring, every scratch buffer and the logits, counted from the
// buffers themselves, for each architecture, context size and thread count.
TEST(Transformer, MemoryBudgetIsWhatIsAllocated) {
  ThreadPool pool(3);
  for (const char* arch : {"llama", "qwen2", "gpt2"}) {
    for (TensorType type : {TensorType::F32, TensorType::Q8_0, TensorType::Q4_K}) {
      LlamaShape shape;
      shape.arch = arch;
      shape.type = type;
      if (type == TensorType::Q4_K) shape.dim = 256, shape.ffn = 256;  // K-quant rows: 256
      const std::vector<uint8_t> file = test::make_llama(shape);
      for (int context : {1, 50, 128}) {
        for (int threads : {0, 1, 2}) {
          std::unique_ptr<Engine> e;
          const std::string where = std::string(arch) + " " + tensor_type_name(uint32_t(type)) + " context " +
                                    std::to_string(context) + " threads " + std::to_string(threads);
          ASSERT_TRUE(test::load_engine(file, &e, context, threads ? &pool : nullptr, threads).ok()) << where;
          const MemoryBudget& b = e->budget();
          EXPECT_EQ(b.file_bytes, file.size()) << where;
          EXPECT_EQ(b.kv_bytes, e->kv_bytes()) << where;
          EXPECT_EQ(b.scratch_bytes, e->scratch_bytes()) << where;
          EXPECT_EQ(b.logits_bytes, e->logits_bytes()) << where;
          EXPECT_EQ(b.total(), e->file_bytes() + e->kv_bytes() + e->scratch_bytes() + e->logits_bytes()) << where;
          // Engine::plan, which the limit's message uses to find a context that fits, agrees.
          EXPECT_EQ(Engine::plan(e->model().config, file.size(), context, e->threads()).total(), b.total()) << where;
        }
      }
    }
  }
}
