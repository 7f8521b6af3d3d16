#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "generate/logit_bias.h"
#include "generate/options.h"

namespace ringlm {

namespace {
bool by_logit_desc(const Candidate& a, const Candidate& b) { return a.logit > b.logit; }

void sort_desc(Candidates& c) {
  if (!c.sorted) {
    std::sort(c.data, c.data + c.size, by_logit_desc);
    c.sorted = true;
  }
}
}  // namespace

void sample_softmax(Candidates& c) {
  if (c.size == 0) return;
  sort_desc(c);
  const float max = c.data[0].logit;
  if (max == -INFINITY) {  // nothing is possible: spread evenly rather than divide 0 by 0
    for (size_t i = 0; i < c.size; i++) c.data[i].p = 1.0f / float(c.size);
    return;
  }
  double sum = 0.0;
  for (size_t i = 0; i < c.size; i++) {
    c.data[i].p = std::exp(c.data[i].logit - max);
    sum += c.data[i].p;
  }
  for (size_t i = 0; i < c.size; i++) c.data[i].p = float(c.data[i].p / sum);
}

void sample_top_k(Candidates& c, int k) {
  if (k <= 0 || size_t(k) >= c.size) return;
  if (!c.sorted) {
    std::partial_sort(c.data, c.data + k, c.data + c.size, by_logit_desc);
    c.sorted = true;
  }
  c.size = size_t(k);
}

void sample_top_p(Candidates& c, float p, size_t min_keep) {
  if (p >= 1.0f || c.size == 0) return;
  sample_softmax(c);
  // Keep the smallest prefix whose probability mass reaches p.
  double cum = 0.0;
  size_t keep = c.size;
  for (size_t i = 0; i < c.size; i++) {
    cum += c.data[i].p;
    if (cum >= p && i + 1 >= min_keep) {
      keep = i + 1;
      break;
    }
  }
  c.size = keep;
}

void sample_min_p(Candidates& c, float p, size_t min_keep) {
  if (p <= 0.0f || c.size == 0) return;
  // p_i >= p * p_max  <=>  logit_i >= logit_max + log(p): no softmax needed.
  float max = c.data[0].logit;
  for (size_t i = 1; i < c.size; i++) max = std::max(max, c.data[i].logit);
  const float threshold = max + std::log(p);
  sort_desc(c);
  size_t keep = 0;
  while (keep < c.size && c.data[keep].logit >= threshold) keep++;
  c.size = std::max(keep, std::min(min_keep, c.size));
}

void sample_temperature(Candidates& c, float t) {
  if (t <= 0.0f) {  // greedy: keep the best candidate only
    if (c.size == 0) return;
    size_t best = 0;
    for (size_t i = 1; i < c.size; i++) {
      if (c.data[i].logit > c.data[best].logit) best = i;
    }
    std::swap(c.data[0], c.data[best]);
    c.size = 1;
    c.sorted = true;
    return;
  }
  for (size_t i = 0; i < c.size; i++) c.data[i].logit /= t;
}

void sample_penalties(Candidates& c, const int32_t* recent, size_t n, float repeat, float frequency, float presence,
                      int32_t* counts) {
  if (n == 0 || (repeat == 1.0f && frequency == 0.0f && presence == 0.0f)) return;
  for (size_t i = 0; i < n; i++) counts[recent[i]]++;
  for (size_t i = 0; i < c.size; i++) {
    const int32_t count = counts[c.data[i].id];
    if (count == 0) continue;
    float& l = c.data[i].logit;
    // As llama.cpp: divide positive logits by the penalty, multiply negative ones.
    l = l > 0.0f ? l / repeat : l * repeat;
    l -= float(count) * frequency + presence;
  }
  for (size_t i = 0; i < n; i++) counts[recent[i]] = 0;
  c.sorted = false;
}

// Best first: sort a window of the candidates at a time (each window holds the best of what is left), ask the
// constraint about each in order, and move the allowed ones to the front. When the constraint refuses most of
// what it is asked (a narrow grammar: digits only, or the few tokens that may follow a '{'), asking on down the
// list would cost more than judging the whole vocabulary at once, which a grammar does with its token trie: the
// rest is then filtered by that mask in one pass and only what it allows is sorted. Every path keeps exactly the
// `want` best allowed candidates in the same order: `better` is a total order (ids are unique).
void sample_constrained(Candidates& c, TokenConstraint& constraint, size_t want, uint8_t* mask, size_t vocab) {
  const auto better = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
  // The best `n` of data[from, size) to the front of that range, sorted: linear selection, then a small sort.
  const auto select_best = [&](size_t from, size_t n, size_t size) {
    if (n == 0) return;
    Candidate* first = c.data + from;
    if (from + n < size) std::nth_element(first, first + n, c.data + size, better);
    std::sort(first, first + n, better);
  };
  constexpr size_t kFirstWindow = 32, kLastWindow = 512;
  size_t kept = 0, sorted = 0, window = kFirstWindow, i = 0;
  bool use_mask = false;
  for (; i < c.size && kept < want; i++) {
    if (i == sorted) {
      // Fewer than a quarter allowed so far: most of the vocabulary is refused, judge it all at once.
      if (window > kLastWindow || (sorted > 0 && kept * 4 < sorted)) {
        use_mask = true;
        break;
      }
      const size_t end = std::min(c.size, sorted + window);
      select_best(sorted, end - sorted, c.size);
      sorted = end;
      window *= 2;
    }
    if (constraint.allows(c.data[i].id)) std::swap(c.data[kept++], c.data[i]);
  }
  if (use_mask) {
    constraint.allowed_tokens(mask, vocab);
    const size_t first = kept;
    for (; i < c.size; i++) {
      if (mask[size_t(c.data[i].id)]) std::swap(c.data[kept++], c.data[i]);
    }
    const size_t keep = std::min(kept, want);
    select_best(first, keep - first, kept);
    kept = keep;
  }
  c.size = kept;
  c.sorted = true;
}

uint64_t Rng::next_u64() {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

float Rng::next_float() { return float(next_u64() >> 40) * (1.0f / 16777216.0f); }

Status Sampler::init(int vocab_size, const SamplingParams& params) {
  RINGLM_TRY(check_sampling_params(params));
  if (vocab_size <= 0) return Status::error("sampler: vocabulary size must be positive");
  params_ = params;
  vocab_size_ = vocab_size;
  candidates_.resize(size_t(vocab_size));
  counts_.assign(size_t(vocab_size), 0);
  allowed_.assign(size_t(vocab_size), 0);
  history_.assign(size_t(params.penalty_last_n), 0);
  recent_.assign(size_t(params.penalty_last_n), 0);
  reset();
  return Status();
}

void Sampler::reset() {
  history_count_ = 0;
  rng_.state = params_.seed;
}

void Sampler::accept(int32_t token) {
  if (history_.empty() || token < 0 || token >= vocab_size_) return;
  history_[history_count_ % history_.size()] = token;
  history_count_++;
}

std::vector<int32_t> Sampler::recent_tokens() const {
  const size_t n = std::min(history_count_, history_.size());
  std::vector<int32_t> out(n);
  for (size_t i = 0; i < n; i++) out[i] = history_[(history_count_ - n + i) % history_.size()];
  return out;
}

void Sampler::restore(uint64_t rng_state, const int32_t* recent, size_t n) {
  rng_.state = rng_state;
  history_count_ = 0;
  for (size_t i = 0; i < n; i++) accept(recent[i]);
}

Status Sampler::reconfigure(const SamplingParams& params, bool reseed) {
  const std::vector<int32_t> recent = recent_tokens();
  const uint64_t state = rng_.state;
  RINGLM_TRY(init(vocab_size_, params));
  restore(reseed ? params.seed : state, recent.data(), recent.size());
  return Status();
}

int32_t Sampler::sample(const float* logits) {
  Candidates c{candidates_.data(), size_t(vocab_size_), false};
  for (int i = 0; i < vocab_size_; i++) {
    // NaN logits would poison every comparison below: treat them as impossible tokens.
    const float l = std::isnan(logits[i]) ? -INFINITY : logits[i];
    candidates_[size_t(i)] = {i, l, 0.0f};
  }
  const size_t n_recent = std::min(history_count_, history_.size());
  for (size_t i = 0; i < n_recent; i++) {  // oldest first
    recent_[i] = history_[(history_count_ - n_recent + i) % history_.size()];
  }
  const SamplingParams& p = params_;
  sample_logit_bias(c, logit_bias_.data(), logit_bias_.size());  // first, as in llama.cpp's chain
  sample_penalties(c, recent_.data(), n_recent, p.repeat_penalty, p.frequency_penalty, p.presence_penalty, counts_.data());
  if (constraint_) {  // greedy needs the best allowed token, top-k the k best; else every allowed one
    const size_t want = p.temperature <= 0.0f ? 1 : p.top_k > 0 ? size_t(p.top_k) : c.size;
    sample_constrained(c, *constraint_, want, allowed_.data(), allowed_.size());
    if (c.size == 0) return -1;
  }
  if (p.temperature <= 0.0f) {  // greedy: the other steps cannot change the argmax
    sample_temperature(c, 0.0f);
    return c.data[0].id;
  }
  sample_top_k(c, p.top_k);
  sample_top_p(c, p.top_p);
  sample_min_p(c, p.min_p);
  sample_temperature(c, p.temperature);
  sample_softmax(c);
  // Draw: walk the cumulative distribution.
  const float u = rng_.next_float();
  float cum = 0.0f;
  for (size_t i = 0; i < c.size; i++) {
    cum += c.data[i].p;
    if (u < cum) return c.data[i].id;
  }
  return c.data[c.size - 1].id;  // rounding left u just above the total
}

}  // namespace ringlm
