// Built with -ffp-contract=off (CMakeLists.txt): a fused x1 * x1 + x2 * x2 would round
// differently from numpy's own build and change which candidates the polar method accepts.
#include "core/legacy_normal.hpp"

#include <cmath>

namespace rcf {
namespace {

constexpr int kWords = 624;
constexpr int kShift = 397;  // the recurrence's middle term: key[i + 397]
constexpr uint32_t kTwist = 0x9908b0dfu;

uint32_t mix(uint32_t upper, uint32_t lower, uint32_t middle) {
    const uint32_t y = (upper & 0x80000000u) | (lower & 0x7fffffffu);
    return middle ^ (y >> 1) ^ ((0u - (y & 1u)) & kTwist);
}

// Regenerates all 624 words of the key in place (the MT19937 recurrence).
void twist(uint32_t* key) {
    int i = 0;
    for (; i < kWords - kShift; ++i) key[i] = mix(key[i], key[i + 1], key[i + kShift]);
    for (; i < kWords - 1; ++i) key[i] = mix(key[i], key[i + 1], key[i + kShift - kWords]);
    key[kWords - 1] = mix(key[kWords - 1], key[0], key[kShift - 1]);
}

uint32_t temper(uint32_t y) {
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

// Hands out tempered words; the key is twisted each time all 624 have been used.
class WordStream {
  public:
    explicit WordStream(LegacyNormalState& s) : s_(s) { refill_from(s_.pos); }

    uint32_t next() {
        if (pos_ == kWords) {
            twist(s_.key);
            refill_from(0);
        }
        return words_[pos_++];
    }

    // A double in [0, 1) from 53 bits of two words, as RandomState.random_sample.
    double next_double() {
        const uint32_t a = next() >> 5, b = next() >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    void save() { s_.pos = pos_; }

  private:
    void refill_from(int pos) {
        pos_ = pos;
        for (int i = pos; i < kWords; ++i) words_[i] = temper(s_.key[i]);
    }

    LegacyNormalState& s_;
    uint32_t words_[kWords];
    int pos_ = 0;
};

}  // namespace

void legacy_normals(LegacyNormalState& state, double* out, long n) {
    long i = 0;
    if (n > 0 && state.has_gauss) {
        out[i++] = state.gauss;
        state.has_gauss = false;
        state.gauss = 0.0;
    }
    WordStream words(state);
    while (i < n) {
        // Polar method: a point uniform in the unit disc (excluding the centre) gives two
        // independent normals; the second is returned first, the first is kept for later.
        double x1, x2, r2;
        do {
            x1 = 2.0 * words.next_double() - 1.0;
            x2 = 2.0 * words.next_double() - 1.0;
            r2 = x1 * x1 + x2 * x2;
        } while (r2 >= 1.0 || r2 == 0.0);
        const double f = std::sqrt(-2.0 * std::log(r2) / r2);
        out[i++] = f * x2;
        if (i < n) {
            out[i++] = f * x1;
        } else {
            state.has_gauss = true;
            state.gauss = f * x1;
        }
    }
    words.save();
}

}  // namespace rcf
