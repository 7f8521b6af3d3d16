#include "common/thread_governor.h"

#include <algorithm>

namespace ringlm {

void ThreadGovernor::init(int threads, int layers) {
  most_ = std::max(1, threads);
  chosen_ = most_;
  usual_seconds_.assign(size_t(std::max(1, layers)), 0.0);
  usual_tokens_.assign(usual_seconds_.size(), 0);
  n_ratios_ = 0;
  passes_to_probe_ = 1;
  stats_ = Stats();
}

void ThreadGovernor::pin(int threads) { pinned_ = threads <= 0 ? 0 : std::min(threads, most_); }

void ThreadGovernor::begin_pass(int n_tokens) {
  pass_tokens_ = n_tokens;
  probe_layer_ = -1;
  if (pinned_ || most_ <= 1) return;
  if (passes_to_probe_ > 0) passes_to_probe_--;
  // A probe needs the same layer's usual time from a pass of the same size; else it waits a pass.
  if (passes_to_probe_ == 0 && usual_tokens_[size_t(next_probe_layer_)] == n_tokens) {
    probe_layer_ = next_probe_layer_;
    next_probe_layer_ = (next_probe_layer_ + 1) % int(usual_seconds_.size());
  }
}

int ThreadGovernor::layer_threads(int layer) const {
  if (pinned_) return pinned_;
  return layer == probe_layer_ ? other_choice() : chosen_;
}

void ThreadGovernor::layer_done(int layer, double seconds) {
  (layer_threads(layer) == 1 ? stats_.layers_on_one : stats_.layers_on_all)++;
  if (pinned_ || most_ <= 1 || layer < 0 || layer >= int(usual_seconds_.size())) return;
  if (layer != probe_layer_) {
    usual_seconds_[size_t(layer)] = seconds;
    usual_tokens_[size_t(layer)] = pass_tokens_;
    return;
  }
  if (usual_seconds_[size_t(layer)] > 0) judge(seconds / usual_seconds_[size_t(layer)]);
}

void ThreadGovernor::judge(double ratio) {
  stats_.probes++;
  ratios_[n_ratios_ % 3] = ratio;
  n_ratios_++;
  const double below = chosen_ == 1 ? kRiseBelow : kDropBelow;
  if (n_ratios_ >= 3) {
    const double a = ratios_[0], b = ratios_[1], c = ratios_[2];
    const double median = std::max(std::min(a, b), std::min(std::max(a, b), c));
    if (median < below) {
      chosen_ = other_choice();
      stats_.switches++;
      n_ratios_ = 0;
      std::fill(usual_tokens_.begin(), usual_tokens_.end(), 0);  // those times were of the other choice
      passes_to_probe_ = 1;
      return;
    }
  }
  // The first three probes of a choice, and a probe that favours a switch, are followed by another
  // at the next pass: a wrong choice lasts a few passes, not a few times eight.
  passes_to_probe_ = ratio < below || n_ratios_ < 3 ? 1 : kProbeEvery;
}

}  // namespace ringlm
