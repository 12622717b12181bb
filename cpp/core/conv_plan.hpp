// How one convolution call is cut into tasks: its plan (sizes, rows per task, direct or
// Winograd, gathered taps, bf16), the panel width that suits its output channels, and its work.
// The plan depends only on the shapes and the wide table's rows, never on the thread count.
#pragma once

#include "core/conv.hpp"
#include "kernels/kernel_table.hpp"

namespace rcf {

// The tiling of one call.
struct ConvPlan {
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
    bool lanes;               // direct: positions in the vector lanes (set by wants_lanes)
};

// The plan of a call whose microkernel computes `mr` rows at a time.
ConvPlan make_conv_plan(const ConvArgs& a, int mr);

// The table (of `wide` and its alternatives) whose panels hold `c_out` channels at the least
// cost; see conv_plan.cpp.
const KernelTable& panel_table(const KernelTable& wide, const ConvPlan& p, int c_out);

// Whether the convolution planned as `p` on table `kt` should put output positions in the
// vector lanes (KernelTable::lanes_gemm; Winograd's products too): one input channel, stride 1
// over frequency, and few enough output channels that the panels would leave many lanes idle.
bool wants_lanes(const ConvArgs& a, const ConvPlan& p, const KernelTable& kt);

// Floats per row of a lanes task's transposed input (positions along time, stride_t *
// row_floats rows): its positions and the run's reach past them; 0 where the task reads its
// window in place.
long lanes_transposed_row_floats(const ConvArgs& a, const ConvPlan& p);

// A layer's work in multiply-adds, padded lanes and the epilogue included.
long lane_macs(const ConvArgs& a, const ConvPlan& p, long ldc);

// Weight panels per block of Winograd products (n points x positions x nr floats each).
long winograd_panel_block(int n, long positions, int nr, long panels);

}  // namespace rcf
