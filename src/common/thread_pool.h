// thread_pool.h — a fixed set of worker threads that split one loop at a time with the caller.
//
// The forward pass hands out a few dozen loops per token (the rows of each weight matrix, the
// attention heads); creating threads per token would cost more than the work. So the threads are
// started once, then each parallel_for() wakes them, and the caller works too, as thread 0.
// Chunks of the loop are taken from a shared counter, so a thread that the OS (or the browser)
// pauses simply takes fewer chunks; which thread runs a chunk never changes what it computes.
// Chunks shrink as the loop runs out (each is a share of what is left): the first ones are big, so
// claiming costs little, and the last ones small, so that the threads finish together and a thread
// paused in the middle of its last chunk leaves little behind for the caller to wait on.
//
// Idle threads do not burn a core: after a job they spin briefly (the next loop of the same token
// usually follows within microseconds), yielding their core to any other runnable thread, and
// then sleep on a condition variable until the next one.
// Plain std::thread: the same code runs natively and, built with -pthread, in wasm (where each
// thread is a Web Worker the host must have started beforehand).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace ringlm {

class ThreadPool {
public:
  // `threads` counts the caller: ThreadPool(1) starts none and runs every loop inline.
  explicit ThreadPool(int threads);
  ~ThreadPool();  // stops and joins the threads; no loop may be running
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  // Counts since the pool started (or reset_stats()), for measuring where a token's time goes.
  // Written by the caller of parallel_for only, except `worker_chunks`; read them between loops.
  struct Stats {
    uint64_t jobs = 0;           // loops split across threads (loops run inline are not counted)
    uint64_t items = 0;          // their items
    uint64_t caller_chunks = 0;  // chunks the calling thread ran
    uint64_t caller_items = 0;   // items in them
    double caller_wait_seconds = 0;  // after its last chunk, waiting for chunks other threads hold
    uint64_t caller_sleeps = 0;  // waits that outlasted the spin and slept
  };
  Stats stats() const;
  uint64_t worker_chunks() const { return worker_chunks_.load(std::memory_order_relaxed); }
  void reset_stats();

  // Calls fn(begin, end, thread) on chunks [begin, end) covering [0, n) exactly once, on at most
  // `max_threads` threads; `thread` < max_threads tells a chunk which scratch buffers are its own.
  // Every chunk starts at a multiple of `grain` and, but for the last, is a multiple of it long:
  // about 1/(2 max_threads) of the items left when it is taken, and at least `grain`. On one
  // thread, or when n <= grain, one call covers [0, n). Returns when every chunk is done.
  // Allocates nothing. Not re-entrant: one loop at a time, started from one thread.
  template <typename Fn>
  void parallel_for(int64_t n, int64_t grain, int max_threads, const Fn& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (max_threads > size()) max_threads = size();
    if (max_threads <= 1 || n <= grain) {
      fn(int64_t(0), n, 0);
      return;
    }
    run(n, grain, max_threads, &call<Fn>, &fn);
  }

private:
  // The loop body without its type (a std::function could allocate).
  using Task = void (*)(const void* fn, int64_t begin, int64_t end, int thread);
  template <typename Fn>
  static void call(const void* fn, int64_t begin, int64_t end, int thread) {
    (*static_cast<const Fn*>(fn))(begin, end, thread);
  }

  void run(int64_t n, int64_t grain, int max_threads, Task task, const void* fn);
  // Take chunks of `job` until none is left; returns {chunks, items} taken.
  std::pair<uint64_t, int64_t> work(uint32_t job, int thread);
  void worker_main(int thread);

  std::vector<std::thread> workers_;

  // The current job. claim_ holds (job number << 32) | first item not yet taken: a thread takes a
  // chunk by advancing it, which fails once the job is over, so a thread that wakes up late never
  // touches the next job's items, and the caller waits only for chunks that were taken, never for
  // a thread the OS has not scheduled yet. The fields below are written before claim_ announces
  // the job, and stay as they are while any of its chunks is being run.
  std::atomic<uint64_t> claim_{0};
  std::atomic<Task> task_{nullptr};
  std::atomic<const void*> fn_{nullptr};
  std::atomic<int64_t> n_{0}, grain_{1};
  std::atomic<int> max_threads_{1};
  std::atomic<int64_t> done_items_{0};  // items of the current job that are finished

  Stats stats_;
  std::atomic<uint64_t> worker_chunks_{0};

  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;  // workers sleep here between jobs
  std::condition_variable done_;  // the caller sleeps here when the last chunks take long
  int sleepers_ = 0;              // workers asleep on wake_ (guarded by mutex_)
  bool caller_sleeping_ = false;  // guarded by mutex_
};

// The threads one step of the forward pass runs on: `count` of `pool`'s threads, the caller among
// them (no pool, or a count of 1: the calling thread alone). Every parallel step takes one as an
// argument, so that each call says how many threads it uses.
struct Threads {
  ThreadPool* pool = nullptr;
  int count = 1;

  // ThreadPool::parallel_for on these threads, or one call covering [0, n) on the caller.
  template <typename Fn>
  void parallel_for(int64_t n, int64_t grain, const Fn& fn) const {
    if (pool) pool->parallel_for(n, grain, count, fn);
    else if (n > 0) fn(int64_t(0), n, 0);
  }

  // Values a chunk of per-row work (a norm, an activation's quantizing, SwiGLU, a residual add)
  // must hold at least before it goes to another thread. A loop on the pool costs a round trip —
  // waking or finding the other threads, claiming chunks, waiting for the last one — of the order
  // of a few microseconds, and more when a thread is paused; a row of 768 values takes a fraction
  // of a microsecond through such a step. So decode's single row (and a small batch of short rows)
  // stays on the caller with no round trip at all, and a prefill batch is split into chunks of a
  // few rows.
  static constexpr int64_t kMinValuesPerChunk = 4096;

  // fn(begin, end, thread) over rows [0, rows) of `values_per_row` values each, split across these
  // threads in chunks of whole rows, each chunk holding at least kMinValuesPerChunk values.
  template <typename Fn>
  void for_rows(int64_t rows, int64_t values_per_row, const Fn& fn) const {
    const int64_t grain = values_per_row >= kMinValuesPerChunk ? 1 : (kMinValuesPerChunk + values_per_row - 1) / values_per_row;
    parallel_for(rows, grain, fn);
  }
};

}  // namespace ringlm
