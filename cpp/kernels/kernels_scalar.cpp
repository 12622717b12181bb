// Portable baseline kernels: the compiler maps 4-float vectors to SSE2, NEON or scalar code.
#include "kernels/kernel_table.hpp"
#define RCF_ISA scalar
#define RCF_VEC 4
#define RCF_MR 4
#define RCF_NR 8
#define RCF_NARROW_MR 8
#define RCF_TRIPLE_MR 4
#define RCF_LANES_PV 3
#include "kernels/microkernels.inc"
