// The convolution driver: checks a call, plans it (conv_plan), takes its packed weights
// (conv_packing), and runs its tasks on the thread pool: each reads its input window, multiplies
// it by the weight panels (direct, or through Winograd's transforms) on the microkernels, and
// ends in the fused epilogue (pool, bias, activation, channel sums).
#include "core/conv.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/conv_packing.hpp"
#include "core/conv_plan.hpp"
#include "core/isa.hpp"
#include "core/large_buffer.hpp"
#include "core/max_pool.hpp"
#include "core/sizes.hpp"
#include "core/thread_pool.hpp"
#include "core/winograd.hpp"

namespace rcf {
namespace {

using Floats = LargeBuffer<float>;

constexpr long kKc = kConvKc;

void check(bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument("conv: " + message);
}

// Per-worker scratch, sized once per call.
struct Scratch {
    Floats window, c;
    Floats transformed;  // Winograd's transformed rows, or a gathering direct task's patches
    Floats products;
    std::vector<const float*> rows;
    // bf16 only: the GEMM's input (window or transformed rows) rounded, with two zeros of
    // slack for the pair that straddles the end of an odd run.
    std::vector<uint16_t> input16;
    std::vector<const uint16_t*> rows16;
    Scratch(long window_size, long c_size, long transformed_size, long products_size, long n_rows,
            long input16_size)
        : window(Floats::zeroed(window_size)), c(Floats::zeroed(c_size)),
          transformed(Floats::zeroed(transformed_size)), products(Floats::zeroed(products_size)),
          rows(n_rows), input16(input16_size > 0 ? input16_size + 2 : 0),
          rows16(input16_size > 0 ? n_rows : 0) {}

