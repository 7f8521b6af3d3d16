// gguf_fuzz — any bytes as a model file: its header read from half the bytes (as before a download),
// then parse, bind the model, read the tokenizer, load the engine with a small context, and run a few
// tokens through it. Nothing may crash, read out of bounds or hang; a bad file must come back as a
// Status with a message.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "model/engine.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "text/tokenizer.h"

using namespace ringlm;

namespace {
// Findings must be loud: a broken invariant aborts, so libFuzzer keeps the input.
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "gguf_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The header alone, from a prefix (as read before a download): parses, asks for more, or says why not.
  {
    GgufFile head;
    uint64_t more = 0;
    const size_t available = size / 2;
    const Status s = head.parse_header(data, available, size, &more);
    check(s.ok() || !s.message().empty(), "a failed header parse has a message");
    check(more == 0 || (!s.ok() && more > available && more <= size), "more bytes asked for only when cut short, within the file");
    if (s.ok()) {
      Model header_model;
      (void)Model::from_gguf(head, &header_model);  // never reads tensor data (there is none)
    }
  }
  GgufFile file;
  const Status parsed = file.parse(data, size);
  if (!parsed.ok()) {
    check(!parsed.message().empty(), "a failed parse has a message");
    return 0;
  }
  // Everything the parser hands out lies inside the buffer.
  for (const GgufTensor& t : file.tensors()) {
    check(t.data >= data && t.nbytes <= size && t.data + t.nbytes <= data + size, "tensor data inside the file");
  }
  for (const GgufKV& kv : file.metadata()) {
    const GgufValue& v = kv.value;
    if (v.type == GgufValueType::ARRAY && v.elem_type != GgufValueType::STRING && v.count > 0) {
      // Reading the last element must stay in bounds (ASan checks).
      (void)v.array_number(v.count - 1);
      (void)v.array_integer(v.count - 1);
    }
  }

  Model model;
  if (!Model::from_gguf(file, &model).ok()) return 0;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string why;
  if (Tokenizer::from_gguf(file, &tokenizer, &why).ok() && tokenizer) {
    std::vector<int32_t> ids;
    (void)tokenizer->tokenize("Hello world <s> \xff", TokenizeOptions{}, &ids);
  }

  // The engine owns a malloc'ed copy of the file.
  auto* copy = static_cast<uint8_t*>(std::malloc(size));
  if (!copy) return 0;
  std::memcpy(copy, data, size);
  EngineOptions options;
  options.context_size = 8;
  std::unique_ptr<Engine> engine;
  if (!Engine::load(copy, size, options, &engine).ok()) return 0;
  // Keep the forward pass cheap: only small models run tokens.
  if (engine->model().weight_bytes() > (4u << 20)) return 0;
  const int vocab = engine->model().config.vocab_size;
  const int32_t prompt[3] = {0, vocab - 1, vocab / 2};
  if (engine->prefill(prompt, 3, false).ok()) {
    (void)engine->decode(int32_t(vocab > 1 ? 1 : 0));
  }
  check(!engine->prefill(prompt, 0, false).ok(), "an empty prefill is refused");
  const int32_t bad = vocab;
  check(!engine->decode(bad).ok(), "an out-of-range token is refused");
  return 0;
}
