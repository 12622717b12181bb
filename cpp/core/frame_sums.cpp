// The frame reduction's driver: snapshots of running sums where frames start, differences
// where they end, the sums themselves from the active kernels.
#include "core/frame_sums.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "core/isa.hpp"

namespace rcf {

void add_frame_sums(const FrameSumArgs& a) {
    const long last = a.first + a.n_rows;
    // The frames meeting the rows: those ending after `first` and starting before `last`.
    const long begin = std::upper_bound(a.hi, a.hi + a.n_frames, a.first) - a.hi;
    const long end = std::lower_bound(a.lo, a.lo + a.n_frames, last) - a.lo;
    if (a.n_rows == 0 || begin >= end) return;
    for (long i = begin; i < end; ++i)
        if (a.lo[i] >= a.hi[i] || a.hi[i] <= a.first || a.lo[i] >= last ||
            (i > begin && (a.lo[i] < a.lo[i - 1] || a.hi[i] < a.hi[i - 1])))
            throw std::invalid_argument(
                "frame sums: position ranges must be non-empty and non-decreasing");
    // Positions within the rows, from int64 ranges (long may be 32 bits).
    auto start = [&](long i) {
        return static_cast<long>(std::max<int64_t>(a.lo[i], a.first) - a.first);
    };
    auto stop = [&](long i) {
        return static_cast<long>(std::min<int64_t>(a.hi[i], last) - a.first);
    };
    // Frames end in the order they start, so the running sums where open frames started fit
    // a ring as long as the most frames open at once.
    long slots = 1;
    for (long j = begin, ended = begin; j < end; ++j) {
        while (stop(ended) <= start(j)) ++ended;
        slots = std::max(slots, j - ended + 1);
    }
    const long channels = a.channels, row_floats = a.cols * channels;
    std::vector<double> running(channels, 0.0), started(slots * channels);
    const KernelTable& kt = active_kernels();
    long opened = begin, closed = begin, row = 0;
    while (closed < end) {
        for (; closed < opened && stop(closed) == row; ++closed) {
            const double* at_start = started.data() + (closed % slots) * channels;
            float* total = a.totals + closed * channels;
            for (long c = 0; c < channels; ++c)
                total[c] = static_cast<float>(total[c] + (running[c] - at_start[c]));
        }
        for (; opened < end && start(opened) == row; ++opened)
            std::copy(running.begin(), running.end(),
                      started.begin() + (opened % slots) * channels);
        if (closed == end) break;
        const long next = std::min(opened < end ? start(opened) : a.n_rows, stop(closed));
        if (closed < opened)  // rows no open frame covers need no sum
            kt.sum_positions(a.rows + row * row_floats, (next - row) * a.cols, channels,
                             running.data());
        row = next;
    }
}

}  // namespace rcf