    // The GEMM input of `n` floats from `src`, in bfloat16.
    const uint16_t* rounded(const Bf16Kernels& bf16, const float* src, long n) {
        bf16.convert(src, input16.data(), n);
        return input16.data();
    }
};

// The task's input rows [first, first + p.window_rows): a view of x when they lie inside it
// and need no frequency padding, else a zero-padded copy in the worker's window buffer.
const float* input_window(const ConvArgs& a, const ConvPlan& p, long first, Scratch& s) {
    if (a.pad_f0 + a.pad_f1 == 0 && first >= 0 && first + p.window_rows <= a.t_in)
        return a.x + first * p.row_floats;
    float* buf = s.window.data();
    std::memset(buf, 0, sizeof(float) * p.window_rows * p.row_floats);
    const long lo = std::max<long>(first, 0), hi = std::min(first + p.window_rows, a.t_in);
    for (long t = lo; t < hi; ++t)
        std::memcpy(buf + (t - first) * p.row_floats + a.pad_f0 * a.c_in,
                    a.x + t * a.f_in * a.c_in, sizeof(float) * a.f_in * a.c_in);
    return buf;
}

// Points the GEMM row pointers at element offset(i) of the float32 input `base`, or of its
// bfloat16 copy when the plan computes in bf16.
template <typename Offset>
void point_rows(const ConvPlan& p, Scratch& s, const float* base, const uint16_t* base16,
                long count, Offset offset) {
    for (long i = 0; i < count; ++i) {
        if (p.bf16)
            s.rows16[i] = base16 + offset(i);
        else
            s.rows[i] = base + offset(i);
    }
}

// c (+)= rows x panel for `positions` rows over one run of the reduction starting at element
// `offset` of each row, in float32 or bfloat16 as planned (panel16 is the same panel in bf16).
void panel_product(const ConvPlan& p, const KernelTable& kt, Scratch& s, long positions,
                   long offset, const float* panel, const uint16_t* panel16, float* c, long ldc,
                   bool accumulate) {
    const long run = p.bf16 ? p.run_even : p.run;
    for (long k0 = 0; k0 < run; k0 += kKc) {
        const long kc = std::min(kKc, run - k0);
        const int acc = accumulate || k0 > 0;
        for (long m0 = 0; m0 < positions; m0 += kt.mr) {
            const int mr = static_cast<int>(std::min<long>(kt.mr, positions - m0));
            if (p.bf16)
                p.bf16->gemm(mr, kc, s.rows16.data() + m0, offset + k0, panel16 + k0 * kt.nr,
                             c + m0 * ldc, ldc, acc);
            else
                kt.gemm(mr, kc, s.rows.data() + m0, offset + k0, panel + k0 * kt.nr, c + m0 * ldc,
                        ldc, acc);
        }
    }
}

// lanes_gemm's arguments for `rows` rows of the plan's positions (row_stride floats apart in
// `input`, each a run per tap, k floats on for element k) by `channels` channels of `panels`.
LanesGemmArgs lanes_args(const ConvPlan& p, const KernelTable& kt, const float* input, long rows,
                         long row_stride, const float* panels, int channels, float* c, long ldc) {
    LanesGemmArgs g;
    g.input = input;
    g.rows = rows;
    g.cols = p.cols;
    g.row_stride = row_stride;
    g.taps = p.taps;
    g.tap_stride = p.tap_stride;
    g.step = p.run;
    g.inner = 1;
    g.outer = 0;
    g.run = p.run;
    g.kc = kKc;
    g.channels = channels;
    g.panels = panels;
    g.panel_stride = p.taps * p.run * kt.nr;
    g.nr = kt.nr;
    g.c = c;
    g.ldc = ldc;
    return g;
}

// Direct convolution of one task with output positions in the vector lanes (p.lanes), on the
// same weight panels, tap by tap in blocks of kKc elements as gemm is. Over one input channel
// and at stride 1 over frequency, a row's positions are consecutive floats of the window, read
// in place. A task of one position per row (a 1-D layer, or a kernel as wide as the input) has
// its positions along time instead: its runs step floats apart, transposed when step > 1 so
// that one element of consecutive positions' runs is contiguous.
void lanes_tile(const ConvArgs& a, const ConvPlan& p, const KernelTable& kt,
                const PackedPanels& packed, long ldc, const float* window, long n_rows,
                Scratch& s) {
    const long step = a.stride_t * p.row_floats;
    LanesGemmArgs g =
        lanes_args(p, kt, window, n_rows, step, packed.panels.data(), a.c_out, s.c.data(), ldc);
    if (p.gather) {  // a position's taps are one run: kw floats of each of kh rows
        g.step = a.kw;
        g.outer = p.row_floats;
    }
    if (p.cols == 1) {
        g.rows = 1;
        g.cols = n_rows;
    }
    const long xt_ld = lanes_transposed_row_floats(a, p);
    if (xt_ld > 0) {
        const long available = (n_rows - 1) * step + p.run;  // the floats this task's runs read
        float* xt = s.transformed.data();
        for (long r = 0; r < step; ++r)
            for (long q = 0; q < xt_ld; ++q) {
                const long e = q * step + r;
                xt[r * xt_ld + q] = e < available ? window[e] : 0.0f;
            }
        g.input = xt;
        g.step = step;
        g.inner = xt_ld;
        g.outer = 1;
    }
    kt.lanes_gemm(&g);
}

// Copies a run of n floats (a gathered tap, shorter than conv_plan's kGatherRun): whole blocks
// of 4 floats at a constant size, then the rest one by one, all inline, where a call to memcpy
// per tap (vgg's 3-float runs) cost more than the copy.
inline void copy_short_run(float* dst, const float* src, long n) {
    long e = 0;
    for (; e + 4 <= n; e += 4) std::memcpy(dst + e, src + e, 4 * sizeof(float));
    switch (n - e) {
        case 3: dst[e + 2] = src[e + 2]; [[fallthrough]];
        case 2: dst[e + 1] = src[e + 1]; [[fallthrough]];
        case 1: dst[e] = src[e]; break;
        default: break;
    }
}

// Direct convolution of one task into s.c [tile_rows * cols][ldc].
void direct_tile(const ConvArgs& a, const ConvPlan& p, const KernelTable& kt,
                 const PackedPanels& packed, long panels, long ldc, const float* window,
                 long n_rows, Scratch& s) {
    const long n_positions = n_rows * p.cols;
    auto position_start = [&](long i) {
        if (p.cols == 1) return i * a.stride_t * p.row_floats;  // 1-D: no division per position
        return (i / p.cols) * a.stride_t * p.row_floats + (i % p.cols) * a.stride_f * a.c_in;
    };
    const float* input = window;
    long input_floats = p.window_rows * p.row_floats;
    if (p.gather) {
        const long tap_run = p.run / a.kh;
        float* patches = s.transformed.data();
        float* patch = patches;
        for (long r = 0; r < n_rows; ++r)  // positions in order, row by row: no division
            for (long q = 0; q < p.cols; ++q) {
                const float* taps =
                    window + r * a.stride_t * p.row_floats + q * a.stride_f * a.c_in;
                for (int tap = 0; tap < a.kh; ++tap, patch += tap_run)
                    copy_short_run(patch, taps + tap * p.row_floats, tap_run);
            }
        input = patches;
        input_floats = n_positions * p.run;
    }
    const uint16_t* input16 = p.bf16 ? s.rounded(*p.bf16, input, input_floats) : nullptr;
    if (p.gather)
        point_rows(p, s, input, input16, n_positions, [&](long i) { return i * p.run; });
    else
        point_rows(p, s, input, input16, n_positions, position_start);
    for (long j = 0; j < panels; ++j)
        for (int tap = 0; tap < p.taps; ++tap) {
            const float* panel = packed.panels.data() + (j * p.taps + tap) * p.run * kt.nr;
            const uint16_t* panel16 =
                p.bf16 ? packed.panels16.data() + (j * p.taps + tap) * p.run_even * kt.nr : nullptr;
            panel_product(p, kt, s, n_positions, tap * p.tap_stride, panel, panel16,
                          s.c.data() + j * kt.nr, ldc, tap > 0);
        }
}

// Winograd products of transformed point x (its rows vx, nt of cols positions each) by weight
// panels j0 .. j0 + block_panels with positions in the lanes (p.lanes): the panel products'
// arithmetic, into the same [panel][positions][nr] layout.
void winograd_lanes(const ConvArgs& a, const ConvPlan& p, const KernelTable& kt,
                    const PackedPanels& packed, int x, const float* vx, long nt, long panels,
                    long j0, long block_panels, float* products) {
    for (long j = j0; j < j0 + block_panels; ++j) {
        LanesGemmArgs g = lanes_args(
            p, kt, vx, nt, p.row_floats, packed.panels.data() + (x * panels + j) * p.run * kt.nr,
            static_cast<int>(std::min<long>(kt.nr, a.c_out - j * kt.nr)),
            products + (j - j0) * nt * p.cols * kt.nr, kt.nr);
        kt.lanes_gemm(&g);
    }
}

// Winograd convolution of one task (always tile_rows rows; the window is zero past the input)
// into s.c: transform the input rows, one GEMM per transformed point and weight panel, then
// transform the panel's products back to output rows.
void winograd_tile(const ConvArgs& a, const ConvPlan& p, const KernelTable& kt,
                   const WinogradTransform& t, const PackedPanels& packed, long panels, long ldc,
                   const float* window, Scratch& s) {
    const int m = t.m, n = t.n;
    const long nt = p.tile_rows / m, positions = nt * p.cols;
    float* v = s.transformed.data();  // [n][nt][row_floats]
    WinogradInputArgs in{window, p.row_floats, nt, m, n, t.bt.data(), v};
    kt.winograd_input(&in);
    const uint16_t* v16 = p.bf16 ? s.rounded(*p.bf16, v, n * nt * p.row_floats) : nullptr;
    // Weight panels go in blocks whose products stay in L2; each block reads the transformed
    // input once per point.
    const long block = winograd_panel_block(n, positions, kt.nr, panels);
    float* products = s.products.data();  // [n][block][positions][nr]
    const long point_stride = block * positions * kt.nr;
    for (long j0 = 0; j0 < panels; j0 += block) {
        const long block_panels = std::min(block, panels - j0);
        for (int x = 0; x < n; ++x) {
            if (p.lanes) {
                winograd_lanes(a, p, kt, packed, x, v + x * nt * p.row_floats, nt, panels, j0,
                               block_panels, products + x * point_stride);
                continue;
            }
            point_rows(p, s, v, v16, positions, [&](long i) {
                if (p.cols == 1) return (x * nt + i) * p.row_floats;  // 1-D: no division
                return (x * nt + i / p.cols) * p.row_floats + (i % p.cols) * a.stride_f * a.c_in;
            });
            for (long j = j0; j < j0 + block_panels; ++j) {
                const long group = x * panels + j;
                panel_product(p, kt, s, positions, 0, packed.panels.data() + group * p.run * kt.nr,
                              p.bf16 ? packed.panels16.data() + group * p.run_even * kt.nr
                                     : nullptr,
                              products + x * point_stride + (j - j0) * positions * kt.nr, kt.nr,
                              false);
            }
        }
        for (long j = j0; j < j0 + block_panels; ++j) {
            WinogradOutputArgs out{products + (j - j0) * positions * kt.nr, point_stride, nt,
                                   p.cols, m, n, t.at.data(), s.c.data() + j * kt.nr, ldc};
            kt.winograd_output(&out);
        }
    }
}

}  // namespace

long conv_output_length(long n_in, int k, int stride, int pad0, int pad1) {
    const long padded = n_in + pad0 + pad1;
    return padded < k ? 0 : (padded - k) / stride + 1;
}

ConvLayer::ConvLayer(const float* w, const float* b, int c_out, int c_in, int kh, int kw)
    : w_(w, w + static_cast<size_t>(c_out) * c_in * kh * kw), b_(b, b + c_out), c_out_(c_out),
      c_in_(c_in), kh_(kh), kw_(kw), packed_(new PackedWeights) {}

ConvArgs ConvLayer::bind(ConvArgs args) const {
    args.w = w_.data();
    args.bias = b_.data();
    args.c_out = c_out_;
    args.kh = kh_;
    args.kw = kw_;
    args.packed = packed_.get();
    return args;
}

void ConvLayer::operator()(const ConvArgs& args) const { conv(bind(args)); }

ConvShape conv_output_shape(const ConvArgs& a) {
    const auto positive = [](int v) { return v > 0 ? v : 1; };  // conv() rejects the others
    return {conv_output_length(a.t_in, a.kh, positive(a.stride_t), a.pad_t0, a.pad_t1) /
                positive(a.pool_t),
            conv_output_length(a.f_in, a.kw, positive(a.stride_f), a.pad_f0, a.pad_f1) /
                positive(a.pool_f)};
}

namespace {

// The index of `name` in `names`, or an invalid_argument listing them under `what`.
template <size_t N>
int parse_name(const std::string& name, const char* const (&names)[N], const char* what) {
    std::string choices;
    for (size_t i = 0; i < N; ++i) {
        if (name == names[i]) return static_cast<int>(i);
        choices += (i ? (i + 1 == N ? " or " : ", ") : "") + std::string(names[i]);
    }
    throw std::invalid_argument("unknown " + std::string(what) + " '" + name + "' (expected " +
                                choices + ")");
}

}  // namespace

int parse_activation(const std::string& name) {
    static_assert(kActNone == 0 && kActRelu == 1 && kActElu == 2, "names below in enum order");
    static const char* const names[] = {"none", "relu", "elu"};
    return parse_name(name, names, "activation");
}

ConvAlgorithm parse_algorithm(const std::string& name) {
    static const char* const names[] = {"auto", "direct", "winograd", "lanes"};
    return static_cast<ConvAlgorithm>(parse_name(name, names, "algorithm"));
}

ConvPrecision parse_precision(const std::string& name) {
    static const char* const names[] = {"fp32", "bf16"};
    return static_cast<ConvPrecision>(parse_name(name, names, "precision"));
}

namespace {

// Workers for `tasks` tasks of `work` lane multiply-adds in all, on up to `threads` threads.
int conv_workers(int threads, long tasks, long work) {
    return static_cast<int>(std::min<long>(std::min<long>(threads, tasks),
                                           std::max<long>(1, work / kConvLaneMacsPerWorker)));
}

// Everything a call's arguments must satisfy before anything is planned from them.
// input_from_producer: the caller hands every task its input window (conv_pair), so a.x
// is not read.
void check_conv_args(const ConvArgs& a, bool input_from_producer) {
    check((a.x || input_from_producer) && a.w && a.bias && a.sums, "null pointer");
    check(a.t_in >= 1 && a.f_in >= 1 && a.c_in >= 1 && a.c_out >= 1,
          "empty input or no channels");
    check(a.kh >= 1 && a.kw >= 1 && a.stride_t >= 1 && a.stride_f >= 1 && a.pool_t >= 1 &&
              a.pool_f >= 1,
          "kernel, stride and pool must be >= 1");
    check(a.pad_t0 >= 0 && a.pad_t1 >= 0 && a.pad_f0 >= 0 && a.pad_f1 >= 0,
          "padding must be >= 0");
    check(a.activation >= kActNone && a.activation <= kActElu, "unknown activation");
    check(a.algorithm >= kAlgoAuto && a.algorithm <= kAlgoLanes, "unknown algorithm");
    check(a.precision == kPrecisionFp32 || a.precision == kPrecisionBf16, "unknown precision");
    check(!a.residual || (a.pool_t == 1 && a.pool_f == 1), "a residual input needs pool 1 x 1");
    check(a.out_ld == 0 || a.out_ld >= a.c_out, "out_ld must be 0 or at least c_out");
    check(a.out_pool_t >= 0, "out_pool_t must be >= 0");
}

// One checked and planned call: its packed weights, and per worker the scratch its tasks use.
class PreparedConv {
  public:
    // input_from_producer: the caller hands every task its input window (conv_pair), so a.x
    // is not read.
    explicit PreparedConv(const ConvArgs& args, bool input_from_producer = false) : a(args) {
        check_conv_args(a, input_from_producer);
        if (a.out_ld == 0) a.out_ld = a.c_out;
        if (a.out_pool_t == 0) a.out_pool_t = 1;
        const KernelTable& wide = active_kernels();
        // The tiling follows the wide table whichever panels run, so the per-tile partial sums,
        // and the result, are the same with every table.
        p = make_conv_plan(a, wide.mr);
        kt = &panel_table(wide, p, a.c_out);
        p.lanes = wants_lanes(a, p, *kt);
        check(p.rows_out >= 1 && p.cols_out >= 1,
              "input of " + std::to_string(a.t_in) + " x " + std::to_string(a.f_in) +
                  " is too short for kernel " + std::to_string(a.kh) + " x " +
                  std::to_string(a.kw) + ", stride " + std::to_string(a.stride_t) + " x " +
                  std::to_string(a.stride_f) + " and pool " + std::to_string(a.pool_t) + " x " +
                  std::to_string(a.pool_f));
        check(a.algorithm != kAlgoWinograd || p.wino_m > 0,
              "Winograd needs stride 1 over time and a kernel of 3, 5 or 7 taps");
        check(a.algorithm != kAlgoLanes || p.lanes,
              "lanes needs one input channel and stride 1 over frequency, in float32");

        ldc = round_up(a.c_out, kt->nr);
        panels = ldc / kt->nr;
        if (p.wino_m > 0) transform = winograd_transform(p.wino_m, a.kh);
        if (a.packed) {
            packed = cached_panels(*a.packed, a, *kt, p, transform);
        } else {
            own = pack_conv_weights(a, *kt, p, transform);
            packed = own.get();
        }
        tiles_per_chunk = std::max(kConvMinTilesPerChunk, kConvChunkSumFloats / ldc);
        for (int co = 0; co < a.c_out; ++co) a.sums[co] = 0.0;
    }

