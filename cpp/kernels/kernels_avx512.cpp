// AVX-512 kernels (F/VL/DQ/BW); chosen only where the CPU and the OS support them.
#include "kernels/kernel_table.hpp"
#define RCF_ISA avx512
#define RCF_VEC 16
#define RCF_MR 8
#define RCF_NR 32
#define RCF_NARROW_MR 12
#define RCF_TRIPLE_MR 8
#define RCF_LANES_PV 6
#include "kernels/microkernels.inc"
