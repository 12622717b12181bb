// The native core's one aligned buffer type: uninitialised (or zeroed on request) memory,
// 64-byte aligned, with large blocks reused across calls.
#pragma once

#include <cstddef>
#include <cstring>

namespace rcf {

// Blocks of at least kPooledBytes are aligned to 2 MiB and advised for transparent huge pages,
// and when freed they are kept (up to kPoolCapBytes in all) for the next request of the same
// size. Fresh memory is not free here: the kernel zeroes every page at its first touch, and
// for huge pages it may first compact memory, which can cost tens of milliseconds per 70 MB and
// make the ELM's timings erratic; the ELM asks for the same few sizes call after call.
constexpr size_t kPooledBytes = size_t(4) << 20;
constexpr size_t kPoolCapBytes = size_t(512) << 20;

void* acquire_block(size_t bytes);
void release_block(void* block, size_t bytes);

// Memory is left uninitialised (a reused block holds whatever it held): write before reading,
// or make the buffer with zeroed().
template <typename T>
class LargeBuffer {
  public:
    explicit LargeBuffer(size_t count)
        : bytes_(count * sizeof(T)), data_(static_cast<T*>(acquire_block(bytes_))) {}
    static LargeBuffer zeroed(size_t count) {
        LargeBuffer buffer(count);
        std::memset(static_cast<void*>(buffer.data_), 0, buffer.bytes_);
        return buffer;
    }
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
