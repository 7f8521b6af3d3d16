// logit_bias.h — additive biases on chosen tokens' logits, the first step of the sampling chain.
//
// As llama.cpp's logit-bias sampler, which common/sampling.cpp and node-llama-cpp's AddonSampler both put
// first in the chain (before the penalties and the truncations): a bias is added to the raw logit, and
// -infinity bans the token outright. The same token given twice gets both biases (llama.cpp adds each entry).
// Log-probabilities (generate/logprobs.h) are of the raw logits, before this step.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "generate/sampler.h"

namespace ringlm {

// LogitBias ({token, bias}) is declared in generate/sampler.h, which holds a generation's list.

// The values allowed for one entry, whatever the vocabulary: a whole, non-negative id, and a bias that
// is a number and not +infinity (which would make every other token impossible, and two of them NaN).
Status check_logit_bias_entry(double token, double bias);
// The ids within the vocabulary, and at least one token left unbanned.
Status check_logit_bias(const std::vector<LogitBias>& biases, int vocab_size);
// "ID=BIAS" (a command line's --logit-bias 15043=-inf), appended to `out`.
Status parse_logit_bias(std::string_view text, std::vector<LogitBias>* out);

// The step: candidates still in id order (the chain's start) get their bias. Allocation-free.
void sample_logit_bias(Candidates& c, const LogitBias* biases, size_t n);

}  // namespace ringlm
