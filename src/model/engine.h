// engine.h — one loaded model, ready to run: the file bytes, the parsed GGUF, the model views,
// and the transformer with its KV cache. This is what every front end (the native CLI, the wasm
// bindings, the tests) holds; it tracks the next position so callers can simply feed tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/model.h"
#include "common/checked_array.h"
#include "common/status.h"
#include "text/tokenizer.h"
#include "model/transformer.h"

namespace ringlm {

struct EngineOptions {
  int context_size = 0;       // KV cache capacity in tokens; 0 = the largest that fits (see ContextLimit)
  uint64_t memory_limit = 0;  // bytes the model may take (file + KV + scratch); 0 = 4 GiB (wasm: at most 4 GiB)
  ThreadPool* pool = nullptr; // threads to share the work (not owned; may serve several engines in turn)
  int threads = 0;            // how many of the pool's threads this model uses; 0 = all
};

// What a loaded model takes, worked out from the file's hyperparameters before anything big is
// allocated, so that a model too large for the 4 GiB wasm address space (or a caller's limit) is refused
// with a message instead of failing an allocation, which would abort the module.
struct MemoryBudget {
  uint64_t file_bytes = 0;     // the GGUF file as loaded: the weights are views into it
  uint64_t kv_bytes = 0;       // the KV ring: 2 x layers x (context + prefill batch) x kv_dim floats
  uint64_t scratch_bytes = 0;  // the forward pass's activations (AllocationPlan::scratch_bytes)
  uint64_t logits_bytes = 0;   // one row of vocabulary logits
  uint64_t total() const { return file_bytes + kv_bytes + scratch_bytes + logits_bytes; }
};

// What decided the KV ring's capacity. Without a contextSize the engine takes the model's trained
// context when it fits the memory limit, else the largest that does (a 1B model at its 32k or 128k
// trained context does not fit the 4 GiB of wasm memory).
enum class ContextLimit {
  Option,   // the caller's contextSize
  Trained,  // the model's trained context (context_length)
  Memory,   // the memory limit: the largest context that fits, below the trained one
};
const char* context_limit_name(ContextLimit limit);  // "option", "trained", "memory"

class Engine {
public:
  // A context picked to fit leaves this share of the memory limit (1/16: 256 MiB of 4 GiB) to what the
  // plan does not count: the tokenizer's tables, all-logits rows of a prompt, the front end's copies.
  static constexpr uint64_t kAutoContextHeadroomDivisor = 16;
  // Load a GGUF file held in `data` (allocated with malloc). The engine takes ownership of the
  // bytes whatever happens: on failure they are freed before returning.
  static Status load(uint8_t* data, size_t size, const EngineOptions& options, std::unique_ptr<Engine>* out);
  // A file in parts (gguf-split's layout, the first part first), each malloc'ed; owned as above.
  struct FilePart {
    uint8_t* data;
    size_t size;
    std::string name;  // a path or URL, for messages
  };
  static Status load(std::vector<FilePart> parts, const EngineOptions& options, std::unique_ptr<Engine>* out);
  // The memory a model with config `c`, loaded from `file_bytes` bytes with `context_size`, will take
  // when `threads` threads share its work.
  static MemoryBudget plan(const Config& c, uint64_t file_bytes, int context_size, int threads = 1);
  // What a load with `options` of a model with config `c` and `file_bytes` bytes would get: its context size,
  // what decided it, and its budget; or the refusal load() would give (over the memory limit, with what would
  // fit). load() decides with this, and so can a front end from a file's header alone (preflight.h).
  struct ContextFit {
    int context_size = 0;
    ContextLimit limited_by = ContextLimit::Option;
    MemoryBudget budget;
  };
  static Status fit(const Config& c, uint64_t file_bytes, const EngineOptions& options, ContextFit* out);
  // The threads a load with `options` uses: options.threads of the pool (all when 0), 1 without a pool.
  static int threads_for(const EngineOptions& options);
  // The largest contextSize whose budget stays within `limit`, a multiple of 256 when it is 256 or more
  // (as llama.cpp pads its contexts); 0 when not even one token fits.
  static int largest_context(const Config& c, uint64_t file_bytes, int threads, uint64_t limit);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const Model& model() const { return model_; }
  const GgufFile& file() const { return file_; }
  int context_size() const { return transformer_.cache().capacity(); }
  ContextLimit context_limited_by() const { return context_limit_; }
  int position() const { return transformer_.cache().next_position(); }  // tokens processed since the last reset
  const KvCache& cache() const { return transformer_.cache(); }
  int threads() const { return transformer_.threads(); }
  // How many of them each layer uses: all unless fewer are faster; pin() fixes the count.
  ThreadGovernor& thread_governor() { return transformer_.thread_governor(); }
  uint64_t kv_bytes() const { return transformer_.cache().bytes(); }
  uint64_t scratch_bytes() const { return transformer_.scratch_bytes(); }
  uint64_t file_bytes() const { return size_; }  // all parts together
  int file_parts() const { return int(parts_.size()); }
  uint64_t logits_bytes() const { return uint64_t(logits_.capacity()) * sizeof(float); }
  const MemoryBudget& budget() const { return budget_; }  // as planned before allocating
  // A 64-bit hash of the whole file (its parts in order), so a snapshot can name the model it was taken from (two files with
  // the same shapes but other weights differ here). Worked out on first use: one pass over the bytes (at load, before
  // any matrix is repacked in place, when one is: see repack_weights in engine.cpp).
  uint64_t fingerprint() const;
  // That hash of the bytes of `parts` (as a file is before any load; a load may repack some of its
  // matrices in place, after taking its fingerprint).
  static uint64_t fingerprint_of(const std::vector<FilePart>& parts);

