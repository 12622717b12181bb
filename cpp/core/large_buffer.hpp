// Uninitialised, aligned memory for large matrices, reused across calls.
#pragma once

#include <cstddef>

namespace rcf {

// Blocks of at least kPooledBytes are aligned to 2 MiB and advised for transparent huge pages,
// and when freed they are kept (up to kPoolCapBytes in all) for the next request of the same
// size. Fresh memory is not free here: the kernel zeroes every page at its first touch, and
// for huge pages it may first compact memory, which cost 10-100 ms per 70 MB in this VM and made
// the ELM's timings erratic; the ELM asks for the same few sizes call after call.
constexpr size_t kPooledBytes = size_t(4) << 20;
constexpr size_t kPoolCapBytes = size_t(512) << 20;

void* acquire_block(size_t bytes);
void release_block(void* block, size_t bytes);

// Memory is left uninitialised (a reused block holds whatever it held): write before reading.
template <typename T>
class LargeBuffer {
  public:
    explicit LargeBuffer(size_t count)
        : bytes_(count * sizeof(T)), data_(static_cast<T*>(acquire_block(bytes_))) {}
    ~LargeBuffer() { release_block(data_, bytes_); }
    LargeBuffer(const LargeBuffer&) = delete;
    LargeBuffer& operator=(const LargeBuffer&) = delete;
    LargeBuffer(LargeBuffer&& other) noexcept : bytes_(other.bytes_), data_(other.data_) {
        other.data_ = nullptr;
    }

    T* data() { return data_; }
    const T* data() const { return data_; }
    T& operator[](size_t i) { return data_[i]; }

  private:
    size_t bytes_;
    T* data_;
};

}  // namespace rcf
