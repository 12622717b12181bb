#include "core/linalg.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/isa.hpp"
#include "core/large_buffer.hpp"
#include "core/thread_pool.hpp"

namespace rcf {
namespace {

constexpr long kKc = 256;      // reduction depth per microkernel call
constexpr long kTaskRows = 48;  // output rows per task (fixed: results do not depend on threads)
constexpr long kBlock = 96;     // Cholesky block size

long round_up(long n, long multiple) { return (n + multiple - 1) / multiple * multiple; }

// c[i][j] += sign * sum_k rows_i[k] * cols_j[k] for the lower triangle (j <= i) of the
// rows [0, n_rows) x columns [0, n_cols), where row i of the left factor is left + i * ld_left
// and row j of the right factor is right + j * ld_right, both depth long. c has row stride
// ldc >= round_up(n_cols, panel width) so whole panels can be stored.
void lower_product(const double* left, long ld_left, const double* right, long ld_right,
                   long n_rows, long n_cols, long depth, double sign, double* c, long ldc,
                   bool accumulate, int n_threads) {
    const KernelTable& kt = active_kernels();
    const long nr = kt.nr / 2;
    const long panels = round_up(n_cols, nr) / nr;
    // Panels [j][k][nr] of the right factor, sign folded in, zero past n_cols.
    LargeBuffer<double> packed(static_cast<size_t>(panels * depth * nr));
    parallel_for(panels, n_threads, [&](long j, int) {
        double* panel = packed.data() + j * depth * nr;
        for (long q = 0; q < nr; ++q) {
            const long col = j * nr + q;
            if (col < n_cols) {
                for (long k = 0; k < depth; ++k) panel[k * nr + q] = sign * right[col * ld_right + k];
            } else {
                for (long k = 0; k < depth; ++k) panel[k * nr + q] = 0.0;
            }
        }
    });

    // One reduction slab at a time (a task's rows of it stay in L2 across every panel), its
    // row blocks in parallel; each entry still adds its slabs in order, whatever the threads.
    const long n_tasks = (n_rows + kTaskRows - 1) / kTaskRows;
    for (long k0 = 0; k0 < depth; k0 += kKc) {
        const long kc = std::min(kKc, depth - k0);
        parallel_for(n_tasks, n_threads, [&](long task, int) {
            const long r0 = task * kTaskRows, r1 = std::min(n_rows, r0 + kTaskRows);
            const double* rows[kTaskRows];
            for (long i = r0; i < r1; ++i) rows[i - r0] = left + i * ld_left;
            for (long j = 0; j < panels && j * nr < r1; ++j)  // panels left of the diagonal only
                for (long m0 = r0; m0 < r1; m0 += kt.mr) {
                    const int mr = static_cast<int>(std::min<long>(kt.mr, r1 - m0));
                    kt.dgemm(mr, kc, rows + (m0 - r0), k0, packed.data() + (j * depth + k0) * nr,
                             c + m0 * ldc + j * nr, ldc, accumulate || k0 > 0);
                }
        });
    }
}

}  // namespace

long padded_stride(long n) { return round_up(std::max(n, 1L), active_kernels().nr / 2); }

void gram(const double* a, long n, long lda, const long* columns, long h, double* g, long ldg,
          int n_threads) {
    // The chosen columns of a become contiguous rows, so each Gram entry is a dot product of
    // rows; this one copy serves as both factors.
    LargeBuffer<double> t(static_cast<size_t>(h * n));
    parallel_for((h + kTaskRows - 1) / kTaskRows, n_threads, [&](long block, int) {
        const long i0 = block * kTaskRows, i1 = std::min(h, i0 + kTaskRows);
        for (long r = 0; r < n; ++r) {
            const double* row = a + r * lda;
            for (long i = i0; i < i1; ++i) t[i * n + r] = row[columns ? columns[i] : i];
        }
    });
    lower_product(t.data(), n, t.data(), n, h, h, n, 1.0, g, ldg, false, n_threads);
    // Mirror the lower triangle into the upper one, a square tile at a time.
    constexpr long kTile = 64;
    const long tiles = (h + kTile - 1) / kTile;
    parallel_for(tiles, n_threads, [&](long bi, int) {
        for (long bj = 0; bj <= bi; ++bj)
            for (long i = bi * kTile; i < std::min(h, (bi + 1) * kTile); ++i)
                for (long j = bj * kTile; j < std::min(i, (bj + 1) * kTile); ++j)
                    g[j * ldg + i] = g[i * ldg + j];
    });
}

bool cholesky(double* w, long n, long lda, int n_threads) {
    for (long k0 = 0; k0 < n; k0 += kBlock) {
        const long k1 = std::min(n, k0 + kBlock);
        // Factor the diagonal block (its trailing updates are already applied).
        for (long j = k0; j < k1; ++j) {
            double d = w[j * lda + j];
            for (long p = k0; p < j; ++p) d -= w[j * lda + p] * w[j * lda + p];
            if (!(d > 0.0) || !std::isfinite(d)) return false;
            const double root = std::sqrt(d);
            w[j * lda + j] = root;
            for (long i = j + 1; i < k1; ++i) {
                double s = w[i * lda + j];
                for (long p = k0; p < j; ++p) s -= w[i * lda + p] * w[j * lda + p];
                w[i * lda + j] = s / root;
            }
        }
        // The rows below: L21 = A21 L11^-T, each row a forward substitution of its own, in
        // parallel, as axpys along a transposed copy of L11 (contiguous, so they vectorise).
        const long b = k1 - k0;
        std::vector<double> lt(static_cast<size_t>(b * b), 0.0);
        for (long j = 0; j < b; ++j)
            for (long q = j; q < b; ++q) lt[j * b + q] = w[(k0 + q) * lda + k0 + j];
        const long below = n - k1;
        parallel_for((below + kTaskRows - 1) / kTaskRows, n_threads, [&](long task, int) {
            for (long i = k1 + task * kTaskRows; i < std::min(n, k1 + (task + 1) * kTaskRows); ++i) {
                double* x = &w[i * lda + k0];
                for (long j = 0; j < b; ++j) {
                    x[j] /= lt[j * b + j];
                    const double xj = x[j];
                    const double* column = &lt[j * b];
                    for (long q = j + 1; q < b; ++q) x[q] -= xj * column[q];
                }
            }
        });
        // Trailing update A22 -= L21 L21^T. It stores whole panels, so entries right of the
        // diagonal (and in the padding) take scratch values; only the lower triangle is read.
        if (k1 < n)
            lower_product(&w[k1 * lda + k0], lda, &w[k1 * lda + k0], lda, n - k1, n - k1, k1 - k0,
                          -1.0, &w[k1 * lda + k1], lda, true, n_threads);
    }
    for (long i = 0; i < n; ++i) std::fill(w + i * lda + i + 1, w + i * lda + n, 0.0);
    return true;
}

void triangular_solve(const double* l, long n, long ldl, double* b, long r, bool transpose) {
    // Both directions walk rows of l (contiguous): forward as dot products with the solved
    // rows above, backward by subtracting each solved row's share from the rows above it.
    if (!transpose) {
        for (long i = 0; i < n; ++i) {
            const double* li = l + i * ldl;
            double* bi = b + i * r;
            for (long p = 0; p < i; ++p)
                for (long c = 0; c < r; ++c) bi[c] -= li[p] * b[p * r + c];
            for (long c = 0; c < r; ++c) bi[c] /= li[i];
        }
        return;
    }
    for (long i = n - 1; i >= 0; --i) {
        const double* li = l + i * ldl;
        double* bi = b + i * r;
        for (long c = 0; c < r; ++c) bi[c] /= li[i];
        for (long p = 0; p < i; ++p)
            for (long c = 0; c < r; ++c) b[p * r + c] -= li[p] * bi[c];
    }
}

}  // namespace rcf
