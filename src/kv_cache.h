// kv_cache.h — the attention cache: keys and values of past tokens, allocated once at load.
//
// Three ideas are kept apart on purpose:
//   slot      — where a token's K/V live in the buffer (0 .. capacity-1);
//   position  — the token's logical place in the sequence (0, 1, 2, ... since the last reset);
//   rope_pos  — the position its key was rotated with (today equal to position; the ring's
//               wrap-around policies will let the two differ).
// Attention visits the occupied slots in any order and masks by position, so nothing here
// assumes slots are filled in sequence order.
//
// Layout: one float buffer per kind, [layer][slot][kv_dim], so a layer's keys are contiguous.
#pragma once

#include <cstdint>
#include <vector>

#include "status.h"

namespace ringlm {

class KvCache {
public:
  // Reserve the whole buffer; the only allocation the cache ever makes.
  Status allocate(int n_layers, int capacity, int kv_dim);

  int capacity() const { return capacity_; }
  int size() const { return size_; }  // slots in use
  int kv_dim() const { return kv_dim_; }
  uint64_t bytes() const { return uint64_t(keys_.size() + values_.size()) * sizeof(float); }

  void clear();

  // Take the next free slot for a token at logical `position`, rotated at `rope_pos`.
  // Returns the slot, or -1 when the cache is full.
  int append(int32_t position, int32_t rope_pos);

  // Forget the newest `n` slots (used to roll back a batch that failed half-way).
  void truncate(int new_size);

  float* key(int layer, int slot) { return &keys_[index(layer, slot)]; }
  float* value(int layer, int slot) { return &values_[index(layer, slot)]; }
  const float* key(int layer, int slot) const { return &keys_[index(layer, slot)]; }
  const float* value(int layer, int slot) const { return &values_[index(layer, slot)]; }
  int32_t position(int slot) const { return position_[size_t(slot)]; }
  int32_t rope_position(int slot) const { return rope_pos_[size_t(slot)]; }

private:
  size_t index(int layer, int slot) const { return (size_t(layer) * size_t(capacity_) + size_t(slot)) * size_t(kv_dim_); }

  int n_layers_ = 0, capacity_ = 0, kv_dim_ = 0, size_ = 0;
  std::vector<float> keys_, values_;       // [layer][slot][kv_dim]
  std::vector<int32_t> position_, rope_pos_;  // per slot
};

}  // namespace ringlm
