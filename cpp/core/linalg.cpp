#include "core/linalg.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/isa.hpp"
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
    std::vector<double> packed(static_cast<size_t>(panels * depth * nr), 0.0);
    parallel_for(panels, n_threads, [&](long j, int) {
        for (long col = j * nr; col < std::min(n_cols, (j + 1) * nr); ++col)
            for (long k = 0; k < depth; ++k)
                packed[(j * depth + k) * nr + col % nr] = sign * right[col * ld_right + k];
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

void gram(const double* a, long n, long h, double* g, int n_threads) {
    // Columns of a become contiguous rows so that each Gram entry is a dot product of rows.
    std::vector<double> t(static_cast<size_t>(h * n));
    parallel_for((h + kTaskRows - 1) / kTaskRows, n_threads, [&](long block, int) {
        const long i1 = std::min(h, (block + 1) * kTaskRows);
        for (long r = 0; r < n; ++r)
            for (long i = block * kTaskRows; i < i1; ++i) t[i * n + r] = a[r * h + i];
    });
    const long ldc = round_up(h, active_kernels().nr / 2);
    std::vector<double> c(static_cast<size_t>(h * ldc), 0.0);
    lower_product(t.data(), n, t.data(), n, h, h, n, 1.0, c.data(), ldc, false, n_threads);
    for (long i = 0; i < h; ++i)
        for (long j = 0; j <= i; ++j) g[i * h + j] = g[j * h + i] = c[i * ldc + j];
}

bool cholesky(double* a, long n, int n_threads) {
    // Work on a copy with whole panels per row, so the trailing updates can store full panels.
    const long lda = round_up(n, active_kernels().nr / 2);
    std::vector<double> w(static_cast<size_t>(n * lda), 0.0);
    for (long i = 0; i < n; ++i) std::memcpy(&w[i * lda], a + i * n, sizeof(double) * (i + 1));
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
        if (k1 < n)  // trailing update: A22 -= L21 L21^T (lower triangle)
            lower_product(&w[k1 * lda + k0], lda, &w[k1 * lda + k0], lda, n - k1, n - k1, k1 - k0,
                          -1.0, &w[k1 * lda + k1], lda, true, n_threads);
    }
    for (long i = 0; i < n; ++i)
        for (long j = 0; j < n; ++j) a[i * n + j] = j <= i ? w[i * lda + j] : 0.0;
    return true;
}

void cho_solve(const double* l, long n, double* b, long r) {
    for (long i = 0; i < n; ++i) {  // forward: l y = b
        for (long p = 0; p < i; ++p)
            for (long c = 0; c < r; ++c) b[i * r + c] -= l[i * n + p] * b[p * r + c];
        for (long c = 0; c < r; ++c) b[i * r + c] /= l[i * n + i];
    }
    for (long i = n - 1; i >= 0; --i) {  // backward: l^T x = y
        for (long p = i + 1; p < n; ++p)
            for (long c = 0; c < r; ++c) b[i * r + c] -= l[p * n + i] * b[p * r + c];
        for (long c = 0; c < r; ++c) b[i * r + c] /= l[i * n + i];
    }
}

}  // namespace rcf
