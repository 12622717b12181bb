// AVX2 kernels, built with -mavx2 -mfma; chosen only on CPUs that report both.
#include "kernels/kernel_table.hpp"
#define RCF_ISA avx2
#define RCF_VEC 8
#define RCF_MR 6
#define RCF_NR 16
#define RCF_NARROW_MR 12
#define RCF_TRIPLE_MR 4
#define RCF_LANES_PV 3
#include "kernels/microkernels.inc"
