// score.h — how likely a text is under the model: each token's log-probability given the tokens before it
// (teacher forcing), their sum and the perplexity exp(-sum / count).
//
// The first token has nothing before it and is not scored. A text that fits the context (n <= contextSize) is
// run once, from an empty cache. A longer one is scored in windows of contextSize tokens, each run from an
// empty cache (positions from 0), the next starting `stride` tokens after the last: the first window scores
// all its tokens, every later one only the tokens no earlier window reached, so every token is scored once,
// with at least contextSize - stride tokens before it (the standard sliding-window perplexity; llama.cpp's
// tool scores separate chunks instead). Each window is exactly what llama.cpp computes for those tokens
// alone, which is how the tests hold it to llama.cpp.
//
// The log-probabilities are of the raw logits (generate/logprobs.h). The cache is emptied at the end.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "model/engine.h"

namespace ringlm {

struct ScoreResult {
  std::vector<float> logprobs;  // logprobs[i]: token i + 1 given tokens 0..i (within its window)
  double sum = 0;               // in double
  double perplexity = 0;        // exp(-sum / logprobs.size())
  int windows = 0;
};

// The window starts for `n` tokens, a context of `window` tokens and `stride`: what score() runs.
std::vector<int> score_window_starts(int n, int window, int stride);

// `stride`: 0 for the default, half the context size (at least 1); else 1..contextSize - 1.
Status score_tokens(Engine& engine, const int32_t* ids, int n, int stride, ScoreResult* out);

}  // namespace ringlm
