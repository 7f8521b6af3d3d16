// sampler_fuzz — arbitrary logits (NaN, ±Inf, huge, denormal) and arbitrary options through the
// sampler chain. Options the sampler refuses must be refused by check_sampling_params(); for the rest,
// sample() must return a token inside the vocabulary, every time.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "generate/options.h"
#include "generate/sampler.h"

using namespace ringlm;

namespace {

// Takes bytes off the front of the input; zeros once it runs out.
struct Input {
  const uint8_t* p;
  size_t left;
  template <typename T>
  T take() {
    T v{};
    const size_t n = left < sizeof(T) ? left : sizeof(T);
    std::memcpy(&v, p, n);
    p += n;
    left -= n;
    return v;
  }
};

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "sampler_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in{data, size};
  const int vocab = 1 + int(in.take<uint16_t>() % 2048);
  SamplingParams p;
  p.temperature = in.take<float>();
  p.top_k = in.take<int32_t>();
  p.top_p = in.take<float>();
  p.min_p = in.take<float>();
  p.repeat_penalty = in.take<float>();
  p.presence_penalty = in.take<float>();
  p.frequency_penalty = in.take<float>();
  p.penalty_last_n = int(in.take<int16_t>());  // keeps the history buffer small
  p.seed = in.take<uint64_t>();

  Sampler sampler;
  const Status s = sampler.init(vocab, p);
  if (!s.ok()) {
    check(!check_sampling_params(p).ok(), "init fails only on options check_sampling_params() refuses");
    return 0;
  }
  // Logits: the rest of the input, repeated to fill the vocabulary (all zero if none is left).
  std::vector<float> logits(size_t(vocab), 0.0f);
  const size_t n_floats = in.left / sizeof(float);
  for (size_t i = 0; i < logits.size() && n_floats > 0; i++) {
    std::memcpy(&logits[i], in.p + (i % n_floats) * sizeof(float), sizeof(float));
  }
  // A few rounds, feeding each pick back as history (penalties see it) and some odd ids too.
  for (int round = 0; round < 4; round++) {
    const int32_t t = sampler.sample(logits.data());
    check(t >= 0 && t < vocab, "the sampled token is inside the vocabulary");
    sampler.accept(t);
    sampler.accept(-1);     // ignored
    sampler.accept(vocab);  // ignored
    logits[size_t(t)] = -logits[size_t(t)];
  }
  // A continuation with new options keeps working.
  SamplingParams q = p;
  q.temperature = 0.0f;
  check(sampler.reconfigure(q, false).ok(), "greedy reconfigure of valid options");
  const int32_t t = sampler.sample(logits.data());
  check(t >= 0 && t < vocab, "the greedy token is inside the vocabulary");
  return 0;
}
