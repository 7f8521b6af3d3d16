#include "generate/logprobs.h"

#include <algorithm>
#include <cmath>

namespace ringlm {

namespace {
float clean(float l) { return std::isnan(l) ? -INFINITY : l; }
}  // namespace

double log_sum_exp(const float* logits, int n) {
  float max = -INFINITY;
  for (int i = 0; i < n; i++) max = std::max(max, clean(logits[i]));
  if (max == -INFINITY) return -INFINITY;
  double sum = 0.0;
  for (int i = 0; i < n; i++) sum += std::exp(double(clean(logits[i])) - double(max));
  return double(max) + std::log(sum);
}

void TokenLogprobs::reserve(int top) {
  top_wanted_ = std::clamp(top, 0, kMaxTop);
  top_.assign(size_t(top_wanted_), TokenLogprob{-1, 0.0f});
  top_count_ = 0;
}

void TokenLogprobs::compute(const float* logits, int vocab, int32_t token) {
  const double lse = log_sum_exp(logits, vocab);
  const auto logprob = [&](int32_t id) { return float(double(clean(logits[id])) - lse); };
  chosen_ = {token, logprob(token)};
  // The `top_wanted_` largest logits, kept sorted by insertion (n <= 20): one pass, nothing allocated.
  top_count_ = 0;
  for (int32_t id = 0; id < vocab && top_wanted_ > 0; id++) {
    const float l = clean(logits[id]);
    if (top_count_ == top_wanted_ && !(l > top_[size_t(top_count_ - 1)].logprob)) continue;
    int at = top_count_ < top_wanted_ ? top_count_++ : top_count_ - 1;
    while (at > 0 && l > top_[size_t(at - 1)].logprob) {  // strictly: an equal one stays first (lower id)
      top_[size_t(at)] = top_[size_t(at - 1)];
      at--;
    }
    top_[size_t(at)] = {id, l};
  }
  for (int i = 0; i < top_count_; i++) top_[size_t(i)].logprob = logprob(top_[size_t(i)].id);
}

}  // namespace ringlm
