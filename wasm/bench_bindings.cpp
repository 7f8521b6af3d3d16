// bench_bindings.cpp — what bench/run.mjs measures inside the wasm runtime itself, beside the engine:
// the streaming-read ceiling (src/kernels/stream_read.h) that decode speed is held against.
#include <emscripten/bind.h>

#include <memory>

#include "kernels/stream_read.h"

namespace {

// GB/s of one pass over a 256 MiB buffer (made on first use) read as `parts` parts.
double stream_read_gbps(int parts) {
  static std::unique_ptr<ringlm::bench::StreamReader> reader(new ringlm::bench::StreamReader(256));
  return reader->gbps(parts);
}

}  // namespace

EMSCRIPTEN_BINDINGS(ringlm_bench) { emscripten::function("benchStreamReadGBps", &stream_read_gbps); }
