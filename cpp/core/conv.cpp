#include "core/conv.hpp"

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

// Output positions (time x frequency) per task, about. The tiling depends only on the shapes,
// never on the thread count, so the per-tile partial sums (and the result) do not either.
constexpr long kTilePositions = 96;
// Reduction depth per microkernel call: a kKc x nr weight panel stays in L1.
constexpr long kKc = 256;
// Tiles in flight at once: bounds the partial-sum memory whatever the input length.
constexpr long kTilesPerChunk = 128;

// 64-byte aligned, zero-initialised float storage.
class AlignedFloats {
  public:
    explicit AlignedFloats(size_t n)
        : size_(std::max<size_t>(n, 1)),
          data_(static_cast<float*>(::operator new[](size_ * sizeof(float), std::align_val_t(64)))) {
        std::memset(data_, 0, size_ * sizeof(float));
    }
    ~AlignedFloats() { ::operator delete[](data_, std::align_val_t(64)); }
    AlignedFloats(const AlignedFloats&) = delete;
    AlignedFloats& operator=(const AlignedFloats&) = delete;
    float* get() const { return data_; }

  private:
    size_t size_;
    float* data_;
};

long round_up(long n, long multiple) { return (n + multiple - 1) / multiple * multiple; }

void check(bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument("conv: " + message);
}

// Weights [c_out][c_in][kh][kw] -> panels [c_out/nr][kh*kw*c_in][nr], zero-padded to whole
// panels. Row (dt*kw + df)*c_in + ci of a panel matches element df*c_in + ci of the input run
// read for tap dt: kw neighbouring frequency positions, channels last, are contiguous.
void pack_weights(const ConvArgs& a, int nr, float* packed) {
    const long depth = static_cast<long>(a.kh) * a.kw * a.c_in;
    for (int co = 0; co < a.c_out; ++co) {
        float* panel = packed + (co / nr) * depth * nr + co % nr;
        for (int ci = 0; ci < a.c_in; ++ci)
            for (int dt = 0; dt < a.kh; ++dt)
                for (int df = 0; df < a.kw; ++df)
                    panel[((static_cast<long>(dt) * a.kw + df) * a.c_in + ci) * nr] =
                        a.w[((static_cast<long>(co) * a.c_in + ci) * a.kh + dt) * a.kw + df];
    }
}

struct Plan {
    long rows, cols;          // conv outputs that enter a whole pooling window
    long rows_out, cols_out;  // after pooling
    long f_padded;            // frequency positions of the padded input
    long tile_rows, n_tiles;
    long run;                 // contiguous input floats one tap reads
    int taps;                 // runs per output position
    long tap_stride;          // floats between the runs of consecutive taps
};

Plan make_plan(const ConvArgs& a) {
    Plan p{};
    const long t_conv = conv_output_length(a.t_in, a.kh, a.stride_t, a.pad_t0, a.pad_t1);
    const long f_conv = conv_output_length(a.f_in, a.kw, a.stride_f, a.pad_f0, a.pad_f1);
    p.rows_out = t_conv / a.pool_t;
    p.cols_out = f_conv / a.pool_f;
    p.rows = p.rows_out * a.pool_t;
    p.cols = p.cols_out * a.pool_f;
    p.f_padded = a.f_in + a.pad_f0 + a.pad_f1;
    const long rows_wanted = std::max<long>(1, kTilePositions / std::max<long>(p.cols, 1));
    p.tile_rows = std::max<long>(a.pool_t, rows_wanted / a.pool_t * a.pool_t);
    p.n_tiles = p.rows > 0 ? (p.rows + p.tile_rows - 1) / p.tile_rows : 0;
    p.run = static_cast<long>(a.kw) * a.c_in;
    p.taps = a.kh;
    p.tap_stride = p.f_padded * a.c_in;
    if (p.f_padded == a.kw) {  // consecutive taps' runs touch: read them as one longer run
        p.run *= a.kh;
        p.taps = 1;
    }
    return p;
}

}  // namespace

long conv_output_length(long n_in, int k, int stride, int pad0, int pad1) {
    const long padded = n_in + pad0 + pad1;
    return padded < k ? 0 : (padded - k) / stride + 1;
}

