// The contract between the portable drivers and the per-instruction-set microkernels.
// Only plain structs and function pointers cross this boundary, so code compiled for one
// instruction set is never shared with (or merged into) code compiled for another.
#pragma once

#include <cstdint>

namespace rcf {

enum Activation : int { kActNone = 0, kActRelu = 1, kActElu = 2 };

// One pass over a tile of convolution outputs that have been computed into a scratch matrix
// c[time][freq][ldc]: max-pool over pool_t x pool_f windows, add the bias, activate, optionally
// store, and add the per-channel sums of the stored values into `sums`.
struct EpilogueArgs {
    const float* c;      // scratch [rows_out * pool_t][cols_in][ldc]
    long ldc;            // channel stride of c, a multiple of the vector width
    long rows_out;       // pooled time rows produced by this call
    long cols_in;        // frequency positions per time row in c
    long cols_out;       // pooled frequency positions (cols_in / pool_f, rounded down)
    int pool_t, pool_f;  // pooling window (1 x 1 = none)
    int channels;        // valid channels (<= ldc); columns past it are zero padding
    const float* bias;   // [ldc], zero padded
    int activation;      // Activation
    const float* residual;  // [rows_out][cols_out][channels] added after the activation, or nullptr
    float* out;          // [rows_out][cols_out][out_ld] or nullptr when the map is not needed
    long out_ld;         // floats between out's positions (>= channels: a slice of a wider map)
    int out_pool_t;      // > 1: out holds the max of each out_pool_t consecutive rows instead
                         // ([rows_out / out_pool_t][cols_out][out_ld]); the sums are unchanged
    float* sums;         // [ldc] running per-channel sums, added to
};

// Winograd input transform for one task: v[x][i][e] = sum_j bt[x][j] * window[i*m + j][e] for
// every transformed point x < n, tile i < tiles and element e < row_floats.
struct WinogradInputArgs {
    const float* window;  // [tiles * m + n - m][row_floats]
    long row_floats;
    long tiles;
    int m, n;             // output rows per tile, transformed points (8 or 10)
    const float* bt;      // [n][n]
    float* v;             // [n][tiles][row_floats]
};

// Winograd output transform of one weight panel: c[(i*m + o)*cols + q][l] =
// sum_x at[o][x] * products[x * point_stride + (i*cols + q) * nr + l] for o < m and the
// panel's nr lanes l.
struct WinogradOutputArgs {
    const float* products;  // the panel's products for point 0, [tiles * cols][nr]
    long point_stride;      // floats between the products of consecutive points
    long tiles, cols;
    int m, n;
    const float* at;        // [m][n]
    float* c;               // the panel's first column in the scratch [rows][cols][ldc]
    long ldc;
};

// Output positions in the vector lanes rather than channels, for one-input-channel layers whose
// few output channels would leave many of a panel's lanes idle: c[i*ldc + n] = sum over taps t
// and the run's elements k < run of x(i, t, k) * w(t, k, n), for positions i = r*cols + j
// (rows r < rows of cols positions each) and channels n < channels, where
// w(t, k, n) = panels[(n / nr) * panel_stride + (t*run + k)*nr + n % nr] (the direct
// convolution's panels) and x(i, t, k) = input[r*row_stride + j + t*tap_stride + (k % step)*inner
// + (k / step)*outer]: consecutive positions of a row are consecutive floats, and so fill the
// lanes. The sum goes tap by tap in blocks of kc elements, each block's multiply-adds from zero
// and then added to the blocks before: the arithmetic of gemm called per tap and block with
// accumulate, so both give identical bits. Positions are read only where they exist (masked).
struct LanesGemmArgs {
    const float* input;
    long rows, cols, row_stride;
    int taps;
    long tap_stride;
    long step, inner, outer;  // where element k of a tap's run lies
    long run, kc;
    int channels;
    const float* panels;
    long panel_stride;
    int nr;
    float* c;
    long ldc;
};

struct KernelTable {
    const char* name;
    int mr;  // rows (time steps) of one microkernel call
    int nr;  // output channels of one microkernel call = packed weight panel width
    // c[m*ldc + n] (+)= sum_{k<kc} rows[m][offset + k] * b[k*nr + n], for m < mr_used,
    // n < nr. Rows m >= mr_used are neither read nor written. accumulate=0 overwrites c.
    void (*gemm)(int mr_used, long kc, const float* const* rows, long offset, const float* b,
                 float* c, long ldc, int accumulate);
    void (*epilogue)(const EpilogueArgs* args);
    // The same contract as gemm in double precision, with panels nr / 2 doubles wide (the
    // same register width).
    void (*dgemm)(int mr_used, long kc, const double* const* rows, long offset,
                  const double* b, double* c, long ldc, int accumulate);
    void (*winograd_input)(const WinogradInputArgs* args);
    void (*winograd_output)(const WinogradOutputArgs* args);
    // acc[c] += x[p * channels + c] for p < positions and c < channels, in double, each
    // channel's terms added in order of p (so every instruction set gives the same sums).
    void (*sum_positions)(const float* x, long positions, long channels, double* acc);
    // Cost of one panel lane per reduction step, relative between the tables of one
    // instruction set (3 for tiles of several vectors; 4 for the one-vector tile, which loads a
    // row element for every multiply-add and runs at about three quarters of their rate).
    int lane_cost;
    // Positions in the lanes (LanesGemmArgs), on any table's panels.
    void (*lanes_gemm)(const LanesGemmArgs* args);
    int lanes_vector;    // positions per vector of lanes_gemm (each row's start a vector)
    int lanes_channels;  // channels per pass of lanes_gemm (its cost is channels rounded to it)
    // The same instruction set with other panel widths, for layers whose output channels
    // would leave many of this table's lanes idle: [0] one-vector panels with more rows
    // (narrow), [1] three-vector panels; nullptr in those tables themselves, which serve the
    // float32 convolution only (their dgemm is nullptr). Per output the arithmetic is the same
    // chain of multiply-adds, so every table gives identical bits.
    const KernelTable* alternatives[2];
};

// The bfloat16 GEMM for precision "bf16": it replaces KernelTable::gemm of the table with the
// same mr and nr, whose epilogue and transforms it keeps.
struct Bf16Kernels {
    const char* name;
    int mr, nr;
    // c[m*ldc + n] (+)= sum_{k<kc} rows[m][offset + k] * b[k/2][n][k%2] for an even kc, where
    // rows and b hold bfloat16 values (the upper halves of float32s) and c is float32.
    void (*gemm)(int mr_used, long kc, const uint16_t* const* rows, long offset,
                 const uint16_t* b, float* c, long ldc, int accumulate);
    // dst[i] = src[i] rounded to the nearest bfloat16 (ties to even), for i < n.
    void (*convert)(const float* src, uint16_t* dst, long n);
};

// The RandomState normal draw's steps (core/randomstate_normal.cpp), each bit for bit the portable one's.
struct RandomStateDrawKernels {
    // Regenerates the 624-word MT19937 key in place.
    void (*twist)(uint32_t* key);
    // out[i] = key[i] tempered, for i < count.
    void (*temper)(const uint32_t* key, int count, uint32_t* out);
    // Candidates of the polar method take four tempered words each: x1 = 2 u(w0, w1) - 1,
    // x2 = 2 u(w2, w3) - 1, r2 = x1 * x1 + x2 * x2. Appends the accepted ones (0 < r2 < 1) to
    // x1, x2 and r2 from index *found on and advances *found, over whole blocks of candidates
    // from the first, stopping before a block that would bring *found to `wanted`. Returns the
    // candidates it consumed (none for the portable build); the caller scans the rest one at a
    // time.
    int (*scan)(const uint32_t* words, int candidates, long wanted, long* found, double* x1,
                double* x2, double* r2);
    // values[2p] = f x2[p], values[2p + 1] = f x1[p], f = sqrt(-2 log_r2[p] / r2[p]), p < n.
    void (*normals)(const double* log_r2, const double* r2, const double* x1, const double* x2,
                    long n, double* values);
};

// One table per compiled instruction set; nullptr where that set was not compiled.
const KernelTable* kernels_scalar();
const KernelTable* kernels_avx2();
const KernelTable* kernels_avx512();
const Bf16Kernels* kernels_avx512_bf16();
const RandomStateDrawKernels* randomstate_draw_avx512();

}  // namespace rcf
