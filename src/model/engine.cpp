#include "model/engine.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace ringlm {

Status Engine::load(uint8_t* data, size_t size, const EngineOptions& options, std::unique_ptr<Engine>* out) {
  return load(std::vector<FilePart>{{data, size, ""}}, options, out);
}

Status Engine::load(std::vector<FilePart> parts, const EngineOptions& options, std::unique_ptr<Engine>* out) {
  std::unique_ptr<Engine> e(new Engine());
  e->parts_ = std::move(parts);  // owned from here on: ~Engine frees them, on every path
  for (const FilePart& p : e->parts_) {
    if (!p.data) return Status::error("no model data");
    e->size_ += p.size;
  }
  if (e->parts_.empty()) return Status::error("no model data");
  RINGLM_TRY(e->file_.parse(e->parts_[0].data, e->parts_[0].size));
  for (size_t i = 1; i < e->parts_.size(); i++) RINGLM_TRY(e->file_.add_part(e->parts_[i].data, e->parts_[i].size, e->parts_[i].name));
  RINGLM_TRY(e->file_.complete());
  RINGLM_TRY(Model::from_gguf(e->file_, &e->model_));
  e->repack_weights();
  const Config& c = e->model_.config;

  // The tokenizer first: its errors are cheaper to find than the KV ring is to allocate.
  RINGLM_TRY(Tokenizer::from_gguf(e->file_, &e->tokenizer_, &e->no_tokenizer_));
  if (e->tokenizer_ && e->tokenizer_->n_tokens() > c.vocab_size) {
    return Status::error("key 'tokenizer.ggml.tokens' has " + std::to_string(e->tokenizer_->n_tokens()) +
                         " tokens but token_embd.weight has rows for " + std::to_string(c.vocab_size));
  }
  // State the budget before allocating it: the plan that sizes the allocations below.
  ContextFit fitted;
  RINGLM_TRY(fit(c, e->size_, options, &fitted));
  e->context_limit_ = fitted.limited_by;
  e->budget_ = fitted.budget;
  const AllocationPlan allocations = AllocationPlan::make(c, fitted.context_size, Transformer::kDefaultBatch, threads_for(options));
  RINGLM_TRY(e->transformer_.init(&e->model_, allocations, options.pool));
  RINGLM_TRY(e->logits_.resize(uint64_t(c.vocab_size), "the logits"));
  *out = std::move(e);
  return Status();
}

// The matrices whose kernels read a repacked layout faster (matmul.h: repack_weight), rewritten in
// place: no memory beyond one group of rows while it is rewritten. The embeddings are read as rows, so
// token_embd (and the output matrix when it is token_embd) keeps the file's layout. The fingerprint
// that names the file in snapshots is taken first, from the bytes as the file has them.
void Engine::repack_weights() {
  std::vector<Weight*> matrices;
  for (LayerWeights& L : model_.layers) {
    for (Weight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) matrices.push_back(w);
  }
  matrices.push_back(&model_.output);
  bool any = false;
  auto repacks = [&](const Weight* w) { return repacking_pays(w->type) && w->data && w->data != model_.token_embd.data; };
  for (Weight* w : matrices) any = any || repacks(w);
  if (!any) return;
  fingerprint();
  std::set<const uint8_t*> done;  // a tensor two views share is rewritten once
  for (Weight* w : matrices) {
    if (!repacks(w)) continue;
    if (done.count(w->data)) {
      w->repacked = true;
      continue;
    }
    for (FilePart& p : parts_) {  // the writable bytes behind the view
      if (w->data >= p.data && w->data + w->row_bytes * size_t(w->rows) <= p.data + p.size) {
        if (repack_weight(w, p.data + (w->data - p.data))) done.insert(w->data);
        break;
      }
    }
  }
}

int Engine::threads_for(const EngineOptions& options) {
  return !options.pool ? 1 : options.threads > 0 ? std::min(options.threads, options.pool->size()) : options.pool->size();
}