void conv(const ConvArgs& a) {
    check(a.x && a.w && a.bias && a.sums, "null pointer");
    check(a.t_in >= 1 && a.f_in >= 1 && a.c_in >= 1 && a.c_out >= 1, "empty input or no channels");
    check(a.kh >= 1 && a.kw >= 1 && a.stride_t >= 1 && a.stride_f >= 1 && a.pool_t >= 1 &&
              a.pool_f >= 1,
          "kernel, stride and pool must be >= 1");
    check(a.pad_t0 >= 0 && a.pad_t1 >= 0 && a.pad_f0 >= 0 && a.pad_f1 >= 0,
          "padding must be >= 0");
    check(a.activation >= kActNone && a.activation <= kActElu, "unknown activation");
    check(!a.residual || (a.pool_t == 1 && a.pool_f == 1), "a residual input needs pool 1 x 1");
    const Plan p = make_plan(a);
    check(p.rows_out >= 1 && p.cols_out >= 1,
          "input of " + std::to_string(a.t_in) + " x " + std::to_string(a.f_in) +
              " is too short for kernel " + std::to_string(a.kh) + " x " + std::to_string(a.kw) +
              ", stride " + std::to_string(a.stride_t) + " x " + std::to_string(a.stride_f) +
              " and pool " + std::to_string(a.pool_t) + " x " + std::to_string(a.pool_f));

    const KernelTable& kt = active_kernels();
    const long ldc = round_up(a.c_out, kt.nr);
    const long panels = ldc / kt.nr;
    const long depth = p.run * p.taps;
    AlignedFloats packed(static_cast<size_t>(panels * depth * kt.nr));
    pack_weights(a, kt.nr, packed.get());
    AlignedFloats bias(static_cast<size_t>(ldc));
    std::memcpy(bias.get(), a.bias, sizeof(float) * a.c_out);

    const long window_rows = (p.tile_rows - 1) * a.stride_t + a.kh;  // input rows a tile reads
    const long tile_positions = p.tile_rows * p.cols;
    const bool pads_frequency = a.pad_f0 + a.pad_f1 > 0;
    const int workers =
        static_cast<int>(std::min<long>(resolve_threads(a.n_threads), std::min(p.n_tiles, kTilesPerChunk)));
    struct Scratch {
        AlignedFloats window, c;
        std::vector<const float*> rows;
        Scratch(long w, long c_size, long n_rows) : window(w), c(c_size), rows(n_rows) {}
    };
    std::vector<std::unique_ptr<Scratch>> scratch;
    for (int i = 0; i < workers; ++i)
        scratch.emplace_back(new Scratch(window_rows * p.f_padded * a.c_in, tile_positions * ldc,
                                         tile_positions));
    AlignedFloats tile_sums(static_cast<size_t>(std::min(p.n_tiles, kTilesPerChunk) * ldc));

    for (int co = 0; co < a.c_out; ++co) a.sums[co] = 0.0;
    for (long chunk = 0; chunk < p.n_tiles; chunk += kTilesPerChunk) {
        const long chunk_tiles = std::min(kTilesPerChunk, p.n_tiles - chunk);
        parallel_for(chunk_tiles, workers, [&](long index, int worker) {
            Scratch& s = *scratch[worker];
            const long r0 = (chunk + index) * p.tile_rows;
            const long n_rows = std::min(p.tile_rows, p.rows - r0);
            // Input rows [first, first + needed) feed this tile; outside [0, t_in), and in the
            // frequency margins, they are zero padding.
            const long first = r0 * a.stride_t - a.pad_t0;
            const long needed = (n_rows - 1) * a.stride_t + a.kh;
            const long row_floats = p.f_padded * a.c_in;
            const float* window = a.x + first * row_floats;
            if (pads_frequency || first < 0 || first + needed > a.t_in) {
                float* buf = s.window.get();
                std::memset(buf, 0, sizeof(float) * needed * row_floats);
                const long lo = std::max<long>(first, 0), hi = std::min(first + needed, a.t_in);
                for (long t = lo; t < hi; ++t)
                    std::memcpy(buf + (t - first) * row_floats + a.pad_f0 * a.c_in,
                                a.x + t * a.f_in * a.c_in, sizeof(float) * a.f_in * a.c_in);
                window = buf;
            }
            const long n_positions = n_rows * p.cols;
            for (long r = 0; r < n_rows; ++r)
                for (long q = 0; q < p.cols; ++q)
                    s.rows[r * p.cols + q] = window + r * a.stride_t * row_floats + q * a.stride_f * a.c_in;

            float* c = s.c.get();
            for (long j = 0; j < panels; ++j) {
                const float* panel = packed.get() + j * depth * kt.nr;
                for (int tap = 0; tap < p.taps; ++tap)
                    for (long k0 = 0; k0 < p.run; k0 += kKc) {
                        const long kc = std::min(kKc, p.run - k0);
                        const float* b = panel + (tap * p.run + k0) * kt.nr;
                        const bool accumulate = tap > 0 || k0 > 0;
                        for (long m0 = 0; m0 < n_positions; m0 += kt.mr) {
                            const int mr = static_cast<int>(std::min<long>(kt.mr, n_positions - m0));
                            kt.gemm(mr, kc, s.rows.data() + m0, tap * p.tap_stride + k0, b,
                                    c + m0 * ldc + j * kt.nr, ldc, accumulate);
                        }
                    }
            }
            float* sums = tile_sums.get() + index * ldc;
            std::memset(sums, 0, sizeof(float) * ldc);
            EpilogueArgs e;
            e.c = c;
            e.ldc = ldc;
            e.rows_out = n_rows / a.pool_t;
            e.cols_in = p.cols;
            e.cols_out = p.cols_out;
            e.pool_t = a.pool_t;
            e.pool_f = a.pool_f;
            e.channels = a.c_out;
            e.bias = bias.get();
            e.activation = a.activation;
            const long first_output = (r0 / a.pool_t) * p.cols_out * a.c_out;
            e.residual = a.residual ? a.residual + first_output : nullptr;
            e.out = a.out ? a.out + first_output : nullptr;
            e.sums = sums;
            kt.epilogue(&e);
        });
        // Tiles are added in order, in double, so the sums do not depend on the thread count.
        for (long index = 0; index < chunk_tiles; ++index)
            for (int co = 0; co < a.c_out; ++co) a.sums[co] += tile_sums.get()[index * ldc + co];
    }
}

}  // namespace rcf
