// The convolution driver: plans a layer's tiles, packs its weights (direct, Winograd, bf16) once
// per kernel table, and runs the tiles on the thread pool through the microkernels with the
// fused epilogue (pool, bias, activation, channel sums).
#include "core/conv.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "core/isa.hpp"
#include "core/large_buffer.hpp"
#include "core/sizes.hpp"
#include "core/thread_pool.hpp"
#include "core/winograd.hpp"

namespace rcf {
namespace {

using Floats = LargeBuffer<float>;

constexpr long kTilePositions = kConvTilePositions;
constexpr long kKc = kConvKc;

// Weight panels and the zero-padded bias for one kernel table and algorithm.
struct Packed {
    Floats panels, bias;
    std::vector<uint16_t> panels16;  // bf16 only: [group][tap][run_even / 2][nr][2]
    Packed(size_t panel_floats, size_t bias_floats)
        : panels(Floats::zeroed(panel_floats)),
          bias(Floats::zeroed(bias_floats)) {}
};

// Round to the nearest bfloat16, ties to even (inputs are finite).
uint16_t to_bf16(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// float32 panels [group][tap * run + k][nr] -> bfloat16 pairs [group][tap][k / 2][nr][k % 2],
// each run padded with zero weights to run_even.
void pack_bf16(const float* panels, long groups, int taps, long run, long run_even, int nr,
               std::vector<uint16_t>& out) {
    out.assign(static_cast<size_t>(groups * taps * run_even * nr), 0);
    for (long g = 0; g < groups; ++g)
        for (int tap = 0; tap < taps; ++tap)
            for (long k = 0; k < run; ++k)
                for (int n = 0; n < nr; ++n)
                    out[((g * taps + tap) * run_even + k / 2 * 2) * nr + 2 * n + k % 2] =
                        to_bf16(panels[((g * taps + tap) * run + k) * nr + n]);
}

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
    long row_floats;          // floats per padded input row
    long tile_rows, n_tiles;  // conv output rows per task, tasks
    long window_rows;         // input rows one task reads
    long run;                 // contiguous input floats one tap reads
    int taps;                 // runs per output position
    long tap_stride;          // floats between the runs of consecutive taps
    int wino_m;               // Winograd output tile over time, 0 for direct convolution
    bool gather;              // direct: taps copied into one patch per position
    const Bf16Kernels* bf16;  // bfloat16 GEMM, or nullptr for float32
    long run_even;            // run rounded up to whole bfloat16 pairs (bf16 only)
};

// Below this many floats per tap, a direct convolution gathers each position's taps into one
// contiguous patch (a per-task im2col) instead of calling the microkernel once per tap.
constexpr long kGatherRun = 16;
// Winograd pays for its transforms only with a deep enough reduction per transformed point.
constexpr long kWinogradMinRun = 32;
// Output positions per Winograd GEMM: whole microkernel tiles where possible.
constexpr long kWinogradPositions = 64;

bool wants_winograd(const ConvArgs& a, long run, long rows) {
    const int m = winograd_output_tile(a.kh);
    if (a.algorithm == kAlgoDirect || a.stride_t != 1 || m == 0) return false;
    if (a.algorithm == kAlgoWinograd) return true;
    return run >= kWinogradMinRun && rows >= 2L * m;
}

// Bytes of Winograd products kept per block of weight panels: well inside L2.
constexpr long kWinogradProductBytes = 256 * 1024;

long winograd_panel_block(int n, long positions, int nr, long panels) {
    const long per_panel = n * positions * nr * static_cast<long>(sizeof(float));
    return std::max<long>(1, std::min(panels, kWinogradProductBytes / per_panel));
}

// Winograd tiles (of m rows) per task: whole pooling windows, about kWinogradPositions
// positions, a multiple of the microkernel's rows when one is near.
long winograd_tiles_per_task(int m, int pool_t, long cols, int mr) {
    long fallback = 0;
    for (long nt = 1; nt * cols <= 4 * kWinogradPositions || fallback == 0; ++nt) {
        if ((nt * m) % pool_t != 0) continue;
        if (nt * cols >= kWinogradPositions && (nt * cols) % mr == 0) return nt;
        if (fallback == 0 && nt * cols >= kWinogradPositions) fallback = nt;
    }
    return fallback;
}

Plan make_plan(const ConvArgs& a, int mr) {
    Plan p{};
    p.bf16 = a.precision == kPrecisionBf16 ? active_bf16_kernels() : nullptr;
    const ConvShape shape = conv_output_shape(a);
    p.rows_out = shape.rows;
    p.cols_out = shape.cols;
    p.rows = p.rows_out * a.pool_t;
    p.cols = p.cols_out * a.pool_f;
    p.f_padded = a.f_in + a.pad_f0 + a.pad_f1;
    p.row_floats = p.f_padded * a.c_in;
    p.run = static_cast<long>(a.kw) * a.c_in;
    p.taps = a.kh;
    p.tap_stride = p.row_floats;
    if (wants_winograd(a, p.run, p.rows)) {
        p.wino_m = winograd_output_tile(a.kh);
        p.taps = 1;  // the time taps live in the transforms
        p.tile_rows = winograd_tiles_per_task(p.wino_m, a.pool_t, std::max<long>(p.cols, 1), mr) * p.wino_m;
        p.window_rows = p.tile_rows + a.kh - 1;
    } else {
        const long rows_wanted = std::max<long>(1, kTilePositions / std::max<long>(p.cols, 1));
        p.tile_rows = std::max<long>(a.pool_t, rows_wanted / a.pool_t * a.pool_t);
        p.window_rows = (p.tile_rows - 1) * a.stride_t + a.kh;
        if (p.f_padded == a.kw) {  // consecutive taps' runs touch: read them as one longer run
            p.run *= a.kh;
            p.taps = 1;
        } else if (p.run < kGatherRun) {  // runs too short for a microkernel call each: copy
            p.gather = true;              // every position's taps into one contiguous patch
            p.run *= a.kh;
            p.taps = 1;
        }
    }
    p.n_tiles = p.rows > 0 ? (p.rows + p.tile_rows - 1) / p.tile_rows : 0;
    p.run_even = round_up(p.run, 2);
    return p;
}

// A layer's work in multiply-adds, padded lanes included: its GEMMs' (a Winograd tile of m
// rows makes n = m + kh - 1 rows of products) and the epilogue's, which reads every output
// and costs about kEpilogueMacs multiply-adds per value (a layer with a short reduction, such as
// a 3-tap first layer over the waveform, is mostly epilogue).
constexpr long kEpilogueMacs = 16;

long lane_macs(const ConvArgs& a, const Plan& p, long ldc) {
    const long gemm_rows = p.wino_m > 0 ? (p.rows + p.wino_m - 1) / p.wino_m * (p.wino_m + a.kh - 1)
                                        : p.rows;
    return (gemm_rows * p.run * p.taps + p.rows * kEpilogueMacs) * p.cols * ldc;
}



// The table whose panels hold the output channels at the least cost (lanes x lane_cost),
// where that saves over an eighth of the wide table's: a layer of 40 channels runs on 48 lanes
// rather than 64, one of 8 on 16 rather than 32, and wide layers keep the wide tile. The
// bfloat16 GEMM has wide panels only.
const KernelTable& panel_table(const KernelTable& wide, const Plan& p, int c_out) {
    if (p.bf16) return wide;
    const auto cost = [c_out](const KernelTable& t) { return round_up(c_out, t.nr) * t.lane_cost; };
    const KernelTable* best = &wide;
    for (const KernelTable* other : wide.alternatives)
        if (other && 8 * cost(*other) < 7 * cost(wide) && cost(*other) < cost(*best)) best = other;
    return *best;
}

// Winograd weights: U_x = sum_dt G[x][dt] w[.][.][dt][.] for every transformed point x, packed
// like the direct weights with a single tap: [x][c_out/nr][kw*c_in][nr].
void pack_winograd_weights(const ConvArgs& a, const WinogradTransform& t, int nr, long panels,
                           float* packed) {
    const long depth = static_cast<long>(a.kw) * a.c_in;
    for (int co = 0; co < a.c_out; ++co)
        for (int ci = 0; ci < a.c_in; ++ci)
            for (int df = 0; df < a.kw; ++df)
                for (int x = 0; x < t.n; ++x) {
                    double u = 0.0;
                    for (int dt = 0; dt < a.kh; ++dt)
                        u += t.g[x * t.r + dt] * a.w[((static_cast<long>(co) * a.c_in + ci) * a.kh + dt) * a.kw + df];
                    packed[((x * panels + co / nr) * depth + df * a.c_in + ci) * nr + co % nr] =
                        static_cast<float>(u);
                }
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
const float* input_window(const ConvArgs& a, const Plan& p, long first, Scratch& s) {
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
void point_rows(const Plan& p, Scratch& s, const float* base, const uint16_t* base16, long count,
                Offset offset) {
    for (long i = 0; i < count; ++i) {
        if (p.bf16)
            s.rows16[i] = base16 + offset(i);
        else
            s.rows[i] = base + offset(i);
    }
}

// c (+)= rows x panel for `positions` rows over one run of the reduction starting at element
// `offset` of each row, in float32 or bfloat16 as planned (panel16 is the same panel in bf16).
void panel_product(const Plan& p, const KernelTable& kt, Scratch& s, long positions, long offset,
                   const float* panel, const uint16_t* panel16, float* c, long ldc,
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

// Direct convolution of one task into s.c [tile_rows * cols][ldc].
void direct_tile(const ConvArgs& a, const Plan& p, const KernelTable& kt, const Packed& packed,
                 long panels, long ldc, const float* window, long n_rows, Scratch& s) {
    const long n_positions = n_rows * p.cols;
    auto position_start = [&](long i) {
        return (i / p.cols) * a.stride_t * p.row_floats + (i % p.cols) * a.stride_f * a.c_in;
    };
    const float* input = window;
    long input_floats = p.window_rows * p.row_floats;
    if (p.gather) {
        const long tap_run = p.run / a.kh;
        float* patches = s.transformed.data();
        for (long i = 0; i < n_positions; ++i)
            for (int tap = 0; tap < a.kh; ++tap)
                std::memcpy(patches + i * p.run + tap * tap_run,
                            window + position_start(i) + tap * p.row_floats, sizeof(float) * tap_run);
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

// Winograd convolution of one task (always tile_rows rows; the window is zero past the input)
// into s.c: transform the input rows, one GEMM per transformed point and weight panel, then
// transform the panel's products back to output rows.
void winograd_tile(const ConvArgs& a, const Plan& p, const KernelTable& kt,
                   const WinogradTransform& t, const Packed& packed, long panels, long ldc,
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
            point_rows(p, s, v, v16, positions, [&](long i) {
                return (x * nt + i / p.cols) * p.row_floats + (i % p.cols) * a.stride_f * a.c_in;
            });
            for (long j = j0; j < j0 + block_panels; ++j) {
                const long group = x * panels + j;
                panel_product(p, kt, s, positions, 0, packed.panels.data() + group * p.run * kt.nr,
                              p.bf16 ? packed.panels16.data() + group * p.run_even * kt.nr : nullptr,
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

std::unique_ptr<Packed> pack(const ConvArgs& a, const KernelTable& kt, const Plan& p,
                             const WinogradTransform& transform) {
    const long ldc = round_up(a.c_out, kt.nr), panels = ldc / kt.nr;
    const long depth = p.run * p.taps;  // per panel (and per transformed point)
    std::unique_ptr<Packed> packed;
    if (p.wino_m > 0) {
        packed.reset(new Packed(static_cast<size_t>(transform.n * panels * depth * kt.nr), ldc));
        pack_winograd_weights(a, transform, kt.nr, panels, packed->panels.data());
    } else {
        packed.reset(new Packed(static_cast<size_t>(panels * depth * kt.nr), ldc));
        pack_weights(a, kt.nr, packed->panels.data());
    }
    std::memcpy(packed->bias.data(), a.bias, sizeof(float) * a.c_out);
    if (p.bf16) {
        const long groups = p.wino_m > 0 ? transform.n * panels : panels;
        pack_bf16(packed->panels.data(), groups, p.taps, p.run, p.run_even, kt.nr, packed->panels16);
    }
    return packed;
}

}  // namespace

struct PackedWeights::Store {
    std::mutex mutex;
    // Keyed by everything the layout depends on: the panel width (kernels), the algorithm, the
    // precision and, for bf16's pair padding, how the taps' runs are cut (taps).
    std::map<std::tuple<const KernelTable*, int, bool, int>, std::unique_ptr<Packed>> by_kernels;

    const Packed* get(const ConvArgs& a, const KernelTable& kt, const Plan& p,
                      const WinogradTransform& transform) {
        std::lock_guard<std::mutex> lock(mutex);
        std::unique_ptr<Packed>& entry = by_kernels[{&kt, p.wino_m, p.bf16 != nullptr, p.taps}];
        if (!entry) entry = pack(a, kt, p, transform);
        return entry.get();
    }
};

PackedWeights::PackedWeights() : store(new Store) {}
PackedWeights::~PackedWeights() = default;

long conv_output_length(long n_in, int k, int stride, int pad0, int pad1) {
    const long padded = n_in + pad0 + pad1;
    return padded < k ? 0 : (padded - k) / stride + 1;
}

ConvLayer::ConvLayer(const float* w, const float* b, int c_out, int c_in, int kh, int kw)
    : w_(w, w + static_cast<size_t>(c_out) * c_in * kh * kw), b_(b, b + c_out), c_out_(c_out),
      c_in_(c_in), kh_(kh), kw_(kw), packed_(new PackedWeights) {}

void ConvLayer::operator()(ConvArgs args) const {
    args.w = w_.data();
    args.bias = b_.data();
    args.c_out = c_out_;
    args.kh = kh_;
    args.kw = kw_;
    args.packed = packed_.get();
    conv(args);
}

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
    static const char* const names[] = {"auto", "direct", "winograd"};
    return static_cast<ConvAlgorithm>(parse_name(name, names, "algorithm"));
}

ConvPrecision parse_precision(const std::string& name) {
    static const char* const names[] = {"fp32", "bf16"};
    return static_cast<ConvPrecision>(parse_name(name, names, "precision"));
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
    check(a.algorithm >= kAlgoAuto && a.algorithm <= kAlgoWinograd, "unknown algorithm");
    check(a.precision == kPrecisionFp32 || a.precision == kPrecisionBf16, "unknown precision");
    check(!a.residual || (a.pool_t == 1 && a.pool_f == 1), "a residual input needs pool 1 x 1");
    const KernelTable& wide = active_kernels();
    // The tiling follows the wide table whichever panels run, so the per-tile partial sums,
    // and the result, are the same with every table.
    const Plan p = make_plan(a, wide.mr);
    const KernelTable& kt = panel_table(wide, p, a.c_out);
    check(p.rows_out >= 1 && p.cols_out >= 1,
          "input of " + std::to_string(a.t_in) + " x " + std::to_string(a.f_in) +
              " is too short for kernel " + std::to_string(a.kh) + " x " + std::to_string(a.kw) +
              ", stride " + std::to_string(a.stride_t) + " x " + std::to_string(a.stride_f) +
              " and pool " + std::to_string(a.pool_t) + " x " + std::to_string(a.pool_f));
    check(a.algorithm != kAlgoWinograd || p.wino_m > 0,
          "Winograd needs stride 1 over time and a kernel of 3, 5 or 7 taps");

    const long ldc = round_up(a.c_out, kt.nr);
    const long panels = ldc / kt.nr;
    WinogradTransform transform;
    if (p.wino_m > 0) transform = winograd_transform(p.wino_m, a.kh);
    std::unique_ptr<Packed> own;
    const Packed* packed;
    if (a.packed) {
        packed = a.packed->store->get(a, kt, p, transform);
    } else {
        own = pack(a, kt, p, transform);
        packed = own.get();
    }
    const long tile_positions = p.tile_rows * p.cols;
    const long tiles_per_chunk = std::max(kConvMinTilesPerChunk, kConvChunkSumFloats / ldc);
    const long nt = p.wino_m > 0 ? p.tile_rows / p.wino_m : 0;
    const int workers = static_cast<int>(std::min<long>(
        std::min<long>(resolve_threads(a.n_threads), std::min(p.n_tiles, tiles_per_chunk)),
        std::max<long>(1, lane_macs(a, p, ldc) / kConvLaneMacsPerWorker)));
    const long product_floats =
        p.wino_m > 0 ? transform.n * nt * p.cols * kt.nr * winograd_panel_block(transform.n, nt * p.cols, kt.nr, panels)
                     : 0;
    const long transformed_floats = p.wino_m > 0 ? transform.n * nt * p.row_floats
                                    : p.gather   ? tile_positions * p.run
                                                 : 0;
    const long input16_size = !p.bf16 ? 0 : std::max(transformed_floats, p.window_rows * p.row_floats);
    std::vector<std::unique_ptr<Scratch>> scratch;
    for (int i = 0; i < workers; ++i)
        scratch.emplace_back(new Scratch(p.window_rows * p.row_floats, tile_positions * ldc,
                                         transformed_floats, product_floats, tile_positions,
                                         input16_size));
    Floats tile_sums =
        Floats::zeroed(static_cast<size_t>(std::min(p.n_tiles, tiles_per_chunk) * ldc));

    for (int co = 0; co < a.c_out; ++co) a.sums[co] = 0.0;
    for (long chunk = 0; chunk < p.n_tiles; chunk += tiles_per_chunk) {
        const long chunk_tiles = std::min(tiles_per_chunk, p.n_tiles - chunk);
        parallel_for(chunk_tiles, workers, [&](long index, int worker) {
            Scratch& s = *scratch[worker];
            const long r0 = (chunk + index) * p.tile_rows;
            const long n_rows = std::min(p.tile_rows, p.rows - r0);
            // Input rows from r0 * stride - pad feed this tile; outside [0, t_in), and in the
            // frequency margins, they are zero padding.
            const float* window = input_window(a, p, r0 * a.stride_t - a.pad_t0, s);
            if (p.wino_m > 0)
                winograd_tile(a, p, kt, transform, *packed, panels, ldc, window, s);
            else
                direct_tile(a, p, kt, *packed, panels, ldc, window, n_rows, s);
            float* sums = tile_sums.data() + index * ldc;
            std::memset(sums, 0, sizeof(float) * ldc);
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
            const long first_output = (r0 / a.pool_t) * p.cols_out * a.c_out;
            e.residual = a.residual ? a.residual + first_output : nullptr;
            e.out = a.out ? a.out + first_output : nullptr;
            e.sums = sums;
            kt.epilogue(&e);
        });
        // Tiles are added in order, in double, so the sums do not depend on the thread count.
        for (long index = 0; index < chunk_tiles; ++index)
            for (int co = 0; co < a.c_out; ++co) a.sums[co] += tile_sums.data()[index * ldc + co];
    }
}

}  // namespace rcf
