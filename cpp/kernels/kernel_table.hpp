// The contract between the portable drivers and the per-instruction-set microkernels.
// Only plain structs and function pointers cross this boundary, so code compiled for one
// instruction set is never shared with (or merged into) code compiled for another.
#pragma once

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
    float* out;          // [rows_out][cols_out][channels] or nullptr when the map is not needed
    float* sums;         // [ldc] running per-channel sums, added to
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
};

// One table per compiled instruction set; nullptr where that set was not compiled.
const KernelTable* kernels_scalar();
const KernelTable* kernels_avx2();
const KernelTable* kernels_avx512();

}  // namespace rcf