  // Empty the cache: the next token is at position 0.
  void reset();

  // Put back a saved cache and the logits that went with it (see Session::save).
  Status restore(const KvCache::State& cache, const void* logits);  // logits: vocab_size floats, maybe unaligned

  // How the KV ring makes room when it is full (see kv_cache.h); `anchors` first tokens are kept
  // for good (sinks / keepTokens). Empties the cache. Fails for a policy this model cannot use.
  Status set_context_policy(ContextPolicy policy, int anchors);
  // Whether this model can use `policy`: 'sinks' needs rotary positions. The error says why not.
  Status context_policy_allowed(ContextPolicy policy) const;
  // The policy a generation uses unless told otherwise: 'sinks', or 'shift' where 'sinks' is not allowed
  // (learned positions). Every front end takes it from here.
  ContextPolicy default_context_policy() const;

  // Feed prompt tokens after what is already cached. logits() then holds the last token's logits,
  // or (all_logits) n rows of vocab_size logits.
  Status prefill(const int32_t* ids, int n, bool all_logits);

  // Feed one token; logits() holds the next token's logits.
  Status decode(int32_t id);

  const float* logits() const { return logits_.data(); }
  size_t logits_count() const { return logits_count_; }

  // The tokenizer read from the file's tokenizer.ggml.* metadata. Fails, saying why, when the file has
  // none that ringlm implements (the model still loads: token ids can come from elsewhere).
  Status tokenizer(const Tokenizer** out) const;

  // Tensor types present in the file, e.g. {"F32", "Q8_0"}.
  std::vector<std::string> tensor_types() const;

private:
  Engine() = default;
  void repack_weights();
  static Status over_budget(const Config& c, const MemoryBudget& b, int ctx, int threads, uint64_t limit);
  static MemoryBudget budget_of(const AllocationPlan& allocations, const Config& c, uint64_t file_bytes);

  std::vector<FilePart> parts_;  // the file's bytes, one buffer per part; the weights are views into them
  size_t size_ = 0;
  mutable uint64_t fingerprint_ = 0;  // 0 until fingerprint() first runs
  MemoryBudget budget_;
  ContextLimit context_limit_ = ContextLimit::Option;
  GgufFile file_;
  Model model_;
  Transformer transformer_;
  CheckedArray<float> logits_;  // grows only for all_logits, with a check: a long prompt's rows may not fit
  size_t logits_count_ = 0;
  std::unique_ptr<Tokenizer> tokenizer_;  // null when the file has none ringlm implements:
  std::string no_tokenizer_;              // then this says why
};

}  // namespace ringlm
