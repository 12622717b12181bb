// A small persistent pool of std::threads for the heavy calls (no OpenMP).
#pragma once
#include <functional>

namespace rcf {

// Threads to use for a request: n_threads > 0 is taken as is, 0 means every core this process
// may run on.
int resolve_threads(int n_threads);

// Runs fn(task, worker) for every task in [0, n_tasks) on up to n_threads workers (the caller is
// worker 0), and returns when all are done. Workers take tasks in order from a shared counter,
// so which worker runs a task varies but the set of tasks does not: callers keep results per
// task, never per worker, when the outcome must not depend on the thread count. The first
// exception thrown by a task is rethrown here after the others finish.
void parallel_for(long n_tasks, int n_threads, const std::function<void(long, int)>& fn);

}  // namespace rcf
