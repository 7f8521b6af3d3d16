// checked_array.h — an owning array of plain values whose allocation fails with a Status, not an abort.
//
// std::vector reports a failed allocation by throwing std::bad_alloc; built without exceptions (as ringlm is)
// that is an abort, which in wasm ends the instance. Buffers whose size comes from the caller (a prompt's
// logits, a vocabulary's trie) live here instead: when the memory cannot grow, the caller gets an error that
// says what could not be allocated and how much, and the old buffer is still there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

#include "common/status.h"

namespace ringlm {

template <typename T>
class CheckedArray {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>, "plain values only");

public:
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T& operator[](size_t i) { return data_.get()[i]; }
  const T& operator[](size_t i) const { return data_.get()[i]; }

  // Makes room for n values (zeroed when new) and sets size() to n. `count` is n as the caller computed it
  // in 64 bits, so a product that overflows size_t (wasm's is 32 bits) is refused instead of wrapping.
  // On failure nothing changes. `what` names the buffer in the error: "the logits of 4096 tokens".
  Status resize(uint64_t count, const std::string& what) {
    if (count <= capacity_) {
      size_ = size_t(count);
      return Status();
    }
    void* p = count <= SIZE_MAX / sizeof(T) ? std::calloc(size_t(count), sizeof(T)) : nullptr;
    if (!p) {
      char mib[32];
      std::snprintf(mib, sizeof mib, "%.1f MiB", double(count) * double(sizeof(T)) / double(1 << 20));
      return Status::error("cannot allocate " + what + " (" + mib + "): the memory is not available");
    }
    if (size_) std::memcpy(p, data_.get(), size_ * sizeof(T));
    data_.reset(static_cast<T*>(p));
    size_ = capacity_ = size_t(count);
    return Status();
  }

private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace ringlm
