// Planning a convolution call: rows per task, direct or Winograd, gathered taps, the panel
// width, and the work estimate that decides how many threads a layer gets.
#include "core/conv_plan.hpp"

#include <algorithm>

#include "core/isa.hpp"
#include "core/sizes.hpp"
#include "core/winograd.hpp"

namespace rcf {
namespace {

constexpr long kTilePositions = kConvTilePositions;

// Below this many floats per tap, a direct convolution gathers each position's taps into one
// contiguous patch (a per-task im2col) instead of calling the microkernel once per tap.
constexpr long kGatherRun = 16;
// Winograd pays for its transforms only with a deep enough reduction per transformed point.
constexpr long kWinogradMinRun = 32;
// Output positions per Winograd GEMM: whole microkernel tiles where possible.
constexpr long kWinogradPositions = 64;

bool wants_winograd(const ConvArgs& a, long run, long rows) {
    const int m = winograd_output_tile(a.kh);
    if (a.algorithm == kAlgoDirect || a.algorithm == kAlgoLanes || a.stride_t != 1 || m == 0)
        return false;
    if (a.algorithm == kAlgoWinograd) return true;
    return run >= kWinogradMinRun && rows >= 2L * m;
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

// The bfloat16 GEMM's panels are 32 lanes wide: a layer of at most 16 channels fits one
// 16-lane float32 panel, where the doubled multiply rate only feeds idle lanes; and a
// reduction shorter than 32 does not repay rounding the input (measured on Zen 5, two
// threads: timbral's 8-channel 7x38 layer 1.3x slower in bf16, vgg's 9-long first layer 1.05x).
constexpr int kBf16MinChannels = 17;
constexpr long kBf16MinReduction = 32;

bool bf16_pays(const ConvArgs& a, const ConvPlan& p) {
    return a.c_out >= kBf16MinChannels && p.run * p.taps >= kBf16MinReduction;
}

}  // namespace

// Bytes of Winograd products kept per block of weight panels: well inside L2.
constexpr long kWinogradProductBytes = 256 * 1024;

long winograd_panel_block(int n, long positions, int nr, long panels) {
    const long per_panel = n * positions * nr * static_cast<long>(sizeof(float));
    return std::max<long>(1, std::min(panels, kWinogradProductBytes / per_panel));
}

ConvPlan make_conv_plan(const ConvArgs& a, int mr) {
    ConvPlan p{};
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
        p.tile_rows =
            winograd_tiles_per_task(p.wino_m, a.pool_t, std::max<long>(p.cols, 1), mr) * p.wino_m;
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
    if (p.bf16 && bf16_by_layer() && !bf16_pays(a, p)) p.bf16 = nullptr;
    p.run_even = round_up(p.run, 2);
    return p;
}

// A float the lanes tile moves one at a time along time (its input's transpose, its output back
// to channels last) costs about as much as 80 lane multiply-adds of a several-vector panel, in
// their lane_cost units: fitted to the waveform and temporal layers on a Zen 5 host, where it
// puts the break-even between 64 and 128 taps for 20 channels at stride 32.
constexpr long kLanesMoveCost = 80 * 3;
// Over frequency the input is read in place and the output goes back from whole rows of
// positions at about 20 units a float: fitted to one-tap layers 20 to 86 bands wide, 4 to 32
// channels, on the same host, where with AVX-512 lanes pay up to 12 channels (and at 20, against
// 32-lane panels) and stop paying at 16, with AVX2 up to 4.
constexpr long kLanesStoreCost = 20;

bool wants_lanes(const ConvArgs& a, const ConvPlan& p, const KernelTable& kt) {
    // Winograd's transformed rows hold a row's positions as its input does; positions along
    // time would need them transposed.
    if (p.bf16 || a.c_in != 1 || a.stride_f != 1 || a.algorithm == kAlgoDirect ||
        (p.wino_m > 0 && p.cols == 1))
        return false;
    if (a.algorithm == kAlgoLanes) return true;
    // Per row of positions: the lanes tile loads a vector of positions for every few
    // multiply-adds, as the several-vector panels do (lane cost 3), over the row's positions
    // rounded up to whole vectors (positions along time fill every lane), and moves its input
    // step and its channels of output; it must save a sixteenth of the panels' cost.
    const long reduction = p.run * p.taps;
    const long channels = round_up(a.c_out, kt.lanes_channels);
    const bool along_time = p.cols == 1;
    const long positions = along_time ? 1 : p.cols;
    const long lanes = along_time ? 1 : round_up(p.cols, kt.lanes_vector);
    const long moves = along_time
                           ? (a.stride_t * p.row_floats + channels) * kLanesMoveCost / 3
                           : positions * channels * kLanesStoreCost;
    const long lanes_cost = reduction * channels * 3 * lanes + moves;
    return 16 * lanes_cost < 15 * positions * reduction * round_up(a.c_out, kt.nr) * kt.lane_cost;
}

long lanes_transposed_row_floats(const ConvArgs& a, const ConvPlan& p) {
    const long step = static_cast<long>(a.stride_t) * p.row_floats;
    if (p.cols > 1 || step == 1) return 0;
    return p.tile_rows + (p.run - 1) / step + 1;
}

// A layer's work in multiply-adds, padded lanes included: its GEMMs' (a Winograd tile of m
// rows makes n = m + kh - 1 rows of products) and the epilogue's, which reads every output
// and costs about kEpilogueMacs multiply-adds per value (a layer with a short reduction, such as
// a 3-tap first layer over the waveform, is mostly epilogue).
constexpr long kEpilogueMacs = 16;

long lane_macs(const ConvArgs& a, const ConvPlan& p, long ldc) {
    const long gemm_rows = p.wino_m > 0 ? (p.rows + p.wino_m - 1) / p.wino_m * (p.wino_m + a.kh - 1)
                                        : p.rows;
    return (gemm_rows * p.run * p.taps + p.rows * kEpilogueMacs) * p.cols * ldc;
}


// The table whose panels hold the output channels at the least cost (lanes x lane_cost),
// where that saves over an eighth of the wide table's: a layer of 40 channels runs on 48 lanes
// rather than 64, one of 8 on 16 rather than 32, and wide layers keep the wide tile. The
// bfloat16 GEMM has wide panels only.
const KernelTable& panel_table(const KernelTable& wide, const ConvPlan& p, int c_out) {
    if (p.bf16) return wide;
    const auto cost = [c_out](const KernelTable& t) { return round_up(c_out, t.nr) * t.lane_cost; };
    const KernelTable* best = &wide;
    for (const KernelTable* other : wide.alternatives)
        if (other && 8 * cost(*other) < 7 * cost(wide) && cost(*other) < cost(*best)) best = other;
    return *best;
}

}  // namespace rcf
