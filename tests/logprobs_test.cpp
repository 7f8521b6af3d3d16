// The logit-bias step, the log-probabilities of a row and the scoring windows, against direct computation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "generate/logit_bias.h"
#include "generate/logprobs.h"
#include "generate/options.h"
#include "generate/score.h"

using namespace ringlm;

TEST(LogitBias, AddsToTheRawLogitsAndBans) {
  std::vector<Candidate> data;
  for (int i = 0; i < 6; i++) data.push_back({i, float(i), 0.0f});
  Candidates c{data.data(), data.size(), true};
  const std::vector<LogitBias> biases = {{5, -INFINITY}, {0, 10.0f}, {2, -1.5f}, {2, 0.5f}};
  sample_logit_bias(c, biases.data(), biases.size());
  EXPECT_FALSE(c.sorted);
  EXPECT_EQ(data[5].logit, -INFINITY);
  EXPECT_EQ(data[0].logit, 10.0f);
  EXPECT_EQ(data[2].logit, 1.0f);  // both entries for token 2 add up
  EXPECT_EQ(data[4].logit, 4.0f);
  sample_softmax(c);
  EXPECT_EQ(c.data[0].id, 0);
  EXPECT_EQ(c.data[5].p, 0.0f);  // banned: probability 0
}

TEST(LogitBias, Checks) {
  EXPECT_TRUE(check_logit_bias({{3, -INFINITY}, {4, 1e30f}}, 10).ok());
  EXPECT_EQ(check_logit_bias({{10, 1.0f}}, 10).message(), "logitBias: token id 10 is out of range (vocabulary size 10)");
  EXPECT_EQ(check_logit_bias({{0, -INFINITY}, {1, -INFINITY}, {1, -INFINITY}}, 2).message(),
            "logitBias bans every token of the vocabulary: nothing could be sampled");
  EXPECT_FALSE(check_logit_bias_entry(1, INFINITY).ok());
  EXPECT_FALSE(check_logit_bias_entry(1, NAN).ok());
  EXPECT_FALSE(check_logit_bias_entry(1, 1e300).ok());  // +infinity as a float
  EXPECT_FALSE(check_logit_bias_entry(1.5, 0).ok());
  EXPECT_FALSE(check_logit_bias_entry(-1, 0).ok());
  std::vector<LogitBias> parsed;
  EXPECT_TRUE(parse_logit_bias("15=-inf", &parsed).ok());
  EXPECT_TRUE(parse_logit_bias("7=-Infinity", &parsed).ok());
  EXPECT_TRUE(parse_logit_bias("3=2.5", &parsed).ok());
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[0].token, 15);
  EXPECT_EQ(parsed[0].bias, -INFINITY);
  EXPECT_EQ(parsed[2].bias, 2.5f);
  for (const char* bad : {"15", "=1", "15=", "a=1", "1=x", "1= 2", "1=inf", "1=nan", "-1=2"}) {
    EXPECT_FALSE(parse_logit_bias(bad, &parsed).ok()) << bad;
  }
  // Through the options table, as a command line gives it.
  GenerateOptions o;
  ASSERT_TRUE(set_option_text(*find_option("logitBias"), "4=-inf", &o).ok());
  ASSERT_TRUE(set_option_text(*find_option_flag("logit-bias"), "9=1.25", &o).ok());
  ASSERT_EQ(o.logit_bias.size(), 2u);
  EXPECT_EQ(o.logit_bias[1].token, 9);
  // logprobs: off by default (the default passes the range check), else 0..20.
  EXPECT_EQ(o.logprobs, -1);
  EXPECT_TRUE(check_generate_options(o).ok());
  EXPECT_FALSE(set_option_text(*find_option("logprobs"), "21", &o).ok());
  EXPECT_TRUE(set_option_text(*find_option("logprobs"), "20", &o).ok());
  EXPECT_TRUE(check_generate_options(o).ok());
}

TEST(Logprobs, TheRowsLogSoftmaxAndItsTopN) {
  const int vocab = 300;
  std::vector<float> logits(vocab);
  for (int i = 0; i < vocab; i++) logits[size_t(i)] = std::sin(float(i) * 0.37f) * 8.0f + (i == 17 ? NAN : 0.0f);
  logits[40] = logits[41] = 9.5f;  // a tie: lower id first
  // Direct: log-softmax in long double, NaN as impossible.
  long double max = -INFINITY, sum = 0;
  for (float l : logits) if (!std::isnan(l)) max = std::max<long double>(max, l);
  for (float l : logits) if (!std::isnan(l)) sum += std::exp((long double)l - max);
  const auto direct = [&](int id) { return double((long double)logits[size_t(id)] - max - std::log(sum)); };
  std::vector<int> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  order.erase(order.begin() + 17);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[size_t(a)] > logits[size_t(b)]; });

  TokenLogprobs lp;
  lp.reserve(20);
  lp.compute(logits.data(), vocab, 123);
  EXPECT_EQ(lp.chosen().id, 123);
  EXPECT_NEAR(lp.chosen().logprob, direct(123), 1e-5);
  ASSERT_EQ(lp.top_count(), 20);
  for (int k = 0; k < 20; k++) {
    EXPECT_EQ(lp.top()[k].id, order[size_t(k)]) << k;
    EXPECT_NEAR(lp.top()[k].logprob, direct(order[size_t(k)]), 1e-5);
  }
  EXPECT_EQ(lp.top()[0].id, 40);
  EXPECT_EQ(lp.top()[1].id, 41);
  lp.compute(logits.data(), vocab, 17);
  EXPECT_EQ(lp.chosen().logprob, -INFINITY);
  lp.reserve(0);
  lp.compute(logits.data(), vocab, 1);
  EXPECT_EQ(lp.top_count(), 0);
}

TEST(Score, WindowsCoverEveryTokenOnce) {
  EXPECT_EQ(score_window_starts(10, 32, 16), std::vector<int>({0}));
  EXPECT_EQ(score_window_starts(32, 32, 16), std::vector<int>({0}));
  EXPECT_EQ(score_window_starts(33, 32, 16), std::vector<int>({0, 16}));
  EXPECT_EQ(score_window_starts(90, 32, 12), std::vector<int>({0, 12, 24, 36, 48, 60}));
}
