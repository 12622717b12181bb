// Built with -ffp-contract=off (CMakeLists.txt): a fused x1 * x1 + x2 * x2 would round
// differently from numpy's own build and change which candidates the polar method accepts.
#include "core/randomstate_normal.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "core/isa.hpp"
#include "core/thread_pool.hpp"
#include "kernels/randomstate_draw.hpp"

namespace rcf {
namespace {

using randomstate_draw::kWords;

// Accepted pairs gathered before their normals are computed (while the next chunk is gathered),
// and the chunks the ring between the two holds.
constexpr long kChunkPairs = 1 << 15;
constexpr long kRingChunks = 4;
// Pairs transformed a block at a time: the block's logarithms (libm's, one at a time), then
// its normals in one pass that vectorises (IEEE-exact either way: the values do not change).
constexpr long kTransformBlock = 2048;

// A double in [-1, 1) from two words, as 2 * RandomState.random_sample() - 1. (The shifted
// words fit an int32, whose conversion to double is cheaper than an unsigned one's.)
double symmetric_unit(uint32_t first, uint32_t second) {
    const double u = (static_cast<int32_t>(first >> 5) * 67108864.0 + static_cast<int32_t>(second >> 6)) /
                     9007199254740992.0;
    return 2.0 * u - 1.0;
}

// Points the polar method accepted, as three arrays: coordinates and squared radius.
struct Points {
    double* x1;
    double* x2;
    double* r2;
};

// Gathers `wanted` accepted points into `points`, reading the words from the state's position
// on and advancing it past the last candidate used. A candidate takes four words and may
// straddle a twist of the key: up to three words stay at the front of the buffer for the next
// key.
void gather_points(RandomStateNormalState& s, Points points, long wanted, const RandomStateDrawKernels& kt) {
    uint32_t words[kWords + 3];
    int carried = 0;  // words at the front of `words`, already consumed from an earlier key
    long found = 0;
    while (found < wanted) {
        if (s.pos == kWords) {
            kt.twist(s.key);
            s.pos = 0;
        }
        const int count = carried + (kWords - s.pos);
        kt.temper(s.key + s.pos, kWords - s.pos, words + carried);
        const int candidates = count / 4;
        int used = kt.scan(words, candidates, wanted, &found, points.x1, points.x2, points.r2);
        for (; used < candidates && found < wanted; ++used) {
            const uint32_t* w = words + 4 * used;
            const double x1 = symmetric_unit(w[0], w[1]);
            const double x2 = symmetric_unit(w[2], w[3]);
            const double r2 = x1 * x1 + x2 * x2;
            points.x1[found] = x1;
            points.x2[found] = x2;
            points.r2[found] = r2;
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

int no_vector_scan(const uint32_t*, int, long, long*, double*, double*, double*) { return 0; }

const RandomStateDrawKernels kPortable{&randomstate_draw::twist, &randomstate_draw::temper, &no_vector_scan,
                                  &randomstate_draw::polar_normals};

}  // namespace

void randomstate_normals(RandomStateNormalState& state, long n, int n_threads, const NormalSink& sink) {
    long i = 0;
    if (n > 0 && state.has_gauss) {
        sink(i++, &state.gauss, 1);
        state.has_gauss = false;
        state.gauss = 0.0;
    }
    const long total = (n - i + 1) / 2;  // accepted points still needed
    if (total == 0) return;
    const RandomStateDrawKernels* vector_build = active_randomstate_draw_kernels();
    const RandomStateDrawKernels& kt = vector_build ? *vector_build : kPortable;
    const long room = n - i;
    // The points are gathered in chunks, in order, by one task (the generator is sequential),
    // into a ring of slots; every task, the gatherer included whenever it would otherwise wait,
    // turns gathered chunks into normals. Each chunk's normals have a known place in out.
    const long chunks = (total + kChunkPairs - 1) / kChunkPairs;
    const long slots = std::min(chunks, kRingChunks);
    std::vector<double> ring(static_cast<size_t>(3 * slots * kChunkPairs));  // x1, x2, r2 per slot
    std::unique_ptr<std::atomic<bool>[]> finished(new std::atomic<bool>[chunks]);
    for (long c = 0; c < chunks; ++c) finished[c].store(false);
    std::atomic<long> gathered{0}, claimed{0};
    auto slot = [&](long c) {
        double* x1 = ring.data() + 3 * (c % slots) * kChunkPairs;
        return Points{x1, x1 + kChunkPairs, x1 + 2 * kChunkPairs};
    };
    auto size = [&](long c) { return std::min(kChunkPairs, total - c * kChunkPairs); };

    // Polar method: each accepted point gives two normals; the second coordinate's comes first.
    auto transform = [&](long c) {
        const Points points = slot(c);
        for (long p0 = 0; p0 < size(c); p0 += kTransformBlock) {
            const long p1 = std::min(size(c), p0 + kTransformBlock);
            double f[kTransformBlock], values[2 * kTransformBlock];
            for (long p = p0; p < p1; ++p) f[p - p0] = std::log(points.r2[p]);  // libm, as numpy
            kt.normals(f, points.r2 + p0, points.x1 + p0, points.x2 + p0, p1 - p0, values);
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
                gather_points(state, slot(c), size(c), kt);
                gathered.store(c + 1, std::memory_order_release);
            }
        }
        while (claimed.load() < chunks)
            if (!transform_one()) std::this_thread::yield();
    });
    if (2 * total > room) {  // an odd count: the last point's first normal waits in the state
        const Points points = slot(chunks - 1);
        const long last = size(chunks - 1) - 1;
        const double log_r2 = std::log(points.r2[last]);
        double pair[2];
        randomstate_draw::polar_normals(&log_r2, points.r2 + last, points.x1 + last, points.x2 + last, 1, pair);
        state.has_gauss = true;
        state.gauss = pair[1];
    }
}

void randomstate_normals(RandomStateNormalState& state, double* out, long n, int n_threads) {
    randomstate_normals(state, n, n_threads, [out](long first, const double* values, long count) {
        std::copy(values, values + count, out + first);
    });
}

}  // namespace rcf
