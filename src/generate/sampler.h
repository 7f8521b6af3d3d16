// sampler.h — choosing the next token from logits: a chain of small steps over one candidate array.
//
// The order and meaning of the steps follow llama.cpp's default chain:
//
//   logit bias (generate/logit_bias.h) -> penalties (repeat / presence / frequency over the last N tokens)
//     -> top-k -> top-p -> min-p -> temperature -> draw (seeded) or greedy (temperature <= 0)
//
// Each step is a free function over Candidates, so a test can feed probabilities in and check the
// probabilities that come out. The Sampler owns the candidate array (allocated once for the
// vocabulary), the penalty history and its own random generator — the same seed gives the same
// tokens natively, in Node and in the browser, because nothing here depends on the platform's RNG.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"

namespace ringlm {

struct Candidate {
  int32_t id;
  float logit;
  float p;  // filled by softmax()
};

// A view of the live candidates: steps shrink `size`, and note when they leave the array sorted
// by logit, highest first.
struct Candidates {
  Candidate* data = nullptr;
  size_t size = 0;
  bool sorted = false;
};

// --- the steps ---------------------------------------------------------------------------------
void sample_softmax(Candidates& c);  // sorts, and sets p from logit
void sample_top_k(Candidates& c, int k);
void sample_top_p(Candidates& c, float p, size_t min_keep = 1);
void sample_min_p(Candidates& c, float p, size_t min_keep = 1);
void sample_temperature(Candidates& c, float t);
// Penalize tokens by how often they appear in `recent` (`n` ids, counts taken here).
// `counts` is caller scratch of vocab entries, all zero on entry and on return.
void sample_penalties(Candidates& c, const int32_t* recent, size_t n, float repeat, float frequency, float presence,
                      int32_t* counts);

// An additive bias on one token's logit (-infinity bans it): see generate/logit_bias.h.
struct LogitBias {
  int32_t token;
  float bias;
};

// --- constraints (a grammar: generate/grammar_matcher.h) ------------------------------------------
// Which tokens may come next. The sampler asks about candidates best first and stops once it has enough.
class TokenConstraint {
public:
  virtual ~TokenConstraint() = default;
  virtual bool allows(int32_t token) = 0;
  // allows() for every token at once: mask[t] = 1 if token t (0 <= t < n) is allowed, else 0. A constraint
  // that can judge the whole vocabulary faster than token by token overrides this.
  virtual void allowed_tokens(uint8_t* mask, size_t n) {
    for (size_t t = 0; t < n; t++) mask[t] = allows(int32_t(t)) ? 1 : 0;
  }
};
// Keep the `want` best candidates the constraint allows (all of them if fewer), best first (ties: lower id).
// Only as many candidates are sorted and asked about as it takes; when most of those are refused, the whole
// vocabulary is judged at once into `mask` (scratch of `vocab` bytes; every candidate id below `vocab`).
// Allocation-free.
void sample_constrained(Candidates& c, TokenConstraint& constraint, size_t want, uint8_t* mask, size_t vocab);

// A small, fast, portable generator (splitmix64): identical sequences on every platform.
struct Rng {
  uint64_t state = 0;
  uint64_t next_u64();
  float next_float();  // uniform in [0, 1), 24 random bits
};

struct SamplingParams {
  float temperature = 0.8f;  // <= 0: greedy
  int top_k = 40;            // <= 0: off
  float top_p = 0.95f;       // >= 1: off
  float min_p = 0.05f;       // <= 0: off
  float repeat_penalty = 1.0f;    // 1: off
  float presence_penalty = 0.0f;  // 0: off
  float frequency_penalty = 0.0f; // 0: off
  int penalty_last_n = 64;        // how many recent tokens the penalties look at
  uint64_t seed = 0;
  // Their ranges: generate/options.h (check_sampling_params), which the sampler checks in init().
};

class Sampler {
public:
  Status init(int vocab_size, const SamplingParams& params);
  // Change the options but keep the generator's state and the penalty history (a continuation);
  // with `reseed` the generator restarts from params.seed.
  Status reconfigure(const SamplingParams& params, bool reseed);
  const SamplingParams& params() const { return params_; }
  // The biases the chain starts with (checked by the caller: generate/logit_bias.h). Copied here, once per
  // generation; none until set.
  void set_logit_bias(const std::vector<LogitBias>& biases) { logit_bias_ = biases; }

  // Run the chain on `logits` (vocab floats) and pick a token. Allocation-free.
  // -1 when a constraint allows no token at all.
  int32_t sample(const float* logits);
  // Tokens must satisfy `constraint` (null: none), applied after the penalties, before top-k. Not owned.
  void set_constraint(TokenConstraint* constraint) { constraint_ = constraint; }
  // Record a token (prompt or generated) in the penalty history.
  void accept(int32_t token);
  // Forget the history and restart the generator from the seed.
  void reset();

  // What a snapshot needs to resume exactly: the generator and the penalty history.
  uint64_t rng_state() const { return rng_.state; }
  std::vector<int32_t> recent_tokens() const;  // the penalty window, oldest first
  void restore(uint64_t rng_state, const int32_t* recent, size_t n);

private:
  SamplingParams params_;
  int vocab_size_ = 0;
  std::vector<Candidate> candidates_;
  std::vector<LogitBias> logit_bias_;
  std::vector<int32_t> counts_;
  std::vector<uint8_t> allowed_;  // scratch for sample_constrained: which tokens the constraint allows
  std::vector<int32_t> history_;  // ring of the last penalty_last_n accepted tokens
  std::vector<int32_t> recent_;   // scratch: the history in order
  size_t history_count_ = 0;      // tokens accepted so far (the ring holds the last N)
  Rng rng_;
  TokenConstraint* constraint_ = nullptr;
};

}  // namespace ringlm
