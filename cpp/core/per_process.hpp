// One object of a kind per process, for the native core's process-wide pools.
#pragma once

#include <mutex>

#include <unistd.h>

namespace rcf {

// The T of this process, made on first use. A forked child inherits the parent's object but
// not its threads, nor a mutex some thread held at the fork, so each process makes its own.
// Never destroyed: detached threads and late-released buffers may use it at interpreter exit.
template <typename T>
T& per_process() {
    static std::mutex guard;
    static T* instance = nullptr;
    static pid_t owner = 0;
    std::lock_guard<std::mutex> lock(guard);
    if (!instance || owner != getpid()) {
        instance = new T();
        owner = getpid();
    }
    return *instance;
}

}  // namespace rcf
