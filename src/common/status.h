// status.h — how errors travel in ringlm.
//
// The core never throws and never aborts: a wasm instance that aborts is gone, and the page that
// loaded a stranger's file must stay usable. A function that can fail returns a Status; an empty
// message means success. Messages say what is wrong and where ("tensor 'blk.0.attn_q.weight': ...").
#pragma once

#include <string>
#include <utility>

namespace ringlm {

class [[nodiscard]] Status {
public:
  Status() = default;
  static Status error(std::string message) { Status s; s.message_ = std::move(message); if (s.message_.empty()) s.message_ = "unknown error"; return s; }

  bool ok() const { return message_.empty(); }
  const std::string& message() const { return message_; }

private:
  std::string message_;
};

}  // namespace ringlm

// Propagate a failed Status to the caller.
#define RINGLM_TRY(expr)                         \
  do {                                           \
    ::ringlm::Status ringlm_try_status_ = (expr); \
    if (!ringlm_try_status_.ok()) return ringlm_try_status_; \
  } while (0)
