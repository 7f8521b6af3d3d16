#include "common/thread_governor.h"

#include <algorithm>

namespace ringlm {

void ThreadGovernor::init(int threads, int layers) {
  most_ = std::max(1, threads);
  for (Track& t : tracks_) {
    t = Track();
    t.chosen = most_;
    t.usual_seconds.assign(size_t(std::max(1, layers)), 0.0);
    t.usual_tokens.assign(t.usual_seconds.size(), 0);
  }
  stats_ = Stats();
}

void ThreadGovernor::pin(int threads) { pinned_ = threads <= 0 ? 0 : std::min(threads, most_); }

void ThreadGovernor::begin_pass(int n_tokens) {
  pass_tokens_ = n_tokens;
  probe_layer_ = -1;
  if (pinned_ || most_ <= 1) return;
  Track& t = track();
  if (t.passes_to_probe > 0) t.passes_to_probe--;
  // A probe needs the same layer's usual time from a pass of the same size; else it waits a pass.
  if (t.passes_to_probe == 0 && t.usual_tokens[size_t(t.next_probe_layer)] == n_tokens) {
    probe_layer_ = t.next_probe_layer;
    t.next_probe_layer = (t.next_probe_layer + 1) % int(t.usual_seconds.size());
  }
}

int ThreadGovernor::layer_threads(int layer) const {
  if (pinned_) return pinned_;
  const Track& t = track();
  return layer == probe_layer_ ? other_choice(t) : t.chosen;
}

void ThreadGovernor::layer_done(int layer, double seconds) {
  (layer_threads(layer) == 1 ? stats_.layers_on_one : stats_.layers_on_all)++;
  Track& t = track();
  if (pinned_ || most_ <= 1 || layer < 0 || layer >= int(t.usual_seconds.size())) return;
  if (layer != probe_layer_) {
    t.usual_seconds[size_t(layer)] = seconds;
    t.usual_tokens[size_t(layer)] = pass_tokens_;
    return;
  }
  if (t.usual_seconds[size_t(layer)] > 0) judge(t, seconds / t.usual_seconds[size_t(layer)]);
}

void ThreadGovernor::judge(Track& t, double ratio) {
  stats_.probes++;
  t.ratios[t.n_ratios % 3] = ratio;
  t.n_ratios++;
  const double below = t.chosen == 1 ? kRiseBelow : kDropBelow;
  if (t.n_ratios >= 3) {
    const double a = t.ratios[0], b = t.ratios[1], c = t.ratios[2];
    const double median = std::max(std::min(a, b), std::min(std::max(a, b), c));
    if (median < below) {
      t.chosen = other_choice(t);
      stats_.switches++;
      t.n_ratios = 0;
      std::fill(t.usual_tokens.begin(), t.usual_tokens.end(), 0);  // those times were of the other choice
      t.passes_to_probe = 1;
      return;
    }
  }
  // The first three probes of a choice, and a probe that favours a switch, are followed by another
  // at the next pass of the same kind: a wrong choice lasts a few passes, not a few times eight.
  t.passes_to_probe = ratio < below || t.n_ratios < 3 ? 1 : kProbeEvery;
}

}  // namespace ringlm
