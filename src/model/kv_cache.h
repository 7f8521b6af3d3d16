// kv_cache.h — the KV ring: keys and values of past tokens in a fixed buffer allocated once at load.
//
// Three ideas are kept apart on purpose:
//   position      — a token's logical place in the stream since the last reset (0, 1, 2, ...);
//                   it only grows, and keys are rotated (RoPE) at it once, when written;
//   slot          — where the token's K/V live in the buffer;
//   kept position — where the token sits among the tokens the policy keeps (0 .. kept-1): the
//                   position the model "sees" once the ring has wrapped (StreamingLLM's
//                   "positions within the cache"; llama.cpp's positions after a context shift).
//
// Layout: `anchors` first tokens stay for good (the attention sinks, or llama.cpp's keepTokens)
// in slots [0, anchors); every later token p goes to ring slot anchors + (p - anchors) % ring.
// A query at position p sees the anchors plus the window [window_start(p), p]. The ring has
// `batch` slots more than the window, so a prefill batch can write all of its keys before any of
// its tokens attends without overwriting a key an earlier token of the batch still sees.
//
// Wrap-around policies, once the window is full:
//   stop  — no more tokens (the caller reports "length");
//   shift — llama.cpp's context shift: drop the older half of the non-anchor tokens at once;
//   sinks — StreamingLLM: drop the oldest non-anchor token for each new one.
// Nothing is moved or re-rotated. RoPE scores depend only on the distance between the query's
// and the key's rotation positions, and the window is contiguous in positions, so window keys at
// their positions already have the right distances; only the anchors are closer in kept
// positions than in positions. Attention therefore rotates the query a second time for the
// anchors, by anchor_shift(p) = (kept position of p) - p, which is exactly equivalent to
// re-rotating every anchor key.
//
// Learned absolute positions (gpt2) cannot be moved that way: the position is added to the
// embedding, so it is in every layer's K/V. There the model must be told kept_position(p) directly,
// and after a shift the window's kept positions have all moved: the transformer runs the window's
// tokens again (their ids are kept per slot for that), which makes the result equal to a fresh
// prefill of the kept tokens. `sinks` would move them at every token, so it is refused there.
#pragma once

#include <cstdint>
#include <string_view>
#include <cstdlib>
#include <memory>
#include <vector>

#include "common/status.h"

namespace ringlm {

enum class ContextPolicy { Stop, Shift, Sinks };
inline constexpr ContextPolicy kContextPolicies[] = {ContextPolicy::Stop, ContextPolicy::Shift, ContextPolicy::Sinks};
// The policies' names as the options and snapshots spell them: "stop", "shift", "sinks".
const char* context_policy_name(ContextPolicy p);
// The policy called `name`, or an error that lists the names.
Status parse_context_policy(std::string_view name, ContextPolicy* out);

class KvCache {
public:
  // Reserve the whole buffer: `capacity` kept tokens plus `batch` slots of slack. The only
  // allocation the cache ever makes.
  Status allocate(int n_layers, int capacity, int kv_dim, int batch);
  // The slots and the bytes of keys and values allocate() reserves, to state a memory budget first.
  static int slots_for(int capacity, int batch) { return capacity + batch; }
  static uint64_t bytes_for(int n_layers, int capacity, int kv_dim, int batch) {
    return 2 * uint64_t(n_layers) * uint64_t(slots_for(capacity, batch)) * uint64_t(kv_dim) * sizeof(float);
  }
  // Whether `anchors` first tokens can be kept under `policy` with this capacity (a window must be left);
  // set_policy() checks it too, but a caller that must fail before changing anything asks first.
  Status check_policy(ContextPolicy policy, int anchors) const;
  // Choose the wrap-around policy and the number of anchor tokens; empties the cache.
  Status set_policy(ContextPolicy policy, int anchors);

  int capacity() const { return capacity_; }  // tokens the policy keeps at most
  int slots() const { return slots_; }        // physical slots (capacity + batch)
  int kv_dim() const { return kv_dim_; }
  ContextPolicy policy() const { return policy_; }
  int anchors() const { return anchors_; }
  uint64_t bytes() const { return 2 * uint64_t(values_per_buffer_) * sizeof(float); }

