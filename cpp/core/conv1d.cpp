#include "core/conv1d.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/isa.hpp"
#include "core/thread_pool.hpp"

namespace rcf {
namespace {

// Conv rows per task. Fixed (never derived from the thread count) so that the per-tile partial
// sums, and therefore the result, are the same for any number of threads.
constexpr long kTileRows = 96;
// Reduction depth per microkernel call: a kKc x nr weight panel stays in L1.
constexpr long kKc = 256;

// 64-byte aligned float storage, so weight panels and scratch rows start on cache lines.
class AlignedFloats {
  public:
    explicit AlignedFloats(size_t n)
        : data_(static_cast<float*>(::operator new[](std::max<size_t>(n, 1) * sizeof(float),
                                                     std::align_val_t(64)))) {
        std::memset(data_, 0, std::max<size_t>(n, 1) * sizeof(float));
    }
    ~AlignedFloats() { ::operator delete[](data_, std::align_val_t(64)); }
    AlignedFloats(const AlignedFloats&) = delete;
    AlignedFloats& operator=(const AlignedFloats&) = delete;
    float* get() const { return data_; }

  private:
    float* data_;
};

long round_up(long n, long multiple) { return (n + multiple - 1) / multiple * multiple; }

// Weights [c_out][c_in][k] -> panels [c_out/nr][k*c_in][nr], zero-padded to whole panels. Row
// (tap*c_in + ci) of a panel matches element (tap*c_in + ci) of an input window, because a
// window of k consecutive channels-last rows is one contiguous run.
void pack_weights(const Conv1dArgs& a, long ktot, int nr, float* packed) {
    const long panels = round_up(a.c_out, nr) / nr;
    for (long j = 0; j < panels; ++j)
        for (int n = 0; n < nr; ++n) {
            const long co = j * nr + n;
            if (co >= a.c_out) continue;
            for (int ci = 0; ci < a.c_in; ++ci)
                for (int tap = 0; tap < a.k; ++tap)
                    packed[(j * ktot + tap * a.c_in + ci) * nr + n] =
                        a.w[(co * a.c_in + ci) * a.k + tap];
        }
}

void check(bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument("conv1d: " + message);
}

}  // namespace

long conv1d_output_length(long t_in, int k, int stride, int pad_left, int pad_right) {
    const long padded = t_in + pad_left + pad_right;
    return padded < k ? 0 : (padded - k) / stride + 1;
}

long conv1d_pooled_length(long t_in, int k, int stride, int pad_left, int pad_right, int pool) {
    return conv1d_output_length(t_in, k, stride, pad_left, pad_right) / pool;
}

void conv1d(const Conv1dArgs& a) {
    check(a.x && a.w && a.bias && a.sums, "null pointer");
    check(a.t_in >= 1 && a.c_in >= 1 && a.c_out >= 1, "empty input or no channels");
    check(a.k >= 1 && a.stride >= 1 && a.pool >= 1, "kernel, stride and pool must be >= 1");
    check(a.pad_left >= 0 && a.pad_right >= 0, "padding must be >= 0");
    const long pooled = conv1d_pooled_length(a.t_in, a.k, a.stride, a.pad_left, a.pad_right, a.pool);
    check(pooled >= 1, "input of " + std::to_string(a.t_in) + " rows is too short for kernel " +
                           std::to_string(a.k) + ", stride " + std::to_string(a.stride) +
                           " and pool " + std::to_string(a.pool));

    const KernelTable& kt = active_kernels();
    const long ktot = static_cast<long>(a.k) * a.c_in;
    const long ldc = round_up(a.c_out, kt.nr);
    const long panels = ldc / kt.nr;
    AlignedFloats packed(static_cast<size_t>(panels * ktot * kt.nr));
    pack_weights(a, ktot, kt.nr, packed.get());
    AlignedFloats bias(static_cast<size_t>(ldc));
    std::memcpy(bias.get(), a.bias, sizeof(float) * a.c_out);

    // Only rows that fall in a whole pooling window are ever used.
    const long rows = pooled * a.pool;
    const long tile_rows = std::max<long>(a.pool, kTileRows / a.pool * a.pool);
    const long n_tiles = (rows + tile_rows - 1) / tile_rows;
    const long window_rows = (tile_rows - 1) * a.stride + a.k;  // input rows one tile reads
    const long lda = static_cast<long>(a.stride) * a.c_in;

    const int workers = static_cast<int>(std::min<long>(resolve_threads(a.n_threads), n_tiles));
    struct Scratch {
        AlignedFloats window, c;
        Scratch(long w, long c_size) : window(w), c(c_size) {}
    };
    std::vector<std::unique_ptr<Scratch>> scratch;
    for (int i = 0; i < workers; ++i)
        scratch.emplace_back(new Scratch(window_rows * a.c_in, tile_rows * ldc));
    AlignedFloats tile_sums(static_cast<size_t>(n_tiles * ldc));

    parallel_for(n_tiles, workers, [&](long tile, int worker) {
        Scratch& s = *scratch[worker];
        const long r0 = tile * tile_rows;
        const long n_rows = std::min(tile_rows, rows - r0);
        // Input rows [first, first + needed) feed this tile; outside [0, t_in) they are padding.
        const long first = r0 * a.stride - a.pad_left;
        const long needed = (n_rows - 1) * a.stride + a.k;
        const float* window = a.x + first * a.c_in;
        if (first < 0 || first + needed > a.t_in) {
            float* buf = s.window.get();
            std::memset(buf, 0, sizeof(float) * needed * a.c_in);
            const long lo = std::max<long>(first, 0), hi = std::min(first + needed, a.t_in);
            if (hi > lo)
                std::memcpy(buf + (lo - first) * a.c_in, a.x + lo * a.c_in,
                            sizeof(float) * (hi - lo) * a.c_in);
            window = buf;
        }
        float* c = s.c.get();
        for (long j = 0; j < panels; ++j) {
            const float* panel = packed.get() + j * ktot * kt.nr;
            for (long k0 = 0; k0 < ktot; k0 += kKc) {
                const long kc = std::min(kKc, ktot - k0);
                for (long m0 = 0; m0 < n_rows; m0 += kt.mr) {
                    const int mr = static_cast<int>(std::min<long>(kt.mr, n_rows - m0));
                    kt.gemm(mr, kc, window + m0 * lda + k0, lda, panel + k0 * kt.nr,
                            c + m0 * ldc + j * kt.nr, ldc, k0 > 0);
                }
            }
        }
        EpilogueArgs e;
        e.c = c;
        e.ldc = ldc;
        e.n_pooled = n_rows / a.pool;
        e.pool = a.pool;
        e.channels = a.c_out;
        e.bias = bias.get();
        e.activation = a.activation;
        e.out = a.out ? a.out + (r0 / a.pool) * a.c_out : nullptr;
        e.ldo = a.c_out;
        e.sums = tile_sums.get() + tile * ldc;
        kt.epilogue(&e);
    });

    // Tiles are added in order, in double, so the sums do not depend on the thread count.
    for (int co = 0; co < a.c_out; ++co) a.sums[co] = 0.0;
    for (long tile = 0; tile < n_tiles; ++tile)
        for (int co = 0; co < a.c_out; ++co) a.sums[co] += tile_sums.get()[tile * ldc + co];
}

}  // namespace rcf