Status Engine::fit(const Config& c, uint64_t file_bytes, const EngineOptions& options, ContextFit* out) {
  int ctx = options.context_size;
  if (ctx < 0) return Status::error("contextSize must be positive (got " + std::to_string(ctx) + ")");
  if (ctx > (1 << 24)) return Status::error("contextSize " + std::to_string(ctx) + " is too large (at most 16777216)");
  const int threads = threads_for(options);
  // 4 GiB by default (the wasm address space); natively a caller may ask for more, wasm32 cannot.
  const uint64_t four_gib = 1ull << 32;
  uint64_t limit = options.memory_limit ? options.memory_limit : four_gib;
  if (sizeof(void*) == 4) limit = std::min(limit, four_gib);
  out->limited_by = ContextLimit::Option;
  if (ctx == 0) {
    // No contextSize: the trained context if it fits, else the largest that does, with some headroom.
    const int fits = largest_context(c, file_bytes, threads, limit - limit / kAutoContextHeadroomDivisor);
    const int trained = std::min(c.context_length, 1 << 24);
    out->limited_by = trained <= fits || fits < 16 ? ContextLimit::Trained : ContextLimit::Memory;
    // When not even a small context fits, the trained one is tried: the check below names the sizes.
    ctx = out->limited_by == ContextLimit::Trained ? trained : fits;
  }
  out->context_size = ctx;
  out->budget = budget_of(AllocationPlan::make(c, ctx, Transformer::kDefaultBatch, threads), c, file_bytes);
  if (out->budget.total() > limit) return over_budget(c, out->budget, ctx, threads, limit);
  return Status();
}

MemoryBudget Engine::budget_of(const AllocationPlan& allocations, const Config& c, uint64_t file_bytes) {
  MemoryBudget b;
  b.file_bytes = file_bytes;
  b.kv_bytes = allocations.kv_bytes;
  b.scratch_bytes = allocations.scratch_bytes();
  b.logits_bytes = uint64_t(c.vocab_size) * sizeof(float);  // logits_, as load() sizes it
  return b;
}

MemoryBudget Engine::plan(const Config& c, uint64_t file_bytes, int context_size, int threads) {
  return budget_of(AllocationPlan::make(c, context_size, Transformer::kDefaultBatch, threads), c, file_bytes);
}

namespace {
std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / double(1 << 20));
  return buf;
}
}  // namespace

int Engine::largest_context(const Config& c, uint64_t file_bytes, int threads, uint64_t limit) {
  // The budget grows by the same bytes for every token of context (a KV ring slot, a score per thread).
  const uint64_t none = plan(c, file_bytes, 0, threads).total();
  const uint64_t per_token = plan(c, file_bytes, 1, threads).total() - none;
  if (none >= limit) return 0;
  uint64_t fits = std::min<uint64_t>((limit - none) / per_token, 1 << 24);
  if (fits >= 256) fits = fits / 256 * 256;
  return int(fits);
}

const char* context_limit_name(ContextLimit limit) {
  switch (limit) {
    case ContextLimit::Option: return "option";
    case ContextLimit::Trained: return "trained";
    case ContextLimit::Memory: return "memory";
  }
  return "?";
}

// The refusal: every size, and the largest contextSize that would fit, if any.
Status Engine::over_budget(const Config& c, const MemoryBudget& b, int ctx, int threads, uint64_t limit) {
  std::string m = "the model needs " + mib(b.total()) + " (file " + mib(b.file_bytes) + " + KV cache " + mib(b.kv_bytes) +
                  " for contextSize " + std::to_string(ctx) + " + scratch " + mib(b.scratch_bytes + b.logits_bytes) +
                  "), more than the memory limit of " + mib(limit);
  const int fits = largest_context(c, b.file_bytes, threads, limit);
  if (fits >= 16) {
    m += "; choose a smaller contextSize (" + std::to_string(std::min(fits, ctx - 1)) + " would fit)";
  } else {
    // What would fit instead: a file small enough to leave room for a modest context (a smaller quantization
    // of the same model is about this much smaller: the weights are nearly all of the file).
    const int modest = std::min(ctx, 1024);
    const uint64_t rest = plan(c, 0, modest, threads).total();
    m += "; even a small contextSize does not fit: use a smaller or more quantized model";
    if (rest < limit) m += " (a file of at most " + mib(limit - rest) + " would fit with contextSize " + std::to_string(modest) + ")";
  }
  return Status::error(m);
}

