// numpy's RandomState (MT19937) normal stream (MT19937 and the polar method), reproduced bit for
// bit so the ELM's faithful N(0, 1) layer draw runs without a per-value call overhead.
#pragma once

#include <cstdint>
#include <functional>

namespace rcf {

// The generator state as RandomState.get_state() gives it: the 624-word key and the position
// in it, and the second value of the last polar pair when one is cached.
struct RandomStateNormalState {
    uint32_t key[624];
    int pos;
    bool has_gauss;
    double gauss;
};

// Where the values go: sink(first, values, count) receives values first .. first + count - 1
// of the draw. Runs come in any order, from up to n_threads threads at once, never overlapping.
using NormalSink = std::function<void(long first, const double* values, long count)>;

// Draws the next n values of RandomState.standard_normal (equal to RandomState.normal(0, 1))
// into sink and advances the state exactly as numpy would. The words and the accepted points
// are found in order; their normals are computed on up to n_threads threads.
void randomstate_normals(RandomStateNormalState& state, long n, int n_threads, const NormalSink& sink);

// The same into out[0, n).
void randomstate_normals(RandomStateNormalState& state, double* out, long n, int n_threads);

}  // namespace rcf
