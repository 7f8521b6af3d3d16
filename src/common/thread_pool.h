// thread_pool.h — a fixed set of worker threads that split one loop at a time with the caller.
//
// The forward pass hands out a few dozen loops per token (the rows of each weight matrix, the
// attention heads); creating threads per token would cost more than the work. So the threads are
// started once, then each parallel_for() wakes them, and the caller works too, as thread 0.
// Chunks of the loop are taken from a shared counter, so a thread that the OS (or the browser)
// pauses simply takes fewer chunks; which thread runs a chunk never changes what it computes.
//
// Idle threads do not burn a core: after a job they spin briefly (the next loop of the same token
// usually follows within microseconds) and then sleep on a condition variable until the next one.
// Plain std::thread: the same code runs natively and, built with -pthread, in wasm (where each
// thread is a Web Worker the host must have started beforehand).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
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

  // Calls fn(begin, end, thread) on chunks [begin, end) covering [0, n) exactly once, chunks of
  // `grain` items (the last may be shorter), on at most `max_threads` threads; `thread` < max_threads
  // tells a chunk which scratch buffers are its own. On one thread, or when n <= grain, one call
  // covers [0, n). Returns when every chunk is done. Allocates nothing. Not re-entrant: one loop at
  // a time, started from one thread.
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
  void work(uint32_t job, int thread);  // take chunks of `job` until none is left
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

  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;  // workers sleep here between jobs
  std::condition_variable done_;  // the caller sleeps here when the last chunks take long
  int sleepers_ = 0;              // workers asleep on wake_ (guarded by mutex_)
  bool caller_sleeping_ = false;  // guarded by mutex_
};

}  // namespace ringlm
