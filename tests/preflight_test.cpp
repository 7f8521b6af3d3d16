// The check before a download (model/preflight.h): a file's header alone, read in growing prefixes, gives the
// same verdict as loading the whole file: the same context, the same budget, the same refusal.
#include <gtest/gtest.h>

#include <algorithm>

#include "gguf/gguf.h"
#include "gguf_builder.h"
#include "model/preflight.h"
#include "test_util.h"

namespace ringlm {
namespace {

std::vector<uint8_t> model_file() {
  test::LlamaShape s;
  s.pieces = test::test_pieces();  // tokenizer metadata: a header of some size
  return test::make_llama(s, 7);
}

TEST(Preflight, AHeaderPrefixParsesOrAsksForMore) {
  const std::vector<uint8_t> bytes = model_file();
  GgufFile whole;
  ASSERT_TRUE(whole.parse(bytes.data(), bytes.size()).ok());
  for (size_t n = 0; n <= bytes.size(); n += std::max<size_t>(1, n / 16)) {
    GgufFile head;
    uint64_t more = 0;
    const Status s = head.parse_header(bytes.data(), n, bytes.size(), &more);
    if (!s.ok()) {
      ASSERT_GT(more, n) << "a cut header asks for more bytes, not fails: " << s.message();
      ASSERT_LE(more, bytes.size());
      continue;
    }
    EXPECT_EQ(more, 0u);
    EXPECT_FALSE(head.has_tensor_data());
    ASSERT_EQ(head.metadata().size(), whole.metadata().size());
    ASSERT_EQ(head.tensors().size(), whole.tensors().size());
    for (size_t i = 0; i < head.tensors().size(); i++) {
      EXPECT_EQ(head.tensors()[i].name, whole.tensors()[i].name);
      EXPECT_EQ(head.tensors()[i].nbytes, whole.tensors()[i].nbytes);
      EXPECT_EQ(head.tensors()[i].data, nullptr);
    }
    EXPECT_LT(whole.data_offset(), bytes.size());
    EXPECT_GE(n, whole.data_offset() - 32) << "parsed before the header was all there";
  }
}

TEST(Preflight, AFileTooShortForItsTensorsIsAnErrorNotARequestForMore) {
  const std::vector<uint8_t> bytes = model_file();
  GgufFile head;
  uint64_t more = 0;
  const Status s = head.parse_header(bytes.data(), bytes.size(), bytes.size() - 100, &more);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(more, 0u);
  EXPECT_NE(s.message().find("lies past the end of the file"), std::string::npos) << s.message();
}

TEST(Preflight, GrowingPrefixesGiveTheLoadsVerdict) {
  const std::vector<uint8_t> bytes = model_file();
  struct Case { int context; uint64_t limit; };
  const Case cases[] = {{0, 0}, {64, 0}, {0, bytes.size() + (1 << 20)}, {100000, 4 << 20}, {0, bytes.size() + 1000}, {64, bytes.size()}};
  for (const Case& c : cases) {
    EngineOptions options;
    options.context_size = c.context;
    options.memory_limit = c.limit;
    Preflight p;
    size_t available = 64;
    for (;;) {
      const Status s = preflight({{bytes.data(), available, bytes.size(), "model.gguf"}}, options, &p);
      if (s.ok() && p.need_part == 0) {
        ASSERT_GT(p.need_bytes, available);
        available = size_t(p.need_bytes);
        continue;
      }
      uint8_t* copy = static_cast<uint8_t*>(std::malloc(bytes.size()));
      std::memcpy(copy, bytes.data(), bytes.size());
      std::unique_ptr<Engine> e;
      const Status loaded = Engine::load(copy, bytes.size(), options, &e);
      EXPECT_EQ(s.message(), loaded.message()) << "context " << c.context << ", limit " << c.limit;
      if (s.ok() && loaded.ok()) {
        EXPECT_EQ(p.fit.context_size, e->context_size());
        EXPECT_EQ(p.fit.limited_by, e->context_limited_by());
        EXPECT_EQ(p.fit.budget.total(), e->budget().total());
        EXPECT_EQ(p.architecture, "llama");
      }
      break;
    }
    EXPECT_LT(available, bytes.size()) << "the header was enough";
  }
}

}  // namespace
}  // namespace ringlm
