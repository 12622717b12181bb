// numpy's legacy RandomState normal stream (MT19937 and the polar method), reproduced bit for
// bit so the ELM's faithful N(0, 1) layer draw runs without a per-value call overhead.
#pragma once

#include <cstdint>

namespace rcf {

// The generator state as RandomState.get_state() gives it: the 624-word key and the position
// in it, and the second value of the last polar pair when one is cached.
struct LegacyNormalState {
    uint32_t key[624];
    int pos;
    bool has_gauss;
    double gauss;
};

// Fills out[0, n) with the next n values of RandomState.standard_normal (equal to
// RandomState.normal(0, 1)) and advances the state exactly as numpy would. The words and the
// accepted points are found in order; their normals are computed on up to n_threads threads.
void legacy_normals(LegacyNormalState& state, double* out, long n, int n_threads);

}  // namespace rcf