    long tiles() const { return p.n_tiles; }
    // Tiles run between two waits for the workers.
    long chunk_tiles() const { return std::min(p.n_tiles, tiles_per_chunk); }
    long work() const { return lane_macs(a, p, ldc); }

    // Scratch for `workers` workers.
    void allocate(int workers) {
        const long tile_positions = p.tile_rows * p.cols;
        const long nt = p.wino_m > 0 ? p.tile_rows / p.wino_m : 0;
        const long product_floats =
            p.wino_m > 0 ? transform.n * nt * p.cols * kt->nr *
                               winograd_panel_block(transform.n, nt * p.cols, kt->nr, panels)
                         : 0;
        const long transformed_floats =
            p.wino_m > 0 ? transform.n * nt * p.row_floats
            : p.gather   ? tile_positions * p.run
            : p.lanes    ? a.stride_t * p.row_floats * lanes_transposed_row_floats(a, p)
                         : 0;
        const long input16_size =
            !p.bf16 ? 0 : std::max(transformed_floats, p.window_rows * p.row_floats);
        for (int i = static_cast<int>(scratch.size()); i < workers; ++i)
            scratch.emplace_back(new Scratch(p.window_rows * p.row_floats, tile_positions * ldc,
                                             transformed_floats, product_floats, tile_positions,
                                             input16_size));
        tile_sums.reset(new Floats(Floats::zeroed(static_cast<size_t>(chunk_tiles() * ldc))));
    }

