// logprobs.h — the log-probability of a chosen token and the n most likely tokens, from one row of logits.
//
// Which distribution: the model's full softmax over the raw logits, before anything the sampler does (logit
// bias, penalties, temperature, top-k / top-p / min-p). That is what OpenAI's logprobs report and what
// llama.cpp's server gives for n_probs (tools/server: get_token_probabilities softmaxes llama_get_logits_ith's
// raw row, unless post_sampling_probs is asked for), so the numbers say what the model thinks, whatever the
// sampling settings, and a score (generate/score.h) of the same text gives the same values.
//
// log p(t) = logit[t] - max - log(sum_i exp(logit[i] - max)), the sum in double. A NaN logit counts as
// impossible (-infinity), as the sampler treats it. Buffers are sized once (reserve); compute() allocates nothing.
#pragma once

#include <cstdint>
#include <vector>

namespace ringlm {

struct TokenLogprob {
  int32_t id;
  float logprob;
};

class TokenLogprobs {
public:
  static constexpr int kMaxTop = 20;  // as OpenAI's top_logprobs
  // Room for `top` alternatives (0..kMaxTop).
  void reserve(int top);
  // From `logits` (vocab floats): the log-probability of `token` and the `top` most likely tokens, highest
  // first (equal log-probabilities: lower id first).
  void compute(const float* logits, int vocab, int32_t token);

  TokenLogprob chosen() const { return chosen_; }
  const TokenLogprob* top() const { return top_.data(); }
  int top_count() const { return top_count_; }

private:
  std::vector<TokenLogprob> top_;  // capacity: the requested count
  int top_wanted_ = 0, top_count_ = 0;
  TokenLogprob chosen_{-1, 0.0f};
};

// log-sum-exp of a row (the log of softmax's denominator), NaN counted as -infinity.
double log_sum_exp(const float* logits, int n);

}  // namespace ringlm
