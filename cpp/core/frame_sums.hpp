// Per-frame channel sums of a feature map's rows, for frame embeddings: the reduction that
// python/randcnn_fast/frames.py defines, over the rows one time chunk owns.
#pragma once

#include <cstdint>

namespace rcf {

struct FrameSumArgs {
    const float* rows;  // [n_rows][cols][channels]: positions first, first + 1, ... of a map
    long n_rows, cols, channels;
    long first;         // the position of rows[0]
    const int64_t* lo;  // [n_frames]: frame i sums positions [lo[i], hi[i]); both
    const int64_t* hi;  // non-decreasing, lo[i] < hi[i]
    long n_frames;
    float* totals;      // [n_frames][channels], added to
};

// For every frame whose positions meet [first, first + n_rows), adds the sum of the rows they
// share (over frequency too) to the frame's totals. One pass over the rows keeps running
// float64 sums; a frame's sum is the difference of the running sums where it ends and where
// it starts. Throws std::invalid_argument when, among those frames, lo or hi decrease or a
// range is empty.
void add_frame_sums(const FrameSumArgs& args);

}  // namespace rcf