    // Tile `index` of the chunk starting at tile `chunk`, on `worker`'s scratch, reading its
    // input rows from x, or from `window` when one is given (conv_pair).
    void run_tile(long chunk, long index, int worker, const float* window = nullptr) {
        Scratch& s = *scratch[worker];
        const long r0 = (chunk + index) * p.tile_rows;
        const long n_rows = std::min(p.tile_rows, p.rows - r0);
        // Input rows from r0 * stride - pad feed this tile; outside [0, t_in), and in the
        // frequency margins, they are zero padding.
        if (!window) window = input_window(a, p, r0 * a.stride_t - a.pad_t0, s);
        float* sums = tile_sums->data() + index * ldc;
        std::memset(sums, 0, sizeof(float) * ldc);
        compute_rows(r0, n_rows, window, s,
                     a.out ? a.out + (r0 / a.pool_t / a.out_pool_t) * p.cols_out * a.out_ld
                           : nullptr,
                     sums);
    }

    // Pooled output rows [first, first + count) into out (row `first` at out, out_ld floats
    // apart), their channel sums added to sums [ldc], in pieces of at most a tile, each reading
    // its own input window from x. Direct convolution only: every output is the same chain of
    // multiply-adds wherever a piece starts, so the values are those of run_tile's tiles.
    void compute_pooled_rows(long first, long count, int worker, float* out, float* sums) {
        Scratch& s = *scratch[worker];
        const long piece = p.tile_rows / a.pool_t;
        for (long r = first; r < first + count; r += piece) {
            const long r0 = r * a.pool_t, n_rows = std::min(piece, first + count - r) * a.pool_t;
            compute_rows(r0, n_rows, input_window(a, p, r0 * a.stride_t - a.pad_t0, s), s,
                         out + (r - first) * p.cols_out * a.out_ld, sums);
        }
    }

