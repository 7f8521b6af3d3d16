// transformer.h — the forward pass over a KV cache, one for every architecture (the differences are
// flags in Model::arch, see model.h), with two entry points:
//   prefill(tokens, pos0) — a batch of prompt tokens at once (matrix-matrix work);
//   decode(token, pos)    — one new token against the cache.
// Positions are always passed in explicitly. Every buffer is allocated in init(); the per-token
// path allocates nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "model/kv_cache.h"
#include "kernels/matmul.h"
#include "model/model.h"
#include "common/status.h"
#include "common/thread_governor.h"
#include "common/thread_pool.h"

namespace ringlm {

// Every buffer the forward pass allocates, sized from the model's shape alone: Transformer::init
// allocates exactly these, and Engine::plan adds them up for the memory budget before anything is
// allocated, so the budget is what is allocated.
struct AllocationPlan {
  int context_size = 0;      // KV ring capacity in tokens
  int max_batch = 0;         // prompt tokens per forward step
  int threads = 1;           // threads sharing the work (each has its own attention buffers)
  uint64_t kv_bytes = 0;     // the KV ring's keys and values (KvCache::bytes_for)
  // Elements of each activation buffer (Transformer's members of the same names).
  size_t x = 0, xn = 0, q = 0, k = 0, v = 0, att_out = 0, proj = 0, gate = 0, up = 0, rope = 0, anchor_rope = 0;
  size_t anchor_q = 0, scores = 0;  // per thread
  size_t slots = 0, rerun_tokens = 0;  // ints
  int64_t matmul_cols = 0;   // the longest row a product reads (MatmulScratch)

  static AllocationPlan make(const Config& c, int context_size, int max_batch, int threads);
  uint64_t scratch_bytes() const;  // activations + MatmulScratch::bytes_for
};

class Transformer {
public:
  static constexpr int kDefaultBatch = 32;  // prompt tokens per prefill step

  // Allocate the KV cache and the scratch buffers as `plan` says. With a pool, plan.threads of its
  // threads (at most pool->size(); 1 without a pool) share the matrix products and the attention heads,
  // in each layer as many of them as the governor finds faster (all, or 1).
  Status init(const Model* model, const AllocationPlan& plan, ThreadPool* pool = nullptr);

  // Run `n` tokens at positions pos .. pos+n-1 (pos = the cache's next position) and append their
  // K/V to the cache, applying its wrap-around policy as it fills. Writes the logits of the last
  // token (vocab floats) or, with all_logits, of every token (n * vocab floats).
  Status prefill(const int32_t* tokens, int n, int32_t pos, float* logits, bool all_logits);

  // Run one token at position `pos` (the cache's next position); writes vocab floats of logits.
  Status decode(int32_t token, int32_t pos, float* logits);

  KvCache& cache() { return cache_; }
  const KvCache& cache() const { return cache_; }
  const Model& model() const { return *model_; }
  int threads() const { return threads_; }
  // How many of them each layer uses: all unless fewer are faster (thread_governor.h).
  ThreadGovernor& thread_governor() { return governor_; }
  const ThreadGovernor& thread_governor() const { return governor_; }
  uint64_t scratch_bytes() const;  // what init allocated besides the KV ring, counted from the buffers

private:
  Status check_tokens(const int32_t* tokens, int n, int32_t pos0) const;
  // The cache's make_room, plus the re-run a shift needs when positions are learned (kv_cache.h).
  int make_room(int n);
  void rerun_window();
  // The whole network for n <= max_batch tokens; logits for tokens [first_logit, n). With `rerun`
  // the tokens are already in the cache at pos0.. and their K/V are computed again in place.
  void forward(const int32_t* tokens, int n, int32_t pos0, int first_logit, float* logits, bool rerun = false);
  // xn_ = norm(x_) for token t: RMSNorm or LayerNorm, as the architecture says.
  void norm(const Weight& w, const Weight& b, int t);
  // Causal attention of head h of token t's query (rotated at `pos`) over what the cache keeps for
  // that position; `thread` picks the scratch buffers.
  void attention(int layer, int t, int h, int32_t pos, int thread);

  const Model* model_ = nullptr;
  int max_batch_ = 0;
  ThreadPool* pool_ = nullptr;  // not owned; null: everything on the calling thread
  const float* rope_factors_ = nullptr;  // RoPE frequency factors for this context size (Model::rope_factors)
  int threads_ = 1;
  ThreadGovernor governor_;
  KvCache cache_;
  MatmulScratch mm_;
  // Activations, one row per token of the batch.
  std::vector<float> x_;        // [batch][dim]     the residual stream
  std::vector<float> xn_;       // [batch][dim]     x after a norm
  std::vector<float> q_;        // [batch][q_dim]
  std::vector<float> k_;        // [batch][kv_dim]
  std::vector<float> v_;        // [batch][kv_dim]
  std::vector<float> att_out_;  // [batch][q_dim]   attention result, all heads
  std::vector<float> proj_;     // [batch][dim]     output of wo and w_down
  std::vector<float> gate_;     // [batch][ffn_dim]
  std::vector<float> up_;       // [batch][ffn_dim]
  std::vector<float> rope_;     // [batch][rope_dims] (cos, sin) pairs per token
  std::vector<float> anchor_rope_;  // [batch][rope_dims] rotation from a token's position to its kept position
  // Where the sliding-window layers' angles start in rope_ and anchor_rope_ (after the global ones).
  size_t local_rope_offset() const { return size_t(max_batch_) * size_t(model_->config.rope_dims); }
  std::vector<float> anchor_q_;     // [threads][head_dim] one query head rotated for the anchors
  std::vector<float> scores_;   // [threads][slots] one head's attention weights
  std::vector<int> slots_;      // [batch]          cache slot of each token of the batch
  std::vector<int32_t> rerun_tokens_;  // [batch]     window tokens being run again
};

}  // namespace ringlm
