// preflight.h — what loading a model would take, worked out from its files' headers alone (metadata and
// tensor infos, the first bytes of each file), so that a front end can refuse a model that cannot fit before
// downloading it. The file is read, checked and sized by the same code a load uses (GgufFile, Model::from_gguf,
// Engine::fit): a check before a download and the load after it cannot disagree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/engine.h"

namespace ringlm {

// The first bytes of one file (one part of a split file), and how large the whole file is.
struct HeaderPart {
  const uint8_t* data;
  size_t available;    // bytes at data: the file's first ones
  uint64_t file_size;  // the whole file's
  std::string name;    // a path or URL, for messages
};

struct Preflight {
  // More bytes needed first: part `need_part`'s header goes on past what was given; read its first
  // `need_bytes` bytes and ask again. -1 when the headers were enough.
  int need_part = -1;
  uint64_t need_bytes = 0;
  // Else what the load would get (context size, what decided it, memory budget).
  Engine::ContextFit fit;
  std::string architecture;
};

// Check the headers of `parts` (a whole file, or a split file's parts in order) as Engine::load would check
// the files, and size the load with `options` (options.pool only counts threads here). An error is the one
// the load would give: a malformed or unsupported file, parts that do not belong together, or a model over
// the memory limit (with the largest context that fits, or the file size that would).
Status preflight(const std::vector<HeaderPart>& parts, const EngineOptions& options, Preflight* out);

}  // namespace ringlm