    // Adds the first `count` tiles' sums, in order and in double, so the sums do not depend on
    // the thread count.
    void add_tile_sums(long count) { add_sums(tile_sums->data(), count); }
    void add_sums(const float* per_tile, long count) {
        for (long index = 0; index < count; ++index)
            for (int co = 0; co < a.c_out; ++co) a.sums[co] += per_tile[index * ldc + co];
    }

    // The whole call on up to `threads` workers, chunk by chunk.
    void run(int threads) {
        const int workers = conv_workers(threads, chunk_tiles(), work());
        allocate(workers);
        for (long chunk = 0; chunk < p.n_tiles; chunk += tiles_per_chunk) {
            const long count = std::min(tiles_per_chunk, p.n_tiles - chunk);
            parallel_for(count, workers,
                         [&](long index, int worker) { run_tile(chunk, index, worker); });
            add_tile_sums(count);
        }
    }

    // Whether each tile's pooled rows hold whole out_pool_t windows, so that tiles can store
    // the pooled map themselves.
    bool tiles_hold_out_pool_windows() const {
        return (p.tile_rows / a.pool_t) % a.out_pool_t == 0;
    }
    const ConvArgs& args() const { return a; }
    const ConvPlan& plan() const { return p; }
    long panel_floats() const { return ldc; }

