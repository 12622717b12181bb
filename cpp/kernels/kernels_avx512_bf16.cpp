// bfloat16 kernels (AVX512-BF16), built with -mavx512bf16; used for precision "bf16" only when
// the AVX-512 kernels are active and the CPU reports AVX512_BF16. One VDPBF16PS does the
// multiply-adds of two reduction steps, so a tile costs half the instructions of float32.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/kernel_table.hpp"

namespace rcf {
namespace {

// The register tile of the float32 AVX-512 kernels (kernels_avx512.cpp), whose panels, scratch
// layout and epilogue the bf16 path shares.
constexpr int kMR = 8;
constexpr int kNR = 32;

// c[m*ldc + n] (+)= sum_{k<kc} rows[m][offset + k] * b[k/2][n][k%2] with kc even: each 32-bit
// broadcast of a row carries a pair of reduction steps, each panel vector 16 channels' pairs.
void gemm(int mr_used, long kc, const uint16_t* const* rows_in, long offset, const uint16_t* b,
          float* c, long ldc, int accumulate) {
    const uint16_t* rows[kMR];
    for (int m = 0; m < kMR; ++m) rows[m] = rows_in[m < mr_used ? m : 0] + offset;
    __m512 acc[kMR][2];
    for (int m = 0; m < kMR; ++m) acc[m][0] = acc[m][1] = _mm512_setzero_ps();
    for (long k = 0; k < kc; k += 2) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + k * kNR);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + k * kNR + kNR);
#pragma GCC unroll 8
        for (int m = 0; m < kMR; ++m) {
            int32_t pair;
            std::memcpy(&pair, rows[m] + k, sizeof(pair));
            const __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
            acc[m][0] = _mm512_dpbf16_ps(acc[m][0], a, b0);
            acc[m][1] = _mm512_dpbf16_ps(acc[m][1], a, b1);
        }
    }
    for (int m = 0; m < mr_used; ++m)
        for (int v = 0; v < 2; ++v) {
            float* cp = c + m * ldc + v * 16;
            _mm512_storeu_ps(cp, accumulate ? _mm512_add_ps(_mm512_loadu_ps(cp), acc[m][v]) : acc[m][v]);
        }
}

// Round to the nearest bfloat16, ties to even (VCVTNE2PS2BF16), 32 values per step.
void convert(const float* src, uint16_t* dst, long n) {
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512bh pair = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
        _mm512_storeu_si512(dst + i, (__m512i)pair);
    }
    if (i < n) {
        alignas(64) float tail[32] = {};
        std::memcpy(tail, src + i, sizeof(float) * (n - i));
        alignas(64) uint16_t out[32];
        _mm512_storeu_si512(out, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(tail + 16), _mm512_loadu_ps(tail)));
        std::memcpy(dst + i, out, sizeof(uint16_t) * (n - i));
    }
}

}  // namespace

const Bf16Kernels* kernels_avx512_bf16() {
    static const Bf16Kernels table{"avx512_bf16", kMR, kNR, &gemm, &convert};
    return &table;
}

}  // namespace rcf
