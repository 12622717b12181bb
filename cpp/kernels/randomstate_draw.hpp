// The RandomState normal draw's steps that vectorise (MT19937's key regeneration and tempering,
// the polar method's normals), shared in source by the portable draw (core/randomstate_normal.cpp)
// and its AVX-512 build (randomstate_draw_avx512.cpp). Everything is static: each file keeps its
// own build, so code compiled for one instruction set is never merged into another's. Both
// files are built without multiply-add contraction, as numpy's own generator is.
#pragma once

#include <cmath>
#include <cstdint>

namespace rcf {
namespace randomstate_draw {

constexpr int kWords = 624;
constexpr int kShift = 397;  // the recurrence's middle term: key[i + 397]
constexpr uint32_t kTwist = 0x9908b0dfu;

static inline uint32_t mix(uint32_t upper, uint32_t lower, uint32_t middle) {
    const uint32_t y = (upper & 0x80000000u) | (lower & 0x7fffffffu);
    return middle ^ (y >> 1) ^ ((0u - (y & 1u)) & kTwist);
}

// Regenerates all 624 words of the key in place (the MT19937 recurrence). The first two loops
// read only words at least one vector ahead or 227 behind, so they vectorise.
static inline void twist(uint32_t* key) {
    int i = 0;
    for (; i < kWords - kShift; ++i) key[i] = mix(key[i], key[i + 1], key[i + kShift]);
    for (; i < kWords - 1; ++i) key[i] = mix(key[i], key[i + 1], key[i + kShift - kWords]);
    key[kWords - 1] = mix(key[kWords - 1], key[0], key[kShift - 1]);
}

static inline void temper(const uint32_t* key, int count, uint32_t* out) {
    for (int i = 0; i < count; ++i) {
        uint32_t y = key[i];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        out[i] = y ^ (y >> 18);
    }
}

// sqrt(-2 log(r2) / r2) times each coordinate, the second's first: the polar method's two
// normals from an accepted point, given log(r2) (libm's, as numpy; it does not vectorise).
static inline void polar_normals(const double* log_r2, const double* r2, const double* x1,
                                 const double* x2, long n, double* values) {
    for (long p = 0; p < n; ++p) {
        const double f = std::sqrt(-2.0 * log_r2[p] / r2[p]);
        values[2 * p] = f * x2[p];
        values[2 * p + 1] = f * x1[p];
    }
}

}  // namespace randomstate_draw
}  // namespace rcf
