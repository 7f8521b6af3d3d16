// stream_read.h — the streaming-read ceiling of bench/run.mjs, shared by the native CLI
// (tools/cli/main.cpp) and the wasm module (wasm/bench_bindings.cpp) so both measure the same thing.
//
// Decode reads every weight once per token, so its speed limit is how fast one thread can stream
// memory. One pass sums a buffer far larger than the caches with the same SIMD loads the kernels
// use, read as `parts` side-by-side parts (decode reads four parts of a matrix at once; see
// src/kernels/tile.h). bench/run.mjs takes passes in every repetition, beside the decode it compares.
#pragma once

#include <chrono>
#include <vector>

#include "kernels/float_kernels.h"

namespace ringlm::bench {

class StreamReader {
public:
  explicit StreamReader(int megabytes) : buf_(size_t(megabytes) << 18) {
    for (size_t i = 0; i < buf_.size(); i++) buf_[i] = float(i & 1023);  // touches every page
  }

  // GB/s of one pass read as `parts` parts (1, 2, 4 or 8).
  double gbps(int parts) {
    const auto t0 = std::chrono::steady_clock::now();
    sink_ = simd::sum_parts(buf_.data(), int64_t(buf_.size()), parts);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return double(buf_.size()) * sizeof(float) / s / 1e9;
  }

private:
  std::vector<float> buf_;
  volatile float sink_ = 0.0f;
};

}  // namespace ringlm::bench