  void clear();
  int32_t next_position() const { return next_pos_; }
  // Tokens a query at the next position would see before it: anchors plus the window.
  int kept() const;
  // How many tokens were dropped so far (shift and sinks).
  int64_t dropped() const { return dropped_; }
  // Whether `n` more tokens can come. Only `stop` ever refuses: the other policies make room.
  bool fits(int n) const { return policy_ != ContextPolicy::Stop || n <= capacity_ - next_pos_; }
  // No token can come any more (stop policy, every slot used): generation ends with "length".
  bool full() const { return !fits(1); }

  // Make room for up to `n` tokens starting at next_position(), applying the policy if the window
  // is full; returns how many of them fit now (0 with the stop policy when full). Call before
  // writing each batch; a batch must not be larger than the returned count.
  int make_room(int n);
  // Take the slot of the token at next_position(), remember its id, and advance.
  int append(int32_t token);
  int32_t token(int slot) const { return tokens_[size_t(slot)]; }

  int slot_of(int32_t pos) const {
    return pos < anchors_ ? pos : anchors_ + int((pos - anchors_) % ring_);
  }
  // The oldest non-anchor position a query at `pos` sees.
  int32_t window_start(int32_t pos) const;
  // The query's kept position minus its position (<= 0): how far to rotate it back for anchors.
  int32_t anchor_shift(int32_t pos) const;
  // Where the model sees the token at `pos` among the kept tokens: pos + anchor_shift(pos).
  int32_t kept_position(int32_t pos) const { return pos + anchor_shift(pos); }

  float* key(int layer, int slot) { return keys_.get() + index(layer, slot); }
  float* value(int layer, int slot) { return values_.get() + index(layer, slot); }
  const float* key(int layer, int slot) const { return keys_.get() + index(layer, slot); }
  const float* value(int layer, int slot) const { return values_.get() + index(layer, slot); }

  // Snapshot support: the whole state as plain data. `policy` is the enum's number as stored in a
  // snapshot, so that restore() can refuse a value no policy has. The arrays are views, not copies: save()
  // points them at the ring itself and a restore at the snapshot's bytes (maybe unaligned: read with memcpy),
  // so a snapshot of a large ring costs its own bytes once, not two more copies of the ring.
  struct State {
    const void* keys = nullptr;    // n_values floats
    const void* values = nullptr;  // n_values floats
    size_t n_values = 0;
    const void* tokens = nullptr;  // n_tokens int32 token ids, one per slot
    size_t n_tokens = 0;
    int32_t next_pos = 0, shift_start = 0;
    int64_t dropped = 0;
    int32_t policy = 0;
    int32_t anchors = 0;
  };
  // Views of this ring, valid until it next changes.
  void save(State* s) const;
  // Whether `s` is a state this ring can be in: its sizes, its policy, counters the policy can
  // reach, token ids below `vocab_size` (a shift re-runs them as embedding rows).
  Status check(const State& s, int vocab_size) const;
  // check(), then copy the state in. On failure nothing changes.
  Status restore(const State& s, int vocab_size);

private:
  size_t index(int layer, int slot) const { return (size_t(layer) * size_t(slots_) + size_t(slot)) * size_t(kv_dim_); }

  int n_layers_ = 0, capacity_ = 0, kv_dim_ = 0, slots_ = 0;
  ContextPolicy policy_ = ContextPolicy::Stop;
  int anchors_ = 0;    // tokens kept for good at the start
  int ring_ = 0;       // slots for non-anchor tokens: capacity - anchors + batch
  int32_t next_pos_ = 0;
  int32_t shift_start_ = 0;  // shift policy: the oldest kept non-anchor position
  int64_t dropped_ = 0;
  // [layer][slot][kv_dim], from a checked calloc: memory the process cannot get (a wasm memory that will not grow
  // further) is an error from allocate(), where a std::vector would abort the module in operator new.
  struct FreeFloats {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float[], FreeFloats> keys_, values_;
  size_t values_per_buffer_ = 0;
  std::vector<int32_t> tokens_;       // [slot] the token id each slot holds
};

}  // namespace ringlm
