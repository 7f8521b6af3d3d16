#include "model/kv_cache.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

namespace ringlm {

const char* context_policy_name(ContextPolicy p) {
  switch (p) {
    case ContextPolicy::Stop: return "stop";
    case ContextPolicy::Shift: return "shift";
    case ContextPolicy::Sinks: return "sinks";
  }
  return "";
}

Status parse_context_policy(std::string_view name, ContextPolicy* out) {
  std::string names;
  for (ContextPolicy p : kContextPolicies) {
    if (name == context_policy_name(p)) {
      *out = p;
      return Status();
    }
    names += (names.empty() ? "'" : ", '") + std::string(context_policy_name(p)) + "'";
  }
  return Status::error("contextPolicy must be one of " + names + " (got '" + std::string(name) + "')");
}

Status KvCache::allocate(int n_layers, int capacity, int kv_dim, int batch) {
  if (n_layers <= 0 || capacity <= 0 || kv_dim <= 0 || batch <= 0) {
    return Status::error("KV cache: layers, capacity, kv_dim and batch must be positive (got " + std::to_string(n_layers) +
                         ", " + std::to_string(capacity) + ", " + std::to_string(kv_dim) + ", " + std::to_string(batch) + ")");
  }
  const int slots = slots_for(capacity, batch);
  const size_t n = size_t(n_layers) * size_t(slots) * size_t(kv_dim);
  keys_.reset();  // the old ring goes first: both never need to fit at once
  values_.reset();
  values_per_buffer_ = 0;
  keys_.reset(static_cast<float*>(std::calloc(n, sizeof(float))));
  values_.reset(static_cast<float*>(std::calloc(n, sizeof(float))));
  if (!keys_ || !values_) {
    keys_.reset();
    values_.reset();
    char mib[32];
    std::snprintf(mib, sizeof mib, "%.1f MiB", double(bytes_for(n_layers, capacity, kv_dim, batch)) / double(1 << 20));
    return Status::error(std::string("cannot allocate the KV cache's ") + mib + " for contextSize " + std::to_string(capacity) +
                         ": the memory is not available (choose a smaller contextSize)");
  }
  values_per_buffer_ = n;
  n_layers_ = n_layers;
  capacity_ = capacity;
  kv_dim_ = kv_dim;
  slots_ = slots;
  tokens_.assign(size_t(slots_), 0);
  return set_policy(ContextPolicy::Stop, 0);
}

Status KvCache::check_policy(ContextPolicy policy, int anchors) const {
  if (policy != ContextPolicy::Stop && (anchors < 0 || anchors >= capacity_)) {
    return Status::error("sinkTokens/keepTokens (" + std::to_string(anchors) +
                         ") must be at least 0 and less than the context size " + std::to_string(capacity_));
  }
  return Status();
}

Status KvCache::set_policy(ContextPolicy policy, int anchors) {
  RINGLM_TRY(check_policy(policy, anchors));
  policy_ = policy;
  anchors_ = policy == ContextPolicy::Stop ? 0 : anchors;
  ring_ = slots_ - anchors_;
  clear();
  return Status();
}

void KvCache::clear() {
  next_pos_ = 0;
  shift_start_ = anchors_;
  dropped_ = 0;
}

int32_t KvCache::window_start(int32_t pos) const {
  switch (policy_) {
    case ContextPolicy::Stop: return 0;
    case ContextPolicy::Shift: return std::max(shift_start_, anchors_);
    case ContextPolicy::Sinks: return std::max(anchors_, pos - (capacity_ - anchors_) + 1);
  }
  return 0;
}

int32_t KvCache::anchor_shift(int32_t pos) const {
  if (pos < anchors_) return 0;
  // kept position of the query = anchors + (pos - window_start)
  return anchors_ - window_start(pos);
}

int KvCache::kept() const {
  const int32_t p = next_pos_;
  if (p <= anchors_) return p;
  // Window tokens before the next one: [window_start(p), p - 1]; sinks count the slot p will take.
  return anchors_ + int(p - window_start(p));
}

int KvCache::make_room(int n) {
  if (n <= 0) return 0;
  const int32_t p = next_pos_;
  switch (policy_) {
    case ContextPolicy::Stop:
      return std::min(n, capacity_ - p);
    case ContextPolicy::Sinks: {
      // Any number of tokens can come; a batch must stay within the ring's slack, which the
      // caller's batch size guarantees. Count what slides out of the window.
      const int32_t before = p > 0 ? window_start(p - 1) : anchors_, after = window_start(p + n - 1);
      dropped_ += after - before;
      return n;
    }
    case ContextPolicy::Shift: {
      if (p < anchors_) return std::min(n, anchors_ - p);  // fill the anchors first
      int in_window = int(p - shift_start_);
      if (in_window + anchors_ >= capacity_) {
        // Full: drop the older half of the non-anchor tokens, as llama.cpp's context shift does.
        const int discard = std::max(1, in_window / 2);
        shift_start_ += discard;
        dropped_ += discard;
        in_window -= discard;
      }
      return std::min(n, capacity_ - anchors_ - in_window);
    }
  }
  return 0;
}

int KvCache::append(int32_t token) {
  const int slot = slot_of(next_pos_);
  tokens_[size_t(slot)] = token;
  next_pos_++;
  return slot;
}

void KvCache::save(State* s) const {
  s->keys = keys_.get();
  s->values = values_.get();
  s->n_values = values_per_buffer_;
  s->tokens = tokens_.data();
  s->n_tokens = tokens_.size();
  s->next_pos = next_pos_;
  s->shift_start = shift_start_;
  s->dropped = dropped_;
  s->policy = int32_t(policy_);
  s->anchors = anchors_;
}

Status KvCache::check(const State& s, int vocab_size) const {
  if (s.n_values != values_per_buffer_ || s.n_tokens != tokens_.size() || (s.n_values && (!s.keys || !s.values)) ||
      (s.n_tokens && !s.tokens)) {
    return Status::error("the saved state belongs to a cache of another size");
  }
  if (s.policy < 0 || s.policy > int32_t(ContextPolicy::Sinks)) {
    return Status::error("the state is corrupt: context policy " + std::to_string(s.policy) + " does not exist");
  }
  const ContextPolicy policy = ContextPolicy(s.policy);
  for (size_t i = 0; i < s.n_tokens; i++) {
    int32_t t;
    std::memcpy(&t, static_cast<const uint8_t*>(s.tokens) + i * sizeof t, sizeof t);
    if (t < 0 || t >= vocab_size) return Status::error("the state is corrupt: token id " + std::to_string(t) + " in the cache");
  }
  // The counters must describe a state the ring can reach, or later slots and windows fall outside it.
  const int anchors = policy == ContextPolicy::Stop ? 0 : s.anchors;
  bool counters_ok = s.next_pos >= 0 && s.dropped >= 0 && s.anchors >= 0 && s.anchors < capacity_;
  if (policy == ContextPolicy::Stop) counters_ok = counters_ok && s.next_pos <= capacity_;
  if (policy == ContextPolicy::Shift) {
    counters_ok = counters_ok && s.shift_start >= anchors &&
                  (s.next_pos < anchors ? s.shift_start == anchors
                                        : s.shift_start <= s.next_pos && s.next_pos - s.shift_start + anchors <= capacity_);
  }
  if (!counters_ok) return Status::error("the state is corrupt: its cache positions do not fit this context");
  return Status();
}

Status KvCache::restore(const State& s, int vocab_size) {
  RINGLM_TRY(check(s, vocab_size));
  RINGLM_TRY(set_policy(ContextPolicy(s.policy), s.anchors));
  if (s.n_values) {  // (memcpy from or to null is undefined, even of 0 bytes)
    std::memcpy(keys_.get(), s.keys, s.n_values * sizeof(float));
    std::memcpy(values_.get(), s.values, s.n_values * sizeof(float));
  }
  if (s.n_tokens) std::memcpy(tokens_.data(), s.tokens, s.n_tokens * sizeof(int32_t));
  next_pos_ = s.next_pos;
  shift_start_ = s.shift_start;
  dropped_ = s.dropped;
  return Status();
}

}  // namespace ringlm
