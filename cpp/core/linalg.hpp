// Dense float64 linear algebra for the ELM read-out: Gram matrix, Cholesky, triangular solves.
// Matrices are row-major with a row stride (in doubles) that may exceed their width, so that
// results can keep whole kernel panels per row and leading blocks can be used in place.
#pragma once

namespace rcf {

// The row stride gram() and cholesky() need for an n-wide result (whole kernel panels).
long padded_stride(long n);

// g = R R^T for the h rows R = rows[0..h), each n long: their dot products. g is h x h with
// row stride ldg >= padded_stride(h); the padding is scratch. The lower triangle is filled,
// and with mirror the upper one too (else it is left as it was: a Cholesky reads no more).
void row_gram(const double* const* rows, long h, long n, double* g, long ldg, bool mirror,
              int n_threads);

// c = A b for the m rows A = rows[0..m), each k long, and b (k x r, contiguous rows); c is
// m x r with contiguous rows.
void matmul(const double* const* rows, long m, long k, const double* b, long r, double* c,
            int n_threads);

// In-place lower Cholesky factor L of the symmetric positive definite a (n x n, row stride
// lda >= padded_stride(n); only the lower triangle is read, the padding is scratch). The strict
// upper triangle is set to zero, or with mirror to L^T, so that one matrix holds both triangular
// factors of a solve. Returns n, or where a is not numerically positive definite the number p of
// leading columns factored: then the leading p x p block holds the factor of a's leading block
// (upper triangle as above) and the rest is partly overwritten.
long cholesky(double* a, long n, long lda, bool mirror, int n_threads);

// Solves t x = b in place for b (n x r, contiguous rows), reading only the lower triangle of t
// (forward substitution) or, with upper, only its upper triangle (backward substitution); t is
// n x n with row stride ldt.
void triangular_solve(const double* t, long n, long ldt, double* b, long r, bool upper,
                      int n_threads);

}  // namespace rcf
