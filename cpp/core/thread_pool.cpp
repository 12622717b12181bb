// The persistent thread pool behind parallel_for, and the count of usable cores.
#include "core/thread_pool.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "core/per_process.hpp"

namespace rcf {
namespace {

// How long a helper that finished its tasks, and a caller waiting for its helpers, keep polling
// before they sleep on the condition variable. A small network's layers follow each other a
// few tens of microseconds apart, about what waking a sleeping thread takes. Measured on Zen 5,
// 2 threads, one small clip: 30 us made the networks 1.02-1.15x faster on a quiet machine and
// 1-7 % slower beside another busy process; 100 us gained 1.03-1.18x but lost 4-16 %.
constexpr std::chrono::microseconds kSpin{30};

// Polls `ready` for up to kSpin; true as soon as it holds.
template <typename Ready>
bool spin_until(Ready ready) {
    const auto end = std::chrono::steady_clock::now() + kSpin;
    do {
        for (int i = 0; i < 64; ++i) {
            if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
            _mm_pause();
#else
            std::this_thread::yield();
#endif
        }
    } while (std::chrono::steady_clock::now() < end);
    return ready();
}

class Pool {
  public:
    // Runs one job at a time; concurrent callers queue on call_mutex_.
    void run(long n_tasks, int n_workers, const std::function<void(long, int)>& fn) {
        std::lock_guard<std::mutex> call_lock(call_mutex_);
        grow(n_workers - 1);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            fn_ = &fn;
            n_tasks_ = n_tasks;
            next_task_.store(0);
            helpers_wanted_ = n_workers - 1;
            helpers_running_ = 0;
            closed_ = false;
            error_ = nullptr;
            ++generation_;
        }
        wake_.notify_all();
        work(0);
        // Every task is taken. A helper that has not joined yet no longer will, so the caller
        // waits only for helpers still running a task, never for a sleeping one to wake up
        // (on a busy host that wake-up can take longer than a small layer's whole job).
        {
            std::lock_guard<std::mutex> lock(mutex_);
            closed_ = true;
        }
        spin_until([this] { return helpers_running_.load(std::memory_order_acquire) == 0; });
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [this] { return helpers_running_ == 0; });
        fn_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

  private:
    void grow(int n_helpers) {
        while (static_cast<int>(threads_.size()) < n_helpers) {
            const int index = static_cast<int>(threads_.size()) + 1;
            threads_.emplace_back([this, index] { helper_loop(index); });
            threads_.back().detach();  // the pool lives for the whole process
        }
    }

    void helper_loop(int index) {
        long seen = 0;
        for (;;) {
            spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return generation_ != seen; });
                seen = generation_;
                if (index > helpers_wanted_ || closed_) continue;
                ++helpers_running_;
            }
            work(index);
            std::lock_guard<std::mutex> lock(mutex_);
            if (--helpers_running_ == 0) done_.notify_one();
        }
    }

    void work(int worker) {
        for (long task; (task = next_task_.fetch_add(1)) < n_tasks_;) {
            try {
                (*fn_)(task, worker);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                if (!error_) error_ = std::current_exception();
                next_task_.store(n_tasks_);  // stop handing out work
            }
        }
    }

    std::mutex call_mutex_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::vector<std::thread> threads_;
    const std::function<void(long, int)>* fn_ = nullptr;
    long n_tasks_ = 0;
    std::atomic<long> next_task_{0};
    // Written under mutex_; atomic so that spinning threads may read them without it.
    // helpers_running_ counts the helpers that joined the job; closed_ is set once every
    // task is taken, after which none joins.
    bool closed_ = false;
    int helpers_wanted_ = 0;
    std::atomic<int> helpers_running_{0};
    std::atomic<long> generation_{0};
    std::exception_ptr error_;
};

}  // namespace

int resolve_threads(int n_threads) {
    if (n_threads > 0) return n_threads;
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
#endif
    const unsigned hw = std::thread::hardware_concurrency();
    return hw > 0 ? static_cast<int>(hw) : 1;
}

void parallel_for(long n_tasks, int n_threads, const std::function<void(long, int)>& fn) {
    if (n_tasks <= 0) return;
    int workers = resolve_threads(n_threads);
    if (workers > n_tasks) workers = static_cast<int>(n_tasks);
    if (workers <= 1) {
        for (long task = 0; task < n_tasks; ++task) fn(task, 0);
        return;
    }
    per_process<Pool>().run(n_tasks, workers, fn);
}

}  // namespace rcf