  private:
    // Conv rows [r0, r0 + n_rows) (r0 a multiple of pool_t) from `window`, the input rows from
    // r0 * stride - pad: pooled, biased and activated into out (the first pooled row, or
    // nullptr), with their channel sums added to sums.
    void compute_rows(long r0, long n_rows, const float* window, Scratch& s, float* out,
                      float* sums) {
        if (p.wino_m > 0)
            winograd_tile(a, p, *kt, transform, *packed, panels, ldc, window, s);
        else if (p.lanes)
            lanes_tile(a, p, *kt, *packed, ldc, window, n_rows, s);
        else
            direct_tile(a, p, *kt, *packed, panels, ldc, window, n_rows, s);
        EpilogueArgs e;
        e.c = s.c.data();
        e.ldc = ldc;
        e.rows_out = n_rows / a.pool_t;
        e.cols_in = p.cols;
        e.cols_out = p.cols_out;
        e.pool_t = a.pool_t;
        e.pool_f = a.pool_f;
        e.channels = a.c_out;
        e.bias = packed->bias.data();
        e.activation = a.activation;
        const long first_position = (r0 / a.pool_t) * p.cols_out;
        e.residual = a.residual ? a.residual + first_position * a.c_out : nullptr;
        e.out = out;
        e.out_ld = a.out_ld;
        e.out_pool_t = a.out_pool_t;
        e.sums = sums;
        kt->epilogue(&e);
    }

