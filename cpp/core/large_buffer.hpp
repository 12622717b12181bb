// Uninitialised, aligned scratch memory for large temporary matrices.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace rcf {

// Buffers of a few MiB and more are aligned to 2 MiB and advised for transparent huge pages:
// where the kernel grants them, the first touch of a fresh 50 MB buffer costs about a third of
// what it does in 4 KiB pages. Memory is left uninitialised; callers write before they read.
template <typename T>
class LargeBuffer {
  public:
    explicit LargeBuffer(size_t count) {
        constexpr size_t kHuge = size_t(2) << 20;
        const size_t bytes = count * sizeof(T);
        const size_t align = bytes >= 2 * kHuge ? kHuge : 64;
        const size_t rounded = (bytes + align - 1) / align * align;
        data_ = static_cast<T*>(std::aligned_alloc(align, rounded > 0 ? rounded : align));
        if (!data_) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (align == kHuge) madvise(data_, rounded, MADV_HUGEPAGE);  // advice only: may be refused
#endif
    }
    ~LargeBuffer() { std::free(data_); }
    LargeBuffer(const LargeBuffer&) = delete;
    LargeBuffer& operator=(const LargeBuffer&) = delete;
    LargeBuffer(LargeBuffer&& other) noexcept : data_(other.data_) { other.data_ = nullptr; }

    T* data() { return data_; }
    const T* data() const { return data_; }
    T& operator[](size_t i) { return data_[i]; }

  private:
    T* data_;
};

}  // namespace rcf
