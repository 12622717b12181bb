// The contract between the portable drivers and the per-instruction-set microkernels.
// Only plain structs and function pointers cross this boundary, so code compiled for one
// instruction set is never shared with (or merged into) code compiled for another.
#pragma once

namespace rcf {

enum Activation : int { kActNone = 0, kActRelu = 1 };

// One pass over a tile of convolution outputs that have been computed into a scratch matrix:
// max-pool over `pool` consecutive rows, add the bias, activate, optionally store, and add the
// per-channel sums of the stored values into `sums`.
struct EpilogueArgs {
    const float* c;      // scratch rows [n_pooled * pool][ldc]
    long ldc;            // row stride of c, a multiple of the vector width
    long n_pooled;       // pooled rows produced by this call
    int pool;            // rows per pooling window (1 = no pooling)
    int channels;        // valid channels (<= ldc); columns past it are zero padding
    const float* bias;   // [ldc], zero padded
    int activation;      // Activation
    float* out;          // [n_pooled][ldo] or nullptr when the map is not needed
    long ldo;            // row stride of out
    float* sums;         // [ldc] running per-channel sums, added to
};

struct KernelTable {
    const char* name;
    int mr;  // rows (time steps) of one microkernel call
    int nr;  // output channels of one microkernel call = packed weight panel width
    // c[m*ldc + n] (+)= sum_{k<kc} a[m*lda + k] * b[k*nr + n], for m < mr_used, n < nr.
    // Rows m >= mr_used are neither read nor written. accumulate=0 overwrites c.
    void (*gemm)(int mr_used, long kc, const float* a, long lda, const float* b, float* c,
                 long ldc, int accumulate);
    void (*epilogue)(const EpilogueArgs* args);
};

// One table per compiled instruction set; nullptr where that set was not compiled.
const KernelTable* kernels_scalar();
const KernelTable* kernels_avx2();
const KernelTable* kernels_avx512();

}  // namespace rcf