    ConvArgs a;
    ConvPlan p;
    const KernelTable* kt;
    long ldc, panels, tiles_per_chunk;
    WinogradTransform transform;
    std::unique_ptr<PackedPanels> own;
    const PackedPanels* packed;
    std::vector<std::unique_ptr<Scratch>> scratch;
    std::unique_ptr<Floats> tile_sums;  // per tile of a chunk, [ldc] each
};

// A producer and the consumer that alone reads its map, fused (conv_pair): each consumer task
// computes the producer rows its input window reads into its worker's own buffer, so the
// producer's map never goes out to memory and back. Every producer tile is computed whole by
// one task, the one whose stretch of the producer's rows holds the tile's first row, so its
// channel sums are the same float sums conv() makes; rows a task reads beyond its own tiles
// are computed again there, for their values only.
class ConvPair {
  public:
    ConvPair(const ConvArgs& producer, const ConvArgs& consumer, long offset)
        : prod(producer), cons(consumer, true), offset(offset), rows(prod.plan().rows_out),
          tile(prod.plan().tile_rows / producer.pool_t) {}

    // Whether a producer planned as `p` fuses: a direct convolution (its outputs do not depend
    // on where a task starts) over time only, within kPairMaxReduction.
    static bool fuses(const ConvArgs& producer, const ConvPlan& p) {
        return p.wino_m == 0 && p.cols == 1 && !producer.residual &&
               p.run * p.taps <= kPairMaxReduction;
    }

    void run(int threads) {
        const int workers =
            conv_workers(threads, cons.chunk_tiles(), prod.work() + cons.work());
        prod.allocate(workers);
        cons.allocate(workers);
        const long ldc = prod.panel_floats();
        Floats tile_sums = Floats::zeroed(static_cast<size_t>(prod.tiles() * ldc));
        Floats discarded = Floats::zeroed(static_cast<size_t>(workers * ldc));
        std::vector<std::vector<float>> regions(workers);
        for (long chunk = 0; chunk < cons.tiles(); chunk += cons.chunk_tiles()) {
            const long count = std::min(cons.chunk_tiles(), cons.tiles() - chunk);
            parallel_for(count, workers, [&](long index, int worker) {
                const float* window =
                    produce(chunk + index, worker, regions[worker], tile_sums.data(),
                            discarded.data() + worker * ldc);
                cons.run_tile(chunk, index, worker, window);
            });
            cons.add_tile_sums(count);
        }
        prod.add_sums(tile_sums.data(), prod.tiles());
    }

  private:
    // The producer rows from which consumer tile g owns the producer tiles that start there:
    // consecutive stretches, from 0 to the end of the producer's rows.
    long stretch_start(long g) const {
        if (g == 0) return 0;
        if (g >= cons.tiles()) return rows;
        const ConvArgs& c = cons.args();
        return std::min(rows, offset + g * cons.plan().tile_rows * c.stride_t);
    }

    // Consumer tile g's input window (its rows of the producer's map, zero where the consumer
    // pads), computed in `region`; the tiles it owns add their sums to tile_sums.
    const float* produce(long g, int worker, std::vector<float>& region, float* tile_sums,
                         float* discarded) {
        const ConvArgs& c = cons.args();
        const long channels = prod.args().c_out, ldc = prod.panel_floats();
        const long win_lo = offset + g * cons.plan().tile_rows * c.stride_t - c.pad_t0;
        const long win_hi = win_lo + cons.plan().window_rows;
        const long valid_lo = offset, valid_hi = offset + c.t_in;
        const long first_tile = (stretch_start(g) + tile - 1) / tile;
        const long end_tile = (stretch_start(g + 1) + tile - 1) / tile;
        const long own_lo = first_tile * tile, own_hi = std::min(end_tile * tile, rows);
        const bool owns = end_tile > first_tile;
        const long lo = owns ? std::min(win_lo, own_lo) : win_lo;
        const long hi = owns ? std::max(win_hi, own_hi) : win_hi;
        if (region.size() < static_cast<size_t>((hi - lo) * channels))
            region.resize(static_cast<size_t>((hi - lo) * channels));
        auto at = [&](long row) { return region.data() + (row - lo) * channels; };
        for (long u = first_tile; u < end_tile; ++u)
            prod.compute_pooled_rows(u * tile, std::min(tile, rows - u * tile), worker,
                                     at(u * tile), tile_sums + u * ldc);
        // The window's rows that no owned tile gave: their values only.
        const long a = std::max(win_lo, valid_lo), b = std::min(win_hi, valid_hi);
        auto values_only = [&](long from, long to) {
            if (from < to) prod.compute_pooled_rows(from, to - from, worker, at(from), discarded);
        };
        if (owns) {
            values_only(a, std::min(b, own_lo));
            values_only(std::max(a, own_hi), b);
        } else {
            values_only(a, b);
        }
        // Zeros where the consumer reads padding; owned rows there have given their sums.
        auto zero = [&](long from, long to) {
            if (from < to) std::memset(at(from), 0, sizeof(float) * (to - from) * channels);
        };
        zero(win_lo, std::min(win_hi, valid_lo));
        zero(std::max(win_lo, valid_hi), win_hi);
        return at(win_lo);
    }

