// Built with -ffp-contract=off (CMakeLists.txt): a fused x1 * x1 + x2 * x2 would round
// differently from numpy's own build and change which candidates the polar method accepts.
#include "core/legacy_normal.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "core/thread_pool.hpp"

namespace rcf {
namespace {

constexpr int kWords = 624;
constexpr int kShift = 397;  // the recurrence's middle term: key[i + 397]
constexpr uint32_t kTwist = 0x9908b0dfu;
// Accepted pairs gathered before their normals are computed (while the next chunk is gathered),
// and the chunks the ring between the two holds.
constexpr long kChunkPairs = 1 << 15;
constexpr long kRingChunks = 4;
// Pairs transformed a block at a time: the block's square roots and divisions vectorise apart
// from its logarithms (IEEE-exact either way, so the values do not change).
constexpr long kTransformBlock = 2048;

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

// A double in [-1, 1) from two words, as 2 * RandomState.random_sample() - 1.
double symmetric_unit(uint32_t first, uint32_t second) {
    const double u = ((first >> 5) * 67108864.0 + (second >> 6)) / 9007199254740992.0;
    return 2.0 * u - 1.0;
}

// A point the polar method accepted: its coordinates and squared radius.
struct Pair {
    double x1, x2, r2;
};

// Gathers `wanted` accepted pairs into `pairs`, reading the words from the state's position on
// and advancing it past the last candidate used. A candidate takes four words and may straddle
// a twist of the key: up to three words stay at the front of the buffer for the next key.
void gather_pairs(LegacyNormalState& s, Pair* pairs, long wanted) {
    uint32_t words[kWords + 3];
    int carried = 0;  // words at the front of `words`, already consumed from an earlier key
    long found = 0;
    while (found < wanted) {
        if (s.pos == kWords) {
            twist(s.key);
            s.pos = 0;
        }
        const int count = carried + (kWords - s.pos);
        for (int i = s.pos; i < kWords; ++i) words[carried + i - s.pos] = temper(s.key[i]);
        const int candidates = count / 4;
        int used = 0;  // candidates consumed
        for (; used < candidates && found < wanted; ++used) {
            const uint32_t* w = words + 4 * used;
            const double x1 = symmetric_unit(w[0], w[1]);
            const double x2 = symmetric_unit(w[2], w[3]);
            const double r2 = x1 * x1 + x2 * x2;
            pairs[found] = {x1, x2, r2};
            found += (r2 < 1.0 && r2 != 0.0);  // kept only when accepted: written, not counted
        }
        if (found == wanted) {  // stopped inside this key: the position follows the last candidate
            s.pos += 4 * used - carried;
            return;
        }
        const int left = count - 4 * candidates;
        for (int i = 0; i < left; ++i) words[i] = words[4 * candidates + i];
        carried = left;
        s.pos = kWords;
    }
}

}  // namespace

void legacy_normals(LegacyNormalState& state, long n, int n_threads, const NormalSink& sink) {
    long i = 0;
    if (n > 0 && state.has_gauss) {
        sink(i++, &state.gauss, 1);
        state.has_gauss = false;
        state.gauss = 0.0;
    }
    const long total = (n - i + 1) / 2;  // accepted points still needed
    if (total == 0) return;
    const long room = n - i;
    // The points are gathered in chunks, in order, by one task (the generator is sequential),
    // into a ring of slots; every task, the gatherer included whenever it would otherwise wait,
    // turns gathered chunks into normals. Each chunk's normals have a known place in out.
    const long chunks = (total + kChunkPairs - 1) / kChunkPairs;
    const long slots = std::min(chunks, kRingChunks);
    std::vector<Pair> ring(static_cast<size_t>(slots * kChunkPairs));
    std::unique_ptr<std::atomic<bool>[]> finished(new std::atomic<bool>[chunks]);
    for (long c = 0; c < chunks; ++c) finished[c].store(false);
    std::atomic<long> gathered{0}, claimed{0};
    auto slot = [&](long c) { return ring.data() + (c % slots) * kChunkPairs; };
    auto size = [&](long c) { return std::min(kChunkPairs, total - c * kChunkPairs); };

    // Polar method: each accepted point gives two normals; the second coordinate's comes first.
    auto transform = [&](long c) {
        const Pair* pairs = slot(c);
        for (long p0 = 0; p0 < size(c); p0 += kTransformBlock) {
            const long p1 = std::min(size(c), p0 + kTransformBlock);
            double f[kTransformBlock], values[2 * kTransformBlock];
            for (long p = p0; p < p1; ++p) f[p - p0] = std::log(pairs[p].r2);  // libm, as numpy
            for (long p = p0; p < p1; ++p) f[p - p0] = std::sqrt(-2.0 * f[p - p0] / pairs[p].r2);
            for (long p = p0; p < p1; ++p) {
                values[2 * (p - p0)] = f[p - p0] * pairs[p].x2;
                values[2 * (p - p0) + 1] = f[p - p0] * pairs[p].x1;
            }
            const long first = 2 * (c * kChunkPairs + p0);  // counted from i
            sink(i + first, values, std::min(2 * (p1 - p0), room - first));
        }
        finished[c].store(true, std::memory_order_release);
    };
    // Transforms the oldest gathered chunk nobody has claimed; false if there is none now.
    auto transform_one = [&] {
        long c = claimed.load();
        while (c < gathered.load(std::memory_order_acquire))
            if (claimed.compare_exchange_weak(c, c + 1)) {
                transform(c);
                return true;
            }
        return false;
    };
    parallel_for(resolve_threads(n_threads), n_threads, [&](long task, int) {
        if (task == 0) {
            for (long c = 0; c < chunks; ++c) {
                while (c >= slots && !finished[c - slots].load(std::memory_order_acquire))
                    if (!transform_one()) std::this_thread::yield();  // the slot is being read
                gather_pairs(state, slot(c), size(c));
                gathered.store(c + 1, std::memory_order_release);
            }
        }
        while (claimed.load() < chunks)
            if (!transform_one()) std::this_thread::yield();
    });
    if (2 * total > room) {  // an odd count: the last point's first normal waits in the state
        const Pair& q = slot(chunks - 1)[size(chunks - 1) - 1];
        state.has_gauss = true;
        state.gauss = std::sqrt(-2.0 * std::log(q.r2) / q.r2) * q.x1;
    }
}

void legacy_normals(LegacyNormalState& state, double* out, long n, int n_threads) {
    legacy_normals(state, n, n_threads, [out](long first, const double* values, long count) {
        std::copy(values, values + count, out + first);
    });
}

}  // namespace rcf
