// Dense float64 linear algebra for the ELM read-out: Gram matrix, Cholesky, solves.
#pragma once

namespace rcf {

// g = a^T a for a (n x h) row-major; g is h x h row-major, both triangles filled.
void gram(const double* a, long n, long h, double* g, int n_threads);

// In-place lower Cholesky factor of the symmetric positive definite a (n x n, row-major; only
// the lower triangle is read). The strict upper triangle is set to zero. Returns false, with
// a partly overwritten, if a is not numerically positive definite.
bool cholesky(double* a, long n, int n_threads);

// Solves (l l^T) x = b in place for b (n x r row-major), l lower triangular (n x n).
void cho_solve(const double* l, long n, double* b, long r);

}  // namespace rcf