    PreparedConv prod, cons;
    const long offset;  // the producer row that is the consumer's input row 0
    const long rows;    // the producer's pooled output rows
    const long tile;    // pooled producer rows per producer tile
};

}  // namespace

void conv(const ConvArgs& a) {
    PreparedConv call(a);
    if (a.out && call.args().out_pool_t > 1 && !call.tiles_hold_out_pool_windows()) {
        // Windows straddle tiles: the whole map, then the pool.
        const ConvShape shape = conv_output_shape(a);
        const long row_floats = shape.cols * a.c_out;
        Floats map(static_cast<size_t>(std::max<long>(1, shape.rows * row_floats)));
        ConvArgs whole = a;
        whole.out = map.data();
        whole.out_ld = a.c_out;
        whole.out_pool_t = 1;
        conv(whole);
        const long pooled_rows = shape.rows / a.out_pool_t;
        std::vector<float> pooled(static_cast<size_t>(pooled_rows * row_floats));
        max_pool_time(map.data(), pooled_rows, row_floats, a.out_pool_t, pooled.data());
        const long ld = a.out_ld ? a.out_ld : a.c_out;
        for (long position = 0; position < pooled_rows * shape.cols; ++position)
            std::memcpy(a.out + position * ld, pooled.data() + position * a.c_out,
                        sizeof(float) * a.c_out);
        return;
    }
    call.run(resolve_threads(a.n_threads));
}

void conv_siblings(const std::vector<ConvArgs>& calls) {
    if (calls.empty()) return;
    std::vector<std::unique_ptr<PreparedConv>> prepared;
    for (const ConvArgs& a : calls) prepared.emplace_back(new PreparedConv(a));
    const int threads = resolve_threads(calls[0].n_threads);
    // Tile t of the pass is tile t - first[j] of call j.
    std::vector<long> first{0};
    long work = 0;
    bool one_chunk_each = true;
    for (const auto& call : prepared) {
        first.push_back(first.back() + call->tiles());
        work += call->work();
        one_chunk_each = one_chunk_each && call->tiles() == call->chunk_tiles();
    }
    if (!one_chunk_each) {  // a long input: each call fills the workers by itself
        for (const auto& call : prepared) call->run(threads);
        return;
    }
    const int workers = conv_workers(threads, first.back(), work);
    for (const auto& call : prepared) call->allocate(workers);
    parallel_for(first.back(), workers, [&](long tile, int worker) {
        const size_t j = std::upper_bound(first.begin(), first.end(), tile) - first.begin() - 1;
        prepared[j]->run_tile(0, tile - first[j], worker);
    });
    for (const auto& call : prepared) call->add_tile_sums(call->tiles());
}

void conv_pair(ConvArgs producer, ConvArgs consumer, long offset) {
    // Checked before the shapes and the plan below are derived from them (a pool of 0 would
    // divide by zero there).
    check_conv_args(producer, false);
    producer.out = nullptr;
    const ConvShape shape = conv_output_shape(producer);
    check(shape.cols == 1 && consumer.f_in == 1 && consumer.kw == 1 &&
              consumer.pad_f0 + consumer.pad_f1 == 0 && consumer.c_in == producer.c_out,
          "conv_pair: the consumer must read the producer's channels over time only");
    check(offset >= 0 && consumer.t_in >= 1 && offset + consumer.t_in <= shape.rows,
          "conv_pair: rows [" + std::to_string(offset) + ", " +
              std::to_string(offset + consumer.t_in) + ") lie outside the producer's " +
              std::to_string(shape.rows));
    const ConvPlan plan = make_conv_plan(producer, active_kernels().mr);
    if (ConvPair::fuses(producer, plan)) {
        ConvPair(producer, consumer, offset).run(resolve_threads(consumer.n_threads));
        return;
    }
    // Otherwise the map goes through memory, as two conv() calls.
    const long row_floats = shape.cols * producer.c_out;
    Floats map(static_cast<size_t>(std::max<long>(1, shape.rows * row_floats)));
    producer.out = map.data();
    producer.out_ld = producer.c_out;
    conv(producer);
    consumer.x = map.data() + offset * row_floats;
    conv(consumer);
}

}  // namespace rcf
