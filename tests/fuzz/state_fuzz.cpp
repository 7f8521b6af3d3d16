// state_fuzz — arbitrary bytes given to restoreState (a snapshot may come back from storage, corrupt
// or hostile): Session::restore must refuse what does not describe a state this model and context can
// be in, and after a successful restore, decoding and generating must stay inside every buffer.
//
// The model is tests/fuzz/corpus/gguf/tiny-q4_0.gguf (or $RINGLM_FUZZ_STATE_MODEL) with contextSize 16;
// the seeds in corpus/state/ are saveState() snapshots of it (tests/fuzz/make-seeds.mjs).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "model/engine.h"
#include "generate/session.h"

using namespace ringlm;

namespace {
std::unique_ptr<Engine> g_engine;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* env = std::getenv("RINGLM_FUZZ_STATE_MODEL");
  const char* path = env ? env : "tests/fuzz/corpus/gguf/tiny-q4_0.gguf";
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto* data = static_cast<uint8_t*>(std::malloc(bytes.size() + 1));
  std::memcpy(data, bytes.data(), bytes.size());
  EngineOptions options;
  options.context_size = 16;
  const Status s = Engine::load(data, bytes.size(), options, &g_engine);
  if (!s.ok()) {
    std::fprintf(stderr, "state_fuzz: cannot load %s: %s\n", path, s.message().c_str());
    std::exit(1);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Engine& e = *g_engine;
  e.reset();
  Session session(e);
  if (!session.restore(data, size).ok()) return 0;
  // Feed tokens after the restored cache, by hand and through a continued generation.
  const int vocab = e.model().config.vocab_size;
  for (int i = 0; i < 3; i++) {
    if (!e.decode(int32_t(5 + i) % vocab).ok()) break;
  }
  GenerateOptions o;
  o.max_tokens = 3;
  o.keep_cache = true;
  o.reseed = false;
  o.policy = e.cache().policy();
  o.sink_tokens = o.keep_tokens = e.cache().anchors();
  const int32_t prompt[2] = {1, 2};
  if (session.begin(prompt, 2, o).ok()) {
    Step step;
    for (int i = 0; i < 8 && session.running(); i++) {
      if (!session.step(&step).ok()) break;
    }
  }
  // Save and restore again: what was accepted must round-trip.
  ringlm::CheckedArray<uint8_t> saved;
  if (!session.running() && session.save(&saved).ok()) {
    Session again(e);
    if (!again.restore(saved.data(), saved.size()).ok()) {
      std::fprintf(stderr, "state_fuzz: a saved state was refused\n");
      std::abort();
    }
  }
  return 0;
}
