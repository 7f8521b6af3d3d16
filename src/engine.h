// engine.h — one loaded model, ready to run: the file bytes, the parsed GGUF, the model views,
// and the transformer with its KV cache. This is what every front end (the native CLI, the wasm
// bindings, the tests) holds; it tracks the next position so callers can simply feed tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gguf.h"
#include "model.h"
#include "status.h"
#include "transformer.h"

namespace ringlm {

struct EngineOptions {
  int context_size = 0;  // KV cache capacity in tokens; 0 = min(model's context length, 2048)
};

class Engine {
public:
  // Load a GGUF file held in `data` (allocated with malloc). The engine takes ownership of the
  // bytes whatever happens: on failure they are freed before returning.
  static Status load(uint8_t* data, size_t size, const EngineOptions& options, std::unique_ptr<Engine>* out);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const Model& model() const { return model_; }
  const GgufFile& file() const { return file_; }
  int context_size() const { return transformer_.cache().capacity(); }
  int position() const { return transformer_.cache().next_position(); }  // tokens processed since the last reset
  const KvCache& cache() const { return transformer_.cache(); }
  uint64_t kv_bytes() const { return transformer_.cache().bytes(); }
  uint64_t scratch_bytes() const { return transformer_.scratch_bytes(); }
  uint64_t file_bytes() const { return size_; }

  // Empty the cache: the next token is at position 0.
  void reset();

  // How the KV ring makes room when it is full (see kv_cache.h); `anchors` first tokens are kept
  // for good (sinks / keepTokens). Empties the cache.
  Status set_context_policy(ContextPolicy policy, int anchors);

  // Feed prompt tokens after what is already cached. logits() then holds the last token's logits,
  // or (all_logits) n rows of vocab_size logits.
  Status prefill(const int32_t* ids, int n, bool all_logits);

  // Feed one token; logits() holds the next token's logits.
  Status decode(int32_t id);

  const float* logits() const { return logits_.data(); }
  size_t logits_count() const { return logits_count_; }

  // Tensor types present in the file, e.g. {"F32", "Q8_0"}.
  std::vector<std::string> tensor_types() const;

private:
  Engine() = default;

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  GgufFile file_;
  Model model_;
  Transformer transformer_;
  std::vector<float> logits_;
  size_t logits_count_ = 0;
};

}  // namespace ringlm