Engine::~Engine() {
  for (FilePart& p : parts_) std::free(p.data);
}

void Engine::reset() { transformer_.cache().clear(); }

uint64_t Engine::fingerprint() const {
  if (fingerprint_ == 0) fingerprint_ = fingerprint_of(parts_);
  return fingerprint_;
}

uint64_t Engine::fingerprint_of(const std::vector<FilePart>& parts) {
  // Eight bytes at a time: multiply, xor-shift. Not cryptographic (a snapshot is no secret), but any
  // changed byte changes the result with overwhelming odds, at memory speed.
  constexpr uint64_t kMultiplier = 0x9e3779b97f4a7c15ull;
  uint64_t size = 0;
  for (const FilePart& p : parts) size += p.size;
  uint64_t h = size * kMultiplier;
  for (const FilePart& p : parts) {
    size_t i = 0;
    for (; i + 8 <= p.size; i += 8) {
      uint64_t word;
      std::memcpy(&word, p.data + i, 8);
      h = (h ^ word) * kMultiplier;
      h ^= h >> 29;
    }
    for (; i < p.size; i++) h = ((h ^ p.data[i]) * kMultiplier) ^ (h >> 31);
  }
  return h != 0 ? h : 1;  // 0 means "not yet"
}

Status Engine::restore(const KvCache::State& cache, const void* logits) {
  RINGLM_TRY(transformer_.cache().restore(cache, model_.config.vocab_size));
  std::memcpy(logits_.data(), logits, size_t(model_.config.vocab_size) * sizeof(float));
  logits_count_ = size_t(model_.config.vocab_size);
  return Status();
}

Status Engine::context_policy_allowed(ContextPolicy policy) const {
  if (policy == ContextPolicy::Sinks && model_.arch->learned_positions) {
    // Every new token would move every kept token's position, and with learned positions that means
    // running the whole window again per token (see kv_cache.h).
    return Status::error("contextPolicy 'sinks' needs rotary positions, but this " + model_.config.architecture +
                         " model has learned positions: use 'shift' (the kept tokens are run again after each shift) or 'stop'");
  }
  return Status();
}

ContextPolicy Engine::default_context_policy() const {
  return context_policy_allowed(ContextPolicy::Sinks).ok() ? ContextPolicy::Sinks : ContextPolicy::Shift;
}

Status Engine::set_context_policy(ContextPolicy policy, int anchors) {
  RINGLM_TRY(context_policy_allowed(policy));
  return transformer_.cache().set_policy(policy, anchors);
}

Status Engine::prefill(const int32_t* ids, int n, bool all_logits) {
  const uint64_t vocab = uint64_t(model_.config.vocab_size);
  const uint64_t need = all_logits ? uint64_t(n > 0 ? n : 0) * vocab : vocab;
  if (need > logits_.capacity()) {  // only all_logits grows it, once per size; on failure the old rows stay
    RINGLM_TRY(logits_.resize(need, "allLogits' " + std::to_string(n) + " rows of " + std::to_string(vocab) +
                                        " logits (prefill fewer tokens per call)"));
  }
  RINGLM_TRY(transformer_.prefill(ids, n, position(), logits_.data(), all_logits));
  logits_count_ = size_t(need);
  return Status();
}

Status Engine::decode(int32_t id) {
  RINGLM_TRY(transformer_.decode(id, position(), logits_.data()));
  logits_count_ = size_t(model_.config.vocab_size);
  return Status();
}

Status Engine::tokenizer(const Tokenizer** out) const {
  *out = tokenizer_.get();
  return tokenizer_ ? Status() : Status::error(no_tokenizer_);
}

std::vector<std::string> Engine::tensor_types() const {
  std::set<std::string> names;
  for (const GgufTensor& t : file_.tensors()) names.insert(tensor_type_name(uint32_t(t.type)));
  return std::vector<std::string>(names.begin(), names.end());
}

}  // namespace ringlm
