// The RandomState normal draw's steps on AVX-512 (F/DQ): the shared steps of randomstate_draw.hpp built
// for it, and a candidate scan eight at a time. Built with -ffp-contract=off (CMakeLists.txt):
// a fused x1 * x1 + x2 * x2 would round differently from numpy's own build and change which
// candidates the polar method accepts. Every step of the scan is exact or one IEEE operation
// in the scalar order, so its points are the portable scan's bit for bit.
#include <immintrin.h>

#include <cstdint>

#include "kernels/kernel_table.hpp"
#include "kernels/randomstate_draw.hpp"

namespace rcf {
namespace {

// The coordinates 2 u - 1 of four candidates (x1, x2, x1, x2, ...) from their 16 words. A
// 64-bit lane holds a coordinate's two words, the first in its low half: u = (first >> 5)
// * 2^26 + (second >> 6), over 2^53, is built as that 53-bit integer and converted exactly.
__m512d coordinates(__m512i words) {
    const __m512i high = _mm512_slli_epi64(_mm512_and_si512(words, _mm512_set1_epi64(0xffffffe0)), 21);
    const __m512i mantissa = _mm512_or_si512(high, _mm512_srli_epi64(words, 38));
    const __m512d u = _mm512_mul_pd(_mm512_cvtepu64_pd(mantissa), _mm512_set1_pd(0x1p-53));
    return _mm512_sub_pd(_mm512_add_pd(u, u), _mm512_set1_pd(1.0));
}

int scan(const uint32_t* words, int candidates, long wanted, long* found, double* x1,
               double* x2, double* r2) {
    const __m512i first = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i second = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
    long n = *found;
    int used = 0;
    for (; used + 8 <= candidates; used += 8) {
        const __m512d low = coordinates(_mm512_loadu_si512(words + 4 * used));
        const __m512d high = coordinates(_mm512_loadu_si512(words + 4 * used + 16));
        const __m512d a = _mm512_permutex2var_pd(low, first, high);
        const __m512d b = _mm512_permutex2var_pd(low, second, high);
        const __m512d radius = _mm512_add_pd(_mm512_mul_pd(a, a), _mm512_mul_pd(b, b));
        const __mmask8 accepted =
            _mm512_cmp_pd_mask(radius, _mm512_set1_pd(1.0), _CMP_LT_OQ) &
            _mm512_cmp_pd_mask(radius, _mm512_setzero_pd(), _CMP_NEQ_OQ);
        const int count = __builtin_popcount(accepted);
        if (n + count >= wanted) break;  // the block that completes the draw goes one by one
        // Compressed in registers, then a masked store: a compressing store to memory is slow
        // on some cores (Zen 4).
        const __mmask8 head = static_cast<__mmask8>((1u << count) - 1);
        _mm512_mask_storeu_pd(x1 + n, head, _mm512_maskz_compress_pd(accepted, a));
        _mm512_mask_storeu_pd(x2 + n, head, _mm512_maskz_compress_pd(accepted, b));
        _mm512_mask_storeu_pd(r2 + n, head, _mm512_maskz_compress_pd(accepted, radius));
        n += count;
    }
    *found = n;
    return used;
}

}  // namespace

const RandomStateDrawKernels* randomstate_draw_avx512() {
    static const RandomStateDrawKernels table{&randomstate_draw::twist, &randomstate_draw::temper, &scan,
                                         &randomstate_draw::polar_normals};
    return &table;
}

}  // namespace rcf
