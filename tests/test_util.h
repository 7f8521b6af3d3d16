// test_util.h — small helpers shared by the C++ suites.
#pragma once

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "model/engine.h"

namespace ringlm::test {

// Load bytes into an Engine (which takes ownership of a malloc'd copy).
// With a pool, `threads` of its threads (0: all) share the work.
inline Status load_engine(const std::vector<uint8_t>& bytes, std::unique_ptr<Engine>* out, int context_size = 0,
                          ThreadPool* pool = nullptr, int threads = 0) {
  uint8_t* copy = static_cast<uint8_t*>(std::malloc(bytes.size() ? bytes.size() : 1));
  if (!bytes.empty()) std::memcpy(copy, bytes.data(), bytes.size());
  EngineOptions options;
  options.context_size = context_size;
  options.pool = pool;
  options.threads = threads;
  return Engine::load(copy, bytes.size(), options, out);
}

}  // namespace ringlm::test
