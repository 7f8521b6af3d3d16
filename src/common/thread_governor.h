// thread_governor.h — how many threads each layer of a forward pass uses: all that the model was
// given, unless fewer are faster.
//
// More threads are not always faster. When another process keeps a core busy, the OS shares the
// cores among more runnable threads than there are, and every loop of a token ends by waiting for
// the chunks a paused thread holds: measured on 2 cores beside a busy loop, 2 threads decoded at
// half the speed of 1. Nothing inside the process can tell in advance, so the governor measures:
// the layers of a pass do the same work, so it times each layer, and now and then runs one layer
// (a probe, a different layer each time) on the other choice (1 thread instead of all, or all
// instead of 1) and compares it with the same layer of the previous pass of the same size. When
// the median of the last three probes says the other choice is faster, it switches; probing goes
// on, so it switches back once the cores are free. The first three probes of a choice come in
// consecutive passes (as does the next one after a probe that favours a switch), then one every
// kProbeEvery passes: a probe costs a fraction of one layer, a few tenths of a percent of the
// tokens when the choice is right.
//
// Decode (one token a pass) and prefill (batches) choose apart, each with its own probes and its
// own choice: their loops differ in length by the batch size, so a second thread that does not pay
// for decode's short loops beside a busy neighbour may still pay for a batch's, or the other way
// round. Apart, the batches also get probes of their own: mixed with decode, a batch's layer found
// its usual time overwritten by the decode passes between two prompts, and only the later passes of
// a prompt (three of a 128-token prompt's four) could probe at all.
//
// Which thread computes what never changes the bits (see matmul.h and the attention loop), so the
// governor only changes speed. It allocates in init() only.
#pragma once

#include <cstdint>
#include <vector>

namespace ringlm {

class ThreadGovernor {
public:
  // Passes between probes when the last one agreed with the choice.
  static constexpr int kProbeEvery = 8;
  // Median (probe time / usual time) under which the probe's choice wins: dropping to 1 thread as
  // soon as it is faster; going back to all only when that is clearly faster (no flapping).
  static constexpr double kDropBelow = 1.0, kRiseBelow = 0.9;

  // `threads` the model may use, `layers` per pass.
  void init(int threads, int layers);
  // 0: choose by measuring (the default); n: always min(n, threads) threads.
  void pin(int threads);
  int pinned() const { return pinned_; }

  // A forward pass of `n_tokens` tokens begins: decides whether one of its layers is a probe.
  void begin_pass(int n_tokens);
  // Threads for `layer` of the current pass, and its time once it is done.
  int layer_threads(int layer) const;
  void layer_done(int layer, double seconds);
  // Threads for work outside the layers (the output matrix): the current pass's choice.
  int threads() const { return pinned_ ? pinned_ : track().chosen; }
  // The current choice for passes of one token (decode) and for batches (prefill).
  int decode_threads() const { return pinned_ ? pinned_ : tracks_[0].chosen; }
  int batch_threads() const { return pinned_ ? pinned_ : tracks_[1].chosen; }

  struct Stats {
    uint64_t layers_on_all = 0;  // layers run on every thread
    uint64_t layers_on_one = 0;  // layers run on one thread
    uint64_t probes = 0;         // probes compared
    uint64_t switches = 0;       // changes of choice
  };
  const Stats& stats() const { return stats_; }

private:
  // One kind of pass's measurements and choice: [0] passes of one token, [1] batches.
  struct Track {
    int chosen = 1;              // the current choice: 1 or most_
    int next_probe_layer = 0;
    int passes_to_probe = 1;
    std::vector<double> usual_seconds;  // [layer] its time in the last pass that ran it on `chosen`
    std::vector<int> usual_tokens;      // [layer] that pass's tokens (0: none since the last switch)
    double ratios[3] = {};              // the last probes' (probe time / usual time)
    int n_ratios = 0;
  };
  Track& track() { return tracks_[pass_tokens_ > 1 ? 1 : 0]; }
  const Track& track() const { return tracks_[pass_tokens_ > 1 ? 1 : 0]; }
  int other_choice(const Track& t) const { return t.chosen == 1 ? most_ : 1; }
  void judge(Track& t, double ratio);

  int most_ = 1;       // threads the model was given
  int pinned_ = 0;
  int pass_tokens_ = 0;
  int probe_layer_ = -1;  // in the current pass; -1: none
  Track tracks_[2];
  Stats stats_;
};

}  // namespace ringlm
