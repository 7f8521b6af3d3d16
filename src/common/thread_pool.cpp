#include "common/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace ringlm {

namespace {

// How long a thread that ran out of work keeps checking for more before it sleeps. Within one
// token the next loop comes after a few microseconds of single-threaded work (a norm, RoPE), which
// is far less than the cost of a sleep and wake-up; between tokens the threads soon sleep. After
// the first few microseconds the spinning thread offers its core to any other runnable thread at
// every check: on a machine with more runnable threads than cores, a spinning thread must not keep
// out the thread it is waiting for (or a neighbour's).
constexpr auto kSpin = std::chrono::microseconds(50);
constexpr auto kSpinWithoutYield = std::chrono::microseconds(4);

constexpr int kMaxThreads = 255;
constexpr int64_t kMaxItems = int64_t(1) << 31;  // claim_'s low half holds an item index
constexpr uint64_t kClosed = 0xffffffffu;          // an item index past every job's end

inline uint32_t job_of(uint64_t claim) { return uint32_t(claim >> 32); }
inline int64_t item_of(uint64_t claim) { return int64_t(claim & 0xffffffffu); }

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until ready() or kSpin has passed; true if ready.
template <typename Ready>
bool spin_until(Ready ready) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1;; i++) {
    if (ready()) return true;
    cpu_relax();
    if (i % 64 == 0) {
      const auto spun = std::chrono::steady_clock::now() - start;
      if (spun >= kSpin) return ready();
      if (spun >= kSpinWithoutYield) std::this_thread::yield();
    }
  }
}

// Items of the next chunk when `left` items are left: a share of them, a multiple of grain.
inline int64_t chunk_items(int64_t left, int64_t grain, int threads) {
  return std::max<int64_t>(1, left / (grain * 2 * threads)) * grain;
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  threads = std::clamp(threads, 1, kMaxThreads);
#ifdef RINGLM_SINGLE_THREADED
  threads = 1;  // a build without threads (the single-threaded wasm module)
#endif
  workers_.reserve(size_t(threads - 1));
  for (int t = 1; t < threads; t++) workers_.emplace_back([this, t] { worker_main(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true, std::memory_order_release);
  }
  wake_.notify_all();
  for (std::thread& w : workers_) w.join();
}

void ThreadPool::run(int64_t n, int64_t grain, int max_threads, Task task, const void* fn) {
  if (n > kMaxItems) {
    task(fn, 0, n, 0);
    return;
  }
  // First close the last job under a new number: a thread that read the old claim before the new
  // job's fields were written could otherwise still advance it, and run a chunk of the new job
  // counted as the old one's. Then write the fields, then open the job under the next number.
  const uint32_t closed = job_of(claim_.load(std::memory_order_relaxed)) + 1, job = closed + 1;
  claim_.store(uint64_t(closed) << 32 | kClosed, std::memory_order_seq_cst);
  // Release: a thread that reads any of these also sees the closed claim (see work()).
  task_.store(task, std::memory_order_release);
  fn_.store(fn, std::memory_order_release);
  n_.store(n, std::memory_order_release);
  grain_.store(grain, std::memory_order_release);
  max_threads_.store(max_threads, std::memory_order_release);
  done_items_.store(0, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    claim_.store(uint64_t(job) << 32, std::memory_order_release);
    if (sleepers_ > 0) wake_.notify_all();
  }
  const auto [chunks, items] = work(job, 0);
  stats_.jobs++;
  stats_.items += uint64_t(n);
  stats_.caller_chunks += chunks;
  stats_.caller_items += uint64_t(items);
  const auto finished = [&] { return done_items_.load(std::memory_order_acquire) == n; };
  if (finished()) return;
  const auto waited_from = std::chrono::steady_clock::now();
  if (!spin_until(finished)) {
    std::unique_lock<std::mutex> lock(mutex_);
    caller_sleeping_ = true;
    done_.wait(lock, finished);
    caller_sleeping_ = false;
    stats_.caller_sleeps++;
  }
  stats_.caller_wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - waited_from).count();
}

ThreadPool::Stats ThreadPool::stats() const { return stats_; }

void ThreadPool::reset_stats() {
  stats_ = Stats();
  worker_chunks_.store(0, std::memory_order_relaxed);
}

std::pair<uint64_t, int64_t> ThreadPool::work(uint32_t job, int thread) {
  uint64_t chunks = 0;
  int64_t items = 0;
  uint64_t claim = claim_.load(std::memory_order_acquire);
  for (;;) {
    if (job_of(claim) != job) break;  // a later job: this one is over
    // Read while the job may still be running. If these are already the next job's, the exchange
    // below fails: whoever wrote them had closed this job's claim first.
    const int threads = max_threads_.load(std::memory_order_acquire);
    if (thread >= threads) break;
    const int64_t n = n_.load(std::memory_order_acquire), grain = grain_.load(std::memory_order_acquire);
    const int64_t begin = item_of(claim);
    if (begin >= n) break;
    const int64_t end = std::min(begin + chunk_items(n - begin, grain, threads), n);
    if (!claim_.compare_exchange_weak(claim, (uint64_t(job) << 32) | uint64_t(end), std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      continue;  // another thread took it (claim now holds what it left)
    }
    task_.load(std::memory_order_relaxed)(fn_.load(std::memory_order_relaxed), begin, end, thread);
    chunks++;
    items += end - begin;
    if (done_items_.fetch_add(end - begin, std::memory_order_acq_rel) + (end - begin) == n && thread != 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (caller_sleeping_) done_.notify_one();
    }
    claim = claim_.load(std::memory_order_acquire);
  }
  if (thread != 0 && chunks) worker_chunks_.fetch_add(chunks, std::memory_order_relaxed);
  return {chunks, items};
}

void ThreadPool::worker_main(int thread) {
  uint32_t seen = 0;
  const auto job_or_stop = [&] {
    return job_of(claim_.load(std::memory_order_acquire)) != seen || stop_.load(std::memory_order_acquire);
  };
  for (;;) {
    if (!spin_until(job_or_stop)) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_++;
      wake_.wait(lock, job_or_stop);
      sleepers_--;
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = job_of(claim_.load(std::memory_order_acquire));
    work(seen, thread);
  }
}

}  // namespace ringlm
