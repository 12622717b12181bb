// The ELM read-out's float64 linear algebra on the GEMM microkernels: products, Gram matrices,
// a blocked Cholesky factorisation and triangular solves.
#include "core/linalg.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/isa.hpp"
#include "core/large_buffer.hpp"
#include "core/sizes.hpp"
#include "core/thread_pool.hpp"

namespace rcf {
namespace {

constexpr long kKc = 256;      // reduction depth per microkernel call
constexpr long kTaskRows = 48;  // output rows per task (fixed: results do not depend on threads)
constexpr long kBlock = 96;     // Cholesky block size
static_assert(kBlock % 16 == 0, "Cholesky blocks must hold whole float64 panels");
constexpr long kSolveBlock = 32;   // rows a triangular solve substitutes between two products


// Fills packed with panels [j][k][nr] of the n_cols x depth matrix whose rows are
// right[0..n_cols) from column offset on, times sign, zero past n_cols: the right factor of the
// microkernel.
void pack_panels_into(double* packed, const double* const* right, long n_cols, long offset,
                      long depth, double sign, long nr, int n_threads) {
    parallel_for(round_up(n_cols, nr) / nr, n_threads, [&](long j, int) {
        double* panel = packed + j * depth * nr;
        const long width = std::min(nr, n_cols - j * nr);
        const double* const* cols = right + j * nr;
        // Row by row of the panel, so each of its cache lines is written once.
        for (long k = 0; k < depth; ++k) {
            for (long q = 0; q < width; ++q) panel[k * nr + q] = sign * cols[q][offset + k];
            for (long q = width; q < nr; ++q) panel[k * nr + q] = 0.0;
        }
    });
}

LargeBuffer<double> pack_panels(const double* const* right, long n_cols, long depth, double sign,
                                long nr, int n_threads) {
    LargeBuffer<double> packed(static_cast<size_t>(std::max(round_up(n_cols, nr) * depth, 1L)));
    pack_panels_into(packed.data(), right, n_cols, 0, depth, sign, nr, n_threads);
    return packed;
}

// Pointers to n rows that start at first and lie stride doubles apart.
std::vector<const double*> strided_rows(const double* first, long n, long stride) {
    std::vector<const double*> rows(static_cast<size_t>(n));
    for (long i = 0; i < n; ++i) rows[i] = first + i * stride;
    return rows;
}

// c[i][0..nr) (+)= sum_k rows[i][offset + k] * panel[k][0..nr) for i < count: the float64
// microkernel over groups of mr rows, c's rows ldc doubles apart.
void rows_times_panel(const KernelTable& kt, const double* const* rows, long count, long kc,
                      long offset, const double* panel, double* c, long ldc, int accumulate) {
    for (long m0 = 0; m0 < count; m0 += kt.mr) {
        const int mr = static_cast<int>(std::min<long>(kt.mr, count - m0));
        kt.dgemm(mr, kc, rows + m0, offset, panel, c + m0 * ldc, ldc, accumulate);
    }
}

// c[i][j] = sum_k rows[i][k] * rows[j][k] over depth for the lower triangle (j <= i) of the
// n x n product; c has row stride ldc >= round_up(n, panel width) so whole panels can be stored.
void lower_product(const double* const* rows, long n, long depth, double* c, long ldc,
                   int n_threads) {
    const KernelTable& kt = active_kernels();
    const long nr = kt.nr / 2;
    const long panels = round_up(n, nr) / nr;
    // One reduction slab at a time (a task's rows of it stay in L2 across every panel), its
    // row blocks in parallel; each entry still adds its slabs in order, whatever the threads.
    // The slab's panels are packed just before: a few MB that stay in L3 while every task
    // reads them, where packing the whole depth at once went through memory.
    LargeBuffer<double> packed(static_cast<size_t>(panels * std::min(kKc, depth) * nr));
    const long n_tasks = (n + kTaskRows - 1) / kTaskRows;
    for (long k0 = 0; k0 < depth; k0 += kKc) {
        const long kc = std::min(kKc, depth - k0);
        pack_panels_into(packed.data(), rows, n, k0, kc, 1.0, nr, n_threads);
        parallel_for(n_tasks, n_threads, [&](long task, int) {
            // The lowest rows first: they reach the most panels, so the smallest tasks come
            // last and the threads finish together.
            const long r0 = (n_tasks - 1 - task) * kTaskRows, r1 = std::min(n, r0 + kTaskRows);
            for (long j = 0; j < panels && j * nr < r1; ++j) {  // panels left of the diagonal
                // Groups of rows that lie wholly above the panel's first column are skipped:
                // their products there belong to the upper triangle.
                const long skip = j * nr > r0 ? (j * nr - r0) / kt.mr * kt.mr : 0;
                rows_times_panel(kt, rows + r0 + skip, r1 - r0 - skip, kc, k0,
                                 packed.data() + j * kc * nr, c + (r0 + skip) * ldc + j * nr, ldc,
                                 k0 > 0);
            }
        });
    }
}

// Copies the lower triangle of the n x n matrix g (row stride ld) onto the upper one, a square
// tile at a time.
void mirror_lower(double* g, long n, long ld, int n_threads) {
    constexpr long kTile = 64;
    const long tiles = (n + kTile - 1) / kTile;
    parallel_for(tiles, n_threads, [&](long bi, int) {
        for (long bj = 0; bj <= bi; ++bj)
            for (long i = bi * kTile; i < std::min(n, (bi + 1) * kTile); ++i)
                for (long j = bj * kTile; j < std::min(i, (bj + 1) * kTile); ++j)
                    g[j * ld + i] = g[i * ld + j];
    });
}

// For each nr x nr diagonal tile D of the lower-triangular b x b matrix l (row stride ld):
// D^-T as a microkernel panel, [k][q] = D^-1[q][k], so that x D^-T is one product.
std::vector<double> transposed_tile_inverses(const double* l, long b, long ld, long nr) {
    std::vector<double> panels(static_cast<size_t>(b * nr), 0.0);
    for (long s0 = 0; s0 < b; s0 += nr) {
        double* p = panels.data() + s0 * nr;  // D^-1[i][j] lies at p[j * nr + i]
        const double* d = l + s0 * ld + s0;
        for (long j = 0; j < nr; ++j) {  // column j of D^-1, from the diagonal down
            p[j * nr + j] = 1.0 / d[j * ld + j];
            for (long i = j + 1; i < nr; ++i) {
                double sum = 0.0;
                for (long k = j; k < i; ++k) sum += d[i * ld + k] * p[j * nr + k];
                p[j * nr + i] = -sum / d[i * ld + i];
            }
        }
    }
    return panels;
}

}  // namespace

long padded_stride(long n) { return round_up(std::max(n, 1L), active_kernels().nr / 2); }

void row_gram(const double* const* rows, long h, long n, double* g, long ldg, bool mirror,
              int n_threads) {
    lower_product(rows, h, n, g, ldg, n_threads);
    if (mirror) mirror_lower(g, h, ldg, n_threads);
}

void matmul(const double* const* rows, long m, long k, const double* b, long r, double* c,
            int n_threads) {
    // b in panels of nr columns (zero past r); each task's rows go through the whole depth at
    // once into a scratch tile of whole panels, copied out to c's r columns.
    const KernelTable& kt = active_kernels();
    const long nr = kt.nr / 2, panels = round_up(std::max(r, 1L), nr) / nr;
    std::vector<double> packed(static_cast<size_t>(panels * std::max(k, 1L) * nr), 0.0);
    for (long kk = 0; kk < k; ++kk)
        for (long col = 0; col < r; ++col) packed[((col / nr) * k + kk) * nr + col % nr] = b[kk * r + col];
    parallel_for((m + kTaskRows - 1) / kTaskRows, n_threads, [&](long task, int) {
        const long r0 = task * kTaskRows, r1 = std::min(m, r0 + kTaskRows);
        std::vector<double> tile(static_cast<size_t>(kTaskRows * panels * nr), 0.0);
        if (k > 0)
            for (long j = 0; j < panels; ++j)
                rows_times_panel(kt, rows + r0, r1 - r0, k, 0, packed.data() + j * k * nr,
                                 tile.data() + j * nr, panels * nr, 0);
        for (long i = r0; i < r1; ++i)
            std::copy(tile.data() + (i - r0) * panels * nr, tile.data() + (i - r0) * panels * nr + r,
                      c + i * r);
    });
}

long cholesky(double* w, long n, long lda, bool mirror, int n_threads) {
    // The strict upper triangle of the leading `done` columns: L^T or zeros.
    auto finish = [&](long done) {
        if (mirror) {
            mirror_lower(w, done, lda, n_threads);
        } else {
            for (long i = 0; i < done; ++i) std::fill(w + i * lda + i + 1, w + i * lda + done, 0.0);
        }
        return done;
    };
    // Left-looking by blocks of kBlock columns: each block column first takes the updates of
    // every column left of it in one product (so the trailing matrix is never rewritten block
    // after block), then its diagonal block is factored, then the rows below it are solved.
    const KernelTable& kt = active_kernels();
    const long nr = kt.nr / 2;
    for (long k0 = 0; k0 < n; k0 += kBlock) {
        const long b = std::min(kBlock, n - k0), k1 = k0 + b;
        if (k0 > 0) {  // A[k0:, k0:k1] -= L[k0:, :k0] L[k0:k1, :k0]^T
            const LargeBuffer<double> packed =
                pack_panels(strided_rows(w + k0 * lda, b, lda).data(), b, k0, -1.0, nr, n_threads);
            const long panels = round_up(b, nr) / nr;
            parallel_for((n - k0 + kTaskRows - 1) / kTaskRows, n_threads, [&](long task, int) {
                const long r0 = k0 + task * kTaskRows, r1 = std::min(n, r0 + kTaskRows);
                const double* rows[kTaskRows];
                for (long i = r0; i < r1; ++i) rows[i - r0] = w + i * lda;
                for (long d0 = 0; d0 < k0; d0 += kKc)
                    for (long j = 0; j < panels; ++j)
                        rows_times_panel(kt, rows, r1 - r0, std::min(kKc, k0 - d0), d0,
                                         packed.data() + (j * k0 + d0) * nr, w + r0 * lda + k0 + j * nr,
                                         lda, 1);
            });
        }
        // The diagonal block, column by column.
        for (long j = k0; j < k1; ++j) {
            double d = w[j * lda + j];
            for (long p = k0; p < j; ++p) d -= w[j * lda + p] * w[j * lda + p];
            if (!(d > 0.0) || !std::isfinite(d)) return finish(j);  // columns < j are final
            const double root = std::sqrt(d);
            w[j * lda + j] = root;
            for (long i = j + 1; i < k1; ++i) {
                double s = w[i * lda + j];
                for (long p = k0; p < j; ++p) s -= w[i * lda + p] * w[j * lda + p];
                w[i * lda + j] = s / root;
            }
        }
        if (k1 == n) break;
        // The rows below: L21 = A21 L11^-T, nr columns (a group) at a time, on the microkernel:
        // each group first takes the products of the groups left of it (against packed rows of
        // L11), then is multiplied by the transposed inverse of its diagonal tile of L11. That
        // product reads its rows before it writes them, so it runs in place. (kBlock is a
        // multiple of every panel width: the groups are whole.)
        const LargeBuffer<double> l11 =
            pack_panels(strided_rows(w + k0 * lda + k0, b, lda).data(), b, b, -1.0, nr, n_threads);
        const std::vector<double> inverses = transposed_tile_inverses(w + k0 * lda + k0, b, lda, nr);
        parallel_for((n - k1 + kTaskRows - 1) / kTaskRows, n_threads, [&](long task, int) {
            const long r0 = k1 + task * kTaskRows, r1 = std::min(n, r0 + kTaskRows);
            const double* rows[kTaskRows];
            for (long i = r0; i < r1; ++i) rows[i - r0] = w + i * lda + k0;
            for (long s0 = 0; s0 < b; s0 += nr) {
                double* group = w + r0 * lda + k0 + s0;
                if (s0 > 0)  // panel s0 / nr of l11 holds rows s0.. of L11: its first s0 columns
                    rows_times_panel(kt, rows, r1 - r0, s0, 0, l11.data() + (s0 / nr) * b * nr,
                                     group, lda, 1);
                rows_times_panel(kt, rows, r1 - r0, nr, s0, inverses.data() + s0 * nr, group, lda, 0);
            }
        });
    }
    return finish(n);
}

void triangular_solve(const double* t, long n, long ldt, double* b, long r, bool upper,
                      int n_threads) {
    // By blocks of kSolveBlock rows in the order of the substitution: a block first takes the
    // products with every row solved before it on the microkernel, then substitutes within
    // itself. The right-hand sides are worked on in panels of nr columns in which solved rows
    // hold -x, so that the products accumulate b - t x directly.
    const KernelTable& kt = active_kernels();
    const long nr = kt.nr / 2;
    const std::vector<const double*> rows = strided_rows(t, n, ldt);
    const long blocks = (n + kSolveBlock - 1) / kSolveBlock;
    parallel_for(round_up(std::max(r, 1L), nr) / nr, n_threads, [&](long p, int) {
        const long c0 = p * nr, width = std::min(nr, r - c0);
        std::vector<double> x(static_cast<size_t>(n * nr), 0.0);
        for (long i = 0; i < n; ++i)
            std::copy(b + i * r + c0, b + i * r + c0 + width, x.data() + i * nr);
        for (long step = 0; step < blocks; ++step) {
            const long block = upper ? blocks - 1 - step : step;
            const long i0 = block * kSolveBlock, i1 = std::min(n, i0 + kSolveBlock);
            if (!upper && i0 > 0)  // rows [0, i0) are solved
                rows_times_panel(kt, rows.data() + i0, i1 - i0, i0, 0, x.data(), x.data() + i0 * nr,
                                 nr, 1);
            if (upper && i1 < n)  // rows [i1, n) are solved
                rows_times_panel(kt, rows.data() + i0, i1 - i0, n - i1, i1, x.data() + i1 * nr,
                                 x.data() + i0 * nr, nr, 1);
            for (long m = 0; m < i1 - i0; ++m) {
                const long i = upper ? i1 - 1 - m : i0 + m;
                const long k0 = upper ? i + 1 : i0, k1 = upper ? i1 : i;
                const double* ti = t + i * ldt;
                double* xi = x.data() + i * nr;
                for (long k = k0; k < k1; ++k)
                    for (long q = 0; q < nr; ++q) xi[q] += ti[k] * x[k * nr + q];
                for (long q = 0; q < nr; ++q) xi[q] = -xi[q] / ti[i];
            }
        }
        for (long i = 0; i < n; ++i)
            for (long q = 0; q < width; ++q) b[i * r + c0 + q] = -x[i * nr + q];
    });
}

}  // namespace rcf
