// model_audit.h — never silently wrong: a file is run only when all of it is understood.
//
// The loader (model.cpp) reads the keys and binds the tensors it implements through a LoadLedger,
// which remembers each one. audit() then accounts for the rest of the file: every other key of the
// architecture ("<arch>.*") and every tensor left unbound must be left alone by a rule in
// model_audit.cpp that says why (it does not change the logits). Anything else is refused with an
// error that names the key or tensor and, when it is a known feature, what it is, e.g.
//   tensor 'blk.0.attn_q_norm.weight' (per-head RMSNorm of the queries, as in Qwen3) is not used by
//   architecture 'llama', so this file cannot be run faithfully
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "gguf/gguf.h"

namespace ringlm {

class LoadLedger {
public:
  explicit LoadLedger(const GgufFile& file) : file_(file), bound_(file.tensors().size(), false) {}

  const GgufFile& file() const { return file_; }

  // The file's typed look-ups (gguf.h), remembering the key as implemented.
  Status get_uint(const std::string& key, uint64_t* out, bool required);
  Status get_float(const std::string& key, double* out, bool required);
  Status get_string(const std::string& key, std::string* out, bool required);
  const GgufValue* find(const std::string& key);

  // The tensor `name` (null when the file has none), remembered as used.
  const GgufTensor* use_tensor(const std::string& name);

  // Whatever was neither read nor used must be left alone by a rule; otherwise an error naming it.
  Status audit(const std::string& arch) const;

private:
  const GgufFile& file_;
  std::vector<bool> bound_;       // per tensor of the file
  std::vector<std::string> read_; // keys the loader read
};

}  // namespace ringlm
