#include "engine.h"

#include <algorithm>
#include <cstdlib>
#include <set>

namespace ringlm {

Status Engine::load(uint8_t* data, size_t size, const EngineOptions& options, std::unique_ptr<Engine>* out) {
  std::unique_ptr<Engine> e(new Engine());
  e->data_ = data;  // owned from here on: ~Engine frees it, on every path
  e->size_ = size;
  if (!data) return Status::error("no model data");
  RINGLM_TRY(e->file_.parse(data, size));
  RINGLM_TRY(Model::from_gguf(e->file_, &e->model_));
  const Config& c = e->model_.config;

  int ctx = options.context_size;
  if (ctx < 0) return Status::error("contextSize must be positive (got " + std::to_string(ctx) + ")");
  if (ctx == 0) ctx = std::min(c.context_length, 2048);
  const uint64_t kv_bytes = 2ull * uint64_t(c.n_layers) * uint64_t(ctx) * uint64_t(c.kv_dim()) * sizeof(float);
  if (ctx > (1 << 24) || kv_bytes > (1ull << 32)) {
    return Status::error("contextSize " + std::to_string(ctx) + " needs a KV cache of " + std::to_string(kv_bytes >> 20) +
                         " MiB, more than a 4 GiB address space can hold; choose a smaller contextSize");
  }
  RINGLM_TRY(e->transformer_.init(&e->model_, ctx));
  e->logits_.assign(size_t(c.vocab_size), 0.0f);
  *out = std::move(e);
  return Status();
}

Engine::~Engine() { std::free(data_); }

void Engine::reset() { transformer_.cache().clear(); }

Status Engine::set_context_policy(ContextPolicy policy, int anchors) {
  return transformer_.cache().set_policy(policy, anchors);
}

Status Engine::prefill(const int32_t* ids, int n, bool all_logits) {
  const size_t vocab = size_t(model_.config.vocab_size);
  const size_t need = all_logits ? size_t(n > 0 ? n : 0) * vocab : vocab;
  if (logits_.size() < need) logits_.resize(need);  // only all_logits grows it, once per size
  RINGLM_TRY(transformer_.prefill(ids, n, position(), logits_.data(), all_logits));
  logits_count_ = need;
  return Status();
}

Status Engine::decode(int32_t id) {
  RINGLM_TRY(transformer_.decode(id, position(), logits_.data()));
  logits_count_ = size_t(model_.config.vocab_size);
  return Status();
}

std::vector<std::string> Engine::tensor_types() const {
  std::set<std::string> names;
  for (const GgufTensor& t : file_.tensors()) names.insert(tensor_type_name(uint32_t(t.type)));
  return std::vector<std::string>(names.begin(), names.end());
}

}  // namespace ringlm
