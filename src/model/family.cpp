#include "model/family.h"

namespace ringlm {

std::string architecture_family(const std::string& architecture) {
  struct Family {
    const char* architecture;
    const char* family;
  };
  // The families whose released files carry each architecture name (llama's is shared by many).
  static const Family kFamilies[] = {
      {"llama", "Llama (Llama 2, Llama 3.x and other llama-architecture models)"},
      {"qwen2", "Qwen 2 / Qwen 2.5"},
      {"qwen3", "Qwen 3"},
      {"smollm3", "SmolLM3"},
      {"phi3", "Phi-3 / Phi-4-mini"},
      {"gemma3", "Gemma 3"},
      {"gpt2", "GPT-2"},
  };
  for (const Family& f : kFamilies) {
    if (architecture == f.architecture) return f.family;
  }
  return architecture;
}

}  // namespace ringlm
