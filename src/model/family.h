// family.h — the model family an architecture name stands for, as people know it ("qwen3" is Qwen 3),
// for the front ends to show beside the architecture (lm.info.family, the page, the command line).
#pragma once

#include <string>

namespace ringlm {

// The family's name, e.g. "Gemma 3" for "gemma3"; the architecture itself when no family is known.
std::string architecture_family(const std::string& architecture);

}  // namespace ringlm
