// Dense float64 linear algebra for the ELM read-out: Gram matrix, Cholesky, triangular solves.
// Matrices are row-major with a row stride (in doubles) that may exceed their width, so that
// results can keep whole kernel panels per row and leading blocks can be used in place.
#pragma once

namespace rcf {

// The row stride gram() and cholesky() need for an n-wide result (whole kernel panels).
long padded_stride(long n);

// g = R R^T for the h rows R = rows[0..h), each n long: their dot products. g is h x h with
// row stride ldg >= padded_stride(h); both triangles are filled, the padding is scratch.
void row_gram(const double* const* rows, long h, long n, double* g, long ldg, int n_threads);

// In-place lower Cholesky factor of the symmetric positive definite a (n x n, row stride
// lda >= padded_stride(n); only the lower triangle is read, the padding is scratch). The strict
// upper triangle is set to zero. Returns false, with a partly overwritten, if a is not
// numerically positive definite.
bool cholesky(double* a, long n, long lda, int n_threads);

// Solves l x = b (transpose false) or l^T x = b (transpose true) in place for b (n x r,
// contiguous rows) and l lower triangular (n x n, row stride ldl).
void triangular_solve(const double* l, long n, long ldl, double* b, long r, bool transpose);

}  // namespace rcf
