#include "kv_cache.h"

#include <string>

namespace ringlm {

Status KvCache::allocate(int n_layers, int capacity, int kv_dim) {
  if (n_layers <= 0 || capacity <= 0 || kv_dim <= 0) {
    return Status::error("KV cache: layers, capacity and kv_dim must be positive (got " + std::to_string(n_layers) + ", " +
                         std::to_string(capacity) + ", " + std::to_string(kv_dim) + ")");
  }
  const size_t n = size_t(n_layers) * size_t(capacity) * size_t(kv_dim);
  n_layers_ = n_layers;
  capacity_ = capacity;
  kv_dim_ = kv_dim;
  keys_.assign(n, 0.0f);
  values_.assign(n, 0.0f);
  position_.assign(size_t(capacity), -1);
  rope_pos_.assign(size_t(capacity), -1);
  size_ = 0;
  return Status();
}

void KvCache::clear() { truncate(0); }

int KvCache::append(int32_t position, int32_t rope_pos) {
  if (size_ >= capacity_) return -1;
  const int slot = size_++;
  position_[size_t(slot)] = position;
  rope_pos_[size_t(slot)] = rope_pos;
  return slot;
}

void KvCache::truncate(int new_size) {
  if (new_size < 0 || new_size > size_) return;
  for (int s = new_size; s < size_; s++) {
    position_[size_t(s)] = -1;
    rope_pos_[size_t(s)] = -1;
  }
  size_ = new_size;
}

}  // namespace ringlm
