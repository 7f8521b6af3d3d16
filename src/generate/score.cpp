#include "generate/score.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "generate/logprobs.h"

namespace ringlm {

namespace {
// Tokens per prefill while scoring: each chunk's rows of logits are read, then overwritten. The engine's logits
// buffer grows to hold them (as prefill with all_logits does), so a chunk is kept to about 4 MiB of logits: 32
// rows of a 32k vocabulary, 6 of a 150k one.
constexpr int kScoreChunkMax = 32;
constexpr size_t kScoreLogitsFloats = size_t(1) << 20;
}  // namespace

std::vector<int> score_window_starts(int n, int window, int stride) {
  std::vector<int> starts = {0};
  // A window ending at `end` has scored up to end - 1; the next one starts `stride` later.
  while (starts.back() + window < n) starts.push_back(starts.back() + stride);
  return starts;
}

Status score_tokens(Engine& engine, const int32_t* ids, int n, int stride, ScoreResult* out) {
  const int vocab = engine.model().config.vocab_size;
  const int window = engine.context_size();
  if (n < 2) {
    return Status::error("nothing to score: give at least two tokens (the first is only context; got " + std::to_string(n) + ")");
  }
  for (int i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      return Status::error("token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                           " is out of range (vocabulary size " + std::to_string(vocab) + ")");
    }
  }
  if (stride == 0) stride = std::max(1, window / 2);
  if (stride < 1 || stride >= window) {
    return Status::error("stride must be an integer in [1, " + std::to_string(window - 1) + "] (contextSize - 1; got " +
                         std::to_string(stride) + ")");
  }
  out->logprobs.assign(size_t(n - 1), 0.0f);
  out->windows = 0;
  const int chunk = int(std::clamp<size_t>(kScoreLogitsFloats / size_t(vocab), 1, kScoreChunkMax));
  int scored_to = 1;  // the next token to score
  for (int start : score_window_starts(n, window, stride)) {
    const int end = std::min(start + window, n);
    engine.reset();
    // Rows needed: the logits after token j - 1 for j in [scored_to, end).
    for (int at = start; at < end;) {
      const int count = std::min(chunk, end - at);
      const bool rows = at + count > scored_to - 1;  // this chunk holds a needed row
      Status s = engine.prefill(ids + at, count, rows);
      if (!s.ok()) {
        engine.reset();
        return s;
      }
      for (int k = 0; rows && k < count; k++) {
        const int j = at + k + 1;  // the token predicted by row k
        if (j < scored_to || j >= end) continue;
        const float* row = engine.logits() + size_t(k) * size_t(vocab);
        out->logprobs[size_t(j - 1)] = float(double(row[ids[j]]) - log_sum_exp(row, vocab));
      }
      at += count;
    }
    scored_to = end;
    out->windows++;
  }
  engine.reset();
  double sum = 0;
  for (float lp : out->logprobs) sum += lp;
  out->sum = sum;
  out->perplexity = std::exp(-sum / double(out->logprobs.size()));
  return Status();
}

}  // namespace ringlm
