// Bindings of the float64 linear algebra behind the ELM read-out: products, Gram matrices,
// Cholesky factors and triangular solves on strided row-major views.
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/common.hpp"
#include "core/linalg.hpp"

namespace rcf_bindings {
namespace {

// A float64 matrix whose rows may be strided (a view of wider rows) but whose elements
// within a row are contiguous: the layout the linear-algebra kernels take.
using StridedDoubles = py::array_t<double, 0>;

long row_stride(const StridedDoubles& a, const char* what) {
    if (a.ndim() != 2) throw std::invalid_argument(std::string(what) + " must be 2-D");
    if (a.shape(1) > 1 && a.strides(1) != static_cast<py::ssize_t>(sizeof(double)))
        throw std::invalid_argument(std::string(what) + " must have contiguous rows");
    if (a.shape(0) > 1 && (a.strides(0) < 0 || a.strides(0) % sizeof(double) != 0))
        throw std::invalid_argument(std::string(what) + " rows must be a positive whole number of doubles apart");
    return a.shape(0) > 1 ? static_cast<long>(a.strides(0) / sizeof(double)) : a.shape(1);
}

// An (n, n) view of a fresh (n, padded_stride(n)) array: whole kernel panels per row.
py::array_t<double> padded_square(long n, double** data) {
    const long ld = rcf::padded_stride(n);
    DoubleArray base = large_array({n, ld});
    *data = base.mutable_data();
    return py::array_t<double>({n, n}, {static_cast<py::ssize_t>(ld * sizeof(double)),
                                        static_cast<py::ssize_t>(sizeof(double))},
                               *data, base);
}

// Pointers to the chosen rows of a (all of them when none are chosen), checked.
std::vector<const double*> chosen_rows(const StridedDoubles& a, long lda,
                                       const std::optional<py::array_t<long, py::array::c_style>>& rows,
                                       const char* what) {
    std::vector<const double*> pointers;
    if (rows) {
        if (rows->ndim() != 1) throw std::invalid_argument(std::string(what) + ": rows must be 1-D");
        for (long i = 0; i < rows->shape(0); ++i) {
            const long r = rows->data()[i];
            if (r < 0 || r >= a.shape(0))
                throw std::invalid_argument(std::string(what) + ": row index " + std::to_string(r) +
                                            " is out of range");
            pointers.push_back(a.data() + r * lda);
        }
    } else {
        for (long r = 0; r < a.shape(0); ++r) pointers.push_back(a.data() + r * lda);
    }
    return pointers;
}

DoubleArray matmul(const StridedDoubles& a, const DoubleArray& b, int n_threads,
                   const std::optional<py::array_t<long, py::array::c_style>>& rows) {
    const long lda = row_stride(a, "matmul: a");
    check_threads(n_threads);
    if (b.ndim() != 2 || b.shape(0) != a.shape(1))
        throw std::invalid_argument("matmul: b must be 2-D with as many rows as a has columns");
    const std::vector<const double*> pointers = chosen_rows(a, lda, rows, "matmul");
    const long m = static_cast<long>(pointers.size()), k = static_cast<long>(a.shape(1));
    const long r = static_cast<long>(b.shape(1));
    DoubleArray c({m, r});
    double* out = c.mutable_data();
    {
        py::gil_scoped_release release;
        rcf::matmul(pointers.data(), m, k, b.data(), r, out, n_threads);
    }
    return c;
}

py::array_t<double> row_gram(const StridedDoubles& a, int n_threads,
                             const std::optional<py::array_t<long, py::array::c_style>>& rows,
                             bool mirror) {
    const long lda = row_stride(a, "row_gram: a");
    check_threads(n_threads);
    const long n = static_cast<long>(a.shape(1));
    const std::vector<const double*> pointers = chosen_rows(a, lda, rows, "row_gram");
    const long h = static_cast<long>(pointers.size());
    double* out;
    py::array_t<double> g = padded_square(h, &out);
    {
        py::gil_scoped_release release;
        rcf::row_gram(pointers.data(), h, n, out, rcf::padded_stride(h), mirror, n_threads);
    }
    return g;
}

// (factor, p): the lower Cholesky factor of a's leading p x p block, p = n when a is
// numerically positive definite (see the "cholesky_partial" docstring).
py::tuple cholesky_partial(StridedDoubles a, int n_threads, bool overwrite, bool mirror) {
    const long lda = row_stride(a, "cholesky: a");
    check_threads(n_threads);
    if (a.shape(0) != a.shape(1)) throw std::invalid_argument("cholesky: a must be a square 2-D array");
    const long n = static_cast<long>(a.shape(0));
    // In place when asked and the rows already hold whole panels; else in a padded copy.
    const bool in_place = overwrite && a.writeable() && lda >= rcf::padded_stride(n);
    double* out;
    py::object l;
    long ldl;
    if (in_place) {
        out = a.mutable_data();
        l = a;
        ldl = lda;
    } else {
        l = padded_square(n, &out);
        ldl = rcf::padded_stride(n);
    }
    long factored;
    {
        py::gil_scoped_release release;
        if (!in_place)
            for (long i = 0; i < n; ++i)  // the lower triangle is all the factorisation reads
                std::memcpy(out + i * ldl, a.data() + i * lda, sizeof(double) * (i + 1));
        factored = rcf::cholesky(out, n, ldl, mirror, n_threads);
    }
    return py::make_tuple(l, factored);
}

// The whole factor, or None when a is not numerically positive definite.
py::object cholesky(StridedDoubles a, int n_threads, bool overwrite, bool mirror) {
    const long n = a.ndim() == 2 ? static_cast<long>(a.shape(0)) : 0;
    py::tuple result = cholesky_partial(std::move(a), n_threads, overwrite, mirror);
    if (result[1].cast<long>() != n) return py::none();
    return result[0];
}

DoubleArray triangular_solve(const StridedDoubles& t, const DoubleArray& b, bool upper,
                             int n_threads) {
    const long ldt = row_stride(t, "triangular_solve: t");
    check_threads(n_threads);
    if (t.shape(0) != t.shape(1))
        throw std::invalid_argument("triangular_solve: t must be a square 2-D array");
    if (b.ndim() != 2 || b.shape(0) != t.shape(0))
        throw std::invalid_argument("triangular_solve: b must be 2-D with as many rows as t");
    const long n = static_cast<long>(t.shape(0)), r = static_cast<long>(b.shape(1));
    DoubleArray x({n, r});
    std::memcpy(x.mutable_data(), b.data(), sizeof(double) * n * r);
    double* out = x.mutable_data();
    {
        py::gil_scoped_release release;
        rcf::triangular_solve(t.data(), n, ldt, out, r, upper, n_threads);
    }
    return x;
}

}  // namespace

void bind_linalg(py::module_& m) {
    m.def("matmul", &matmul, py::arg("a").noconvert(), py::arg("b").noconvert(),
          py::arg("n_threads") = 0, py::arg("rows") = py::none(),
          "a @ b for a float64 (m, k) array with contiguous rows (or the given rows of it) and "
          "float64 b (k, r), on the native kernels: no BLAS threads left spinning afterwards.");
    m.def("row_gram", &row_gram, py::arg("a").noconvert(), py::arg("n_threads"),
          py::arg("rows") = py::none(), py::arg("mirror") = true,
          "a a^T for a float64 (h, n) array with contiguous rows, or for the given rows of it: "
          "the (h, h) Gram matrix of the rows, a view of rows padded to whole kernel panels. "
          "Without mirror only its lower triangle is computed (the upper one is undefined).");
    m.def("cholesky", &cholesky, py::arg("a").noconvert(), py::arg("n_threads"),
          py::arg("overwrite") = false, py::arg("mirror") = false,
          "Lower Cholesky factor L of a symmetric float64 matrix (its lower triangle is read), "
          "or None if it is not numerically positive definite. With overwrite, a padded "
          "matrix (as row_gram returns) is factored in place and returned. With mirror the "
          "upper triangle holds L^T (else zeros): both factors of a solve in one matrix.");
    m.def("cholesky_partial", &cholesky_partial, py::arg("a").noconvert(), py::arg("n_threads"),
          py::arg("overwrite") = false, py::arg("mirror") = false,
          "As cholesky, but always (factor, p): the leading p x p block of factor is the "
          "Cholesky factor of a's leading block (p = n when a is positive definite).");
    m.def("triangular_solve", &triangular_solve, py::arg("t").noconvert(), py::arg("b").noconvert(),
          py::arg("upper") = false, py::arg("n_threads") = 0,
          "Solves t x = b for float64 b (n, r), reading only the lower triangle of t (and its "
          "diagonal), or with upper only the upper one. A leading block t[:k, :k] of a factor "
          "is solved in place (no copy).");
}

}  // namespace rcf_bindings
