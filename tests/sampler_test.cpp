// The sampler chain as tables: probabilities in, probabilities out (as llama.cpp tests its samplers).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <vector>

#include "generate/sampler.h"

using namespace ringlm;

namespace {

// Apply `step` to candidates with the given probabilities (ids 0..n-1), then softmax, and compare
// the surviving probabilities, in descending order, with `expected`.
void check(const std::vector<float>& probs, const std::vector<float>& expected,
           const std::function<void(Candidates&)>& step) {
  std::vector<Candidate> data;
  for (size_t i = 0; i < probs.size(); i++) data.push_back({int32_t(i), std::log(probs[i]), 0.0f});
  Candidates c{data.data(), data.size(), false};
  step(c);
  sample_softmax(c);
  ASSERT_EQ(c.size, expected.size());
  for (size_t i = 0; i < c.size; i++) EXPECT_NEAR(c.data[i].p, expected[i], 1e-5f) << "at " << i;
}

}  // namespace

TEST(Sampler, TopK) {
  check({0.1f, 0.2f, 0.3f, 0.4f}, {1.0f}, [](Candidates& c) { sample_top_k(c, 1); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {4 / 9.f, 3 / 9.f, 2 / 9.f}, [](Candidates& c) { sample_top_k(c, 3); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {0.4f, 0.3f, 0.2f, 0.1f}, [](Candidates& c) { sample_top_k(c, 0); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {0.4f, 0.3f, 0.2f, 0.1f}, [](Candidates& c) { sample_top_k(c, 9); });
}

TEST(Sampler, TopP) {
  check({0.1f, 0.2f, 0.3f, 0.4f}, {1.0f}, [](Candidates& c) { sample_top_p(c, 0.0f); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {4 / 7.f, 3 / 7.f}, [](Candidates& c) { sample_top_p(c, 0.7f); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {4 / 9.f, 3 / 9.f, 2 / 9.f}, [](Candidates& c) { sample_top_p(c, 0.8f); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {0.4f, 0.3f, 0.2f, 0.1f}, [](Candidates& c) { sample_top_p(c, 1.0f); });
}

TEST(Sampler, MinP) {
  check({0.1f, 0.2f, 0.3f, 0.4f}, {0.4f, 0.3f, 0.2f, 0.1f}, [](Candidates& c) { sample_min_p(c, 0.0f); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {0.4f, 0.3f, 0.2f, 0.1f}, [](Candidates& c) { sample_min_p(c, 0.24f); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {4 / 9.f, 3 / 9.f, 2 / 9.f}, [](Candidates& c) { sample_min_p(c, 0.26f); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {4 / 7.f, 3 / 7.f}, [](Candidates& c) { sample_min_p(c, 0.74f); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {1.0f}, [](Candidates& c) { sample_min_p(c, 0.76f); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {1.0f}, [](Candidates& c) { sample_min_p(c, 1.0f); });
}

TEST(Sampler, Temperature) {
  // Temperature t turns p into p^(1/t), renormalized.
  const float z2 = 0.01f + 0.04f + 0.09f + 0.16f;
  check({0.1f, 0.2f, 0.3f, 0.4f}, {0.16f / z2, 0.09f / z2, 0.04f / z2, 0.01f / z2},
        [](Candidates& c) { sample_temperature(c, 0.5f); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {1.0f}, [](Candidates& c) { sample_temperature(c, 0.0f); });
  check({0.1f, 0.2f, 0.3f, 0.4f}, {0.4f, 0.3f, 0.2f, 0.1f}, [](Candidates& c) { sample_temperature(c, 1.0f); });
}

TEST(Sampler, Penalties) {
  std::vector<int32_t> counts(5, 0);
  // Token 0 seen once; a repeat penalty of 50 multiplies its (negative) logit by 50.
  const float l = std::log(0.2f), l0 = l * 50.0f;
  const float z = std::exp(l0) + 4 * std::exp(l);
  const int32_t recent0[] = {0};
  check({0.2f, 0.2f, 0.2f, 0.2f, 0.2f}, {std::exp(l) / z, std::exp(l) / z, std::exp(l) / z, std::exp(l) / z, std::exp(l0) / z},
        [&](Candidates& c) { sample_penalties(c, recent0, 1, 50.0f, 0.0f, 0.0f, counts.data()); });
  // Frequency 5 per occurrence + presence 5 once: tokens 0 (x3) and 1 (x1) lose 20 and 10.
  const int32_t recent[] = {0, 1, 0, 0};
  const float a = std::exp(l), b = std::exp(l - 10.0f), d = std::exp(l - 20.0f), zz = 3 * a + b + d;
  check({0.2f, 0.2f, 0.2f, 0.2f, 0.2f}, {a / zz, a / zz, a / zz, b / zz, d / zz},
        [&](Candidates& c) { sample_penalties(c, recent, 4, 1.0f, 5.0f, 5.0f, counts.data()); });
  for (int32_t v : counts) EXPECT_EQ(v, 0) << "scratch counts are left zeroed";
}

TEST(Sampler, GreedyIsArgmaxAndIgnoresNaN) {
  Sampler s;
  SamplingParams p;
  p.temperature = 0.0f;
  ASSERT_TRUE(s.init(5, p).ok());
  const float logits[] = {1.0f, NAN, 3.0f, -2.0f, 2.9f};
  EXPECT_EQ(s.sample(logits), 2);
  const float all_bad[] = {NAN, NAN, NAN, NAN, NAN};
  const int32_t t = s.sample(all_bad);
  EXPECT_TRUE(t >= 0 && t < 5);
}

TEST(Sampler, SeededDrawsAreReproducibleAndFollowTheDistribution) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 1234;
  const float logits[] = {std::log(0.1f), std::log(0.2f), std::log(0.3f), std::log(0.4f)};
  Sampler a, b;
  ASSERT_TRUE(a.init(4, p).ok());
  ASSERT_TRUE(b.init(4, p).ok());
  std::map<int32_t, int> hist;
  std::vector<int32_t> first;
  const int n = 20000;
  for (int i = 0; i < n; i++) {
    const int32_t t = a.sample(logits);
    EXPECT_EQ(t, b.sample(logits));
    hist[t]++;
    if (i < 16) first.push_back(t);
  }
  for (int t = 0; t < 4; t++) EXPECT_NEAR(hist[t] / double(n), 0.1 * (t + 1), 0.015) << t;
  a.reset();
  for (int i = 0; i < 16; i++) EXPECT_EQ(a.sample(logits), first[size_t(i)]) << "reset restarts from the seed";
  // Pin the generator's output: the same numbers must come out natively and in wasm.
  Rng r{42};
  EXPECT_EQ(r.next_u64(), 0xBDD732262FEB6E95ull);
}

TEST(Sampler, HistoryKeepsTheLastNTokens) {
  SamplingParams p;
  p.penalty_last_n = 3;
  p.repeat_penalty = 2.0f;
  p.temperature = 0.0f;
  Sampler s;
  ASSERT_TRUE(s.init(4, p).ok());
  for (int32_t t : {3, 3, 0, 1, 2}) s.accept(t);  // window: 0 1 2
  const float logits[] = {1.0f, 1.0f, 1.0f, 1.5f};
  EXPECT_EQ(s.sample(logits), 3) << "token 3 left the window, so it is not penalized";
  s.accept(3);  // window: 1 2 3
  EXPECT_EQ(s.sample(logits), 0);
}

TEST(Sampler, RejectsBadParams) {
  Sampler s;
  SamplingParams p;
  p.temperature = NAN;
  EXPECT_NE(s.init(4, p).message().find("temperature"), std::string::npos);
  p = SamplingParams();
  p.top_p = 1.5f;
  EXPECT_NE(s.init(4, p).message().find("topP"), std::string::npos);
  p = SamplingParams();
  p.repeat_penalty = 0.0f;
  EXPECT_NE(s.init(4, p).message().find("repeatPenalty"), std::string::npos);
  p = SamplingParams();
  p.penalty_last_n = -1;
  EXPECT_NE(s.init(4, p).message().find("penaltyLastN"), std::string::npos);
}
