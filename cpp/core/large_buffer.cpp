// The pool behind LargeBuffer: aligned blocks, large ones kept for reuse up to a cap.
#include "core/large_buffer.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>
#include <vector>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/per_process.hpp"

namespace rcf {
namespace {

constexpr size_t kHuge = size_t(2) << 20;

// Freed large blocks by rounded size, oldest first; `held` is their total.
struct Pool {
    std::mutex mutex;
    std::vector<std::pair<size_t, void*>> blocks;
    size_t held = 0;
};

size_t rounded(size_t bytes) {
    const size_t align = bytes >= kPooledBytes ? kHuge : 64;
    return (std::max<size_t>(bytes, 1) + align - 1) / align * align;
}

}  // namespace

void* acquire_block(size_t bytes) {
    const size_t size = rounded(bytes);
    if (bytes >= kPooledBytes) {
        Pool& p = per_process<Pool>();
        std::lock_guard<std::mutex> lock(p.mutex);
        for (size_t i = 0; i < p.blocks.size(); ++i) {
            if (p.blocks[i].first == size) {
                void* block = p.blocks[i].second;
                p.blocks.erase(p.blocks.begin() + static_cast<long>(i));
                p.held -= size;
                return block;
            }
        }
    }
    void* block = std::aligned_alloc(bytes >= kPooledBytes ? kHuge : 64, size);
    if (!block) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= kPooledBytes) madvise(block, size, MADV_HUGEPAGE);  // advice only: may be refused
#endif
    return block;
}

void release_block(void* block, size_t bytes) {
    if (!block) return;
    if (bytes >= kPooledBytes) {
        const size_t size = rounded(bytes);
        Pool& p = per_process<Pool>();
        std::lock_guard<std::mutex> lock(p.mutex);
        if (size <= kPoolCapBytes) {
            // Make room by freeing the oldest blocks; the newest are the likeliest to recur.
            while (p.held + size > kPoolCapBytes) {
                std::free(p.blocks.front().second);
                p.held -= p.blocks.front().first;
                p.blocks.erase(p.blocks.begin());
            }
            p.blocks.emplace_back(size, block);
            p.held += size;
            return;
        }
    }
    std::free(block);
}

}  // namespace rcf
