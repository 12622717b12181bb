// Python bindings: check shapes, release the GIL, call the driver. No algorithm lives here, and
// arrays are never converted silently (the Python layer does the one explicit conversion).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/conv.hpp"
#include "core/dense.hpp"
#include "core/isa.hpp"
#include "core/large_buffer.hpp"
#include "core/legacy_normal.hpp"
#include "core/linalg.hpp"
#include "core/thread_pool.hpp"

namespace py = pybind11;
using FloatArray = py::array_t<float, py::array::c_style>;
using DoubleArray = py::array_t<double, py::array::c_style>;

namespace {

const std::string kActivations[] = {"none", "relu", "elu"};

// An uninitialised C-contiguous array on a LargeBuffer, released with the array: the ELM's
// 50-70 MB results then reuse the blocks of the previous call instead of fresh pages.
DoubleArray large_array(const std::vector<py::ssize_t>& shape) {
    size_t count = 1;
    for (py::ssize_t extent : shape) count *= static_cast<size_t>(extent);
    auto buffer = std::make_unique<rcf::LargeBuffer<double>>(count);
    double* data = buffer->data();
    py::capsule owner(buffer.get(), [](void* p) { delete static_cast<rcf::LargeBuffer<double>*>(p); });
    buffer.release();  // the capsule owns it now
    return DoubleArray(shape, data, owner);
}

int activation_code(const std::string& name) {
    for (int i = 0; i < 3; ++i)
        if (name == kActivations[i]) return i;
    throw std::invalid_argument("unknown activation '" + name + "' (expected none, relu or elu)");
}

const std::string kAlgorithms[] = {"auto", "direct", "winograd"};

int algorithm_code(const std::string& name) {
    for (int i = 0; i < 3; ++i)
        if (name == kAlgorithms[i]) return i;
    throw std::invalid_argument("unknown algorithm '" + name + "' (expected auto, direct or winograd)");
}

py::tuple run_conv(const FloatArray& x, const FloatArray& w, const FloatArray& b,
                   std::array<int, 2> stride, std::array<int, 4> padding,
                   const std::string& activation, std::array<int, 2> pool, bool write_output,
                   int n_threads, const std::optional<FloatArray>& residual,
                   const std::string& algorithm, const std::string& precision,
                   rcf::PackedWeights* packed) {
    if (x.ndim() != 3) throw std::invalid_argument("conv: x must be 3-D (time, freq, channels)");
    if (w.ndim() != 4) throw std::invalid_argument("conv: w must be 4-D (out, in, kh, kw)");
    if (b.ndim() != 1) throw std::invalid_argument("conv: b must be 1-D (out,)");
    if (w.shape(1) != x.shape(2))
        throw std::invalid_argument("conv: w has " + std::to_string(w.shape(1)) +
                                    " input channels but x has " + std::to_string(x.shape(2)));
    if (b.shape(0) != w.shape(0))
        throw std::invalid_argument("conv: b and w disagree on the output channels");
    if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0");

    rcf::ConvArgs a{};
    a.x = x.data();
    a.t_in = static_cast<long>(x.shape(0));
    a.f_in = static_cast<int>(x.shape(1));
    a.c_in = static_cast<int>(x.shape(2));
    a.w = w.data();
    a.bias = b.data();
    a.c_out = static_cast<int>(w.shape(0));
    a.kh = static_cast<int>(w.shape(2));
    a.kw = static_cast<int>(w.shape(3));
    a.stride_t = stride[0];
    a.stride_f = stride[1];
    a.pad_t0 = padding[0];
    a.pad_t1 = padding[1];
    a.pad_f0 = padding[2];
    a.pad_f1 = padding[3];
    a.activation = activation_code(activation);
    a.pool_t = pool[0];
    a.pool_f = pool[1];
    a.n_threads = n_threads;
    a.algorithm = algorithm_code(algorithm);
    if (precision != "fp32" && precision != "bf16")
        throw std::invalid_argument("unknown precision '" + precision + "' (expected fp32 or bf16)");
    a.precision = precision == "bf16" ? rcf::kPrecisionBf16 : rcf::kPrecisionFp32;
    a.packed = packed;

    py::object out = py::none();
    const long rows = rcf::conv_output_length(a.t_in, a.kh, std::max(a.stride_t, 1), a.pad_t0, a.pad_t1) /
                      std::max(a.pool_t, 1);
    const long cols = rcf::conv_output_length(a.f_in, a.kw, std::max(a.stride_f, 1), a.pad_f0, a.pad_f1) /
                      std::max(a.pool_f, 1);
    if (residual) {
        const FloatArray& r = *residual;
        if (r.ndim() != 3 || r.shape(0) != rows || r.shape(1) != cols || r.shape(2) != a.c_out)
            throw std::invalid_argument("conv: residual must have the output's shape (" +
                                        std::to_string(rows) + ", " + std::to_string(cols) + ", " +
                                        std::to_string(a.c_out) + ")");
        a.residual = r.data();
    }
    if (write_output && rows > 0 && cols > 0) {
        FloatArray y({rows, cols, static_cast<long>(a.c_out)});
        a.out = y.mutable_data();
        out = y;
    }
    py::array_t<double> sums(a.c_out);
    a.sums = sums.mutable_data();
    {
        py::gil_scoped_release release;
        rcf::conv(a);
    }
    return py::make_tuple(out, sums);
}

py::tuple conv(const FloatArray& x, const FloatArray& w, const FloatArray& b,
               std::array<int, 2> stride, std::array<int, 4> padding,
               const std::string& activation, std::array<int, 2> pool, bool write_output,
               int n_threads, const std::optional<FloatArray>& residual,
               const std::string& algorithm, const std::string& precision) {
    return run_conv(x, w, b, stride, padding, activation, pool, write_output, n_threads, residual,
                    algorithm, precision, nullptr);
}

// One layer's weights, copied and kept with their packed forms for repeated calls.
class ConvLayer {
  public:
    ConvLayer(const FloatArray& w, const FloatArray& b)
        : w_(copy(w)), b_(copy(b)), packed_(new rcf::PackedWeights) {
        if (w_.ndim() != 4) throw std::invalid_argument("ConvLayer: w must be 4-D (out, in, kh, kw)");
        if (b_.ndim() != 1 || b_.shape(0) != w_.shape(0))
            throw std::invalid_argument("ConvLayer: b must be 1-D with w's output channels");
    }

    py::tuple operator()(const FloatArray& x, std::array<int, 2> stride,
                         std::array<int, 4> padding, const std::string& activation,
                         std::array<int, 2> pool, bool write_output, int n_threads,
                         const std::optional<FloatArray>& residual,
                         const std::string& algorithm, const std::string& precision) {
        return run_conv(x, w_, b_, stride, padding, activation, pool, write_output, n_threads,
                        residual, algorithm, precision, packed_.get());
    }

  private:
    static FloatArray copy(const FloatArray& a) {
        FloatArray out(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()));
        std::memcpy(out.mutable_data(), a.data(), sizeof(float) * a.size());
        return out;
    }
    FloatArray w_, b_;
    std::unique_ptr<rcf::PackedWeights> packed_;
};

// A legacy RandomState state as get_state() gives it, checked.
rcf::LegacyNormalState legacy_state(const py::array_t<uint32_t, py::array::c_style>& key, int pos,
                                    bool has_gauss, double gauss, int n_threads) {
    if (key.ndim() != 1 || key.shape(0) != 624)
        throw std::invalid_argument("RandomState state: key must hold the 624 words of an MT19937 state");
    if (pos < 0 || pos > 624) throw std::invalid_argument("RandomState state: pos must be in [0, 624]");
    if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0");
    rcf::LegacyNormalState state;
    std::memcpy(state.key, key.data(), sizeof(state.key));
    state.pos = pos;
    state.has_gauss = has_gauss;
    state.gauss = gauss;
    return state;
}

py::array_t<uint32_t> key_words(const rcf::LegacyNormalState& state) {
    py::array_t<uint32_t> key({624});
    std::memcpy(key.mutable_data(), state.key, sizeof(state.key));
    return key;
}

// The ELM hidden layer: the weights packed once, applied to any number of inputs.
class DenseRelu {
  public:
    DenseRelu(const DoubleArray& w, const DoubleArray& b, int n_threads) {
        if (w.ndim() != 2 || w.shape(0) < 1 || w.shape(1) < 1)
            throw std::invalid_argument("DenseRelu: w must be a non-empty 2-D array (inputs, units)");
        if (b.ndim() != 1 || b.shape(0) != w.shape(1))
            throw std::invalid_argument("DenseRelu: b must be 1-D with one bias per unit");
        if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0");
        py::gil_scoped_release release;
        layer_ = std::make_unique<rcf::DenseRelu>(w.data(), b.data(), static_cast<long>(w.shape(0)),
                                                  static_cast<long>(w.shape(1)), n_threads);
    }

    // The layer a legacy RandomState state draws (biases, then weights), with the state after
    // the draw: (layer, key, pos, has_gauss, gauss).
    static py::tuple draw(const py::array_t<uint32_t, py::array::c_style>& key, int pos,
                          bool has_gauss, double gauss, long inputs, long units, int n_threads) {
        if (inputs < 1 || units < 1)
            throw std::invalid_argument("DenseRelu.draw: inputs and units must be positive");
        rcf::LegacyNormalState state = legacy_state(key, pos, has_gauss, gauss, n_threads);
        DenseRelu layer;
        {
            py::gil_scoped_release release;
            layer.layer_ = std::make_unique<rcf::DenseRelu>(state, inputs, units, n_threads);
        }
        return py::make_tuple(std::move(layer), key_words(state), state.pos, state.has_gauss,
                              state.gauss);
    }

    DoubleArray operator()(const FloatArray& x, int n_threads, bool transposed) const {
        if (x.ndim() != 2 || x.shape(1) != layer_->inputs())
            throw std::invalid_argument("DenseRelu: x must be 2-D with " +
                                        std::to_string(layer_->inputs()) + " columns");
        if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0");
        const long n = static_cast<long>(x.shape(0));
        DoubleArray out = transposed ? large_array({layer_->units(), n}) : large_array({n, layer_->units()});
        double* o = out.mutable_data();
        {
            py::gil_scoped_release release;
            (*layer_)(x.data(), n, o, n_threads, transposed);
        }
        return out;
    }

  private:
    DenseRelu() = default;
    std::unique_ptr<rcf::DenseRelu> layer_;
};

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
    if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0");
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
    if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0");
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

py::object cholesky(StridedDoubles a, int n_threads, bool overwrite, bool mirror, bool partial) {
    const long lda = row_stride(a, "cholesky: a");
    if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0");
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
    if (partial) return py::make_tuple(l, factored);
    return factored == n ? l : py::none();
}

DoubleArray triangular_solve(const StridedDoubles& t, const DoubleArray& b, bool upper,
                             int n_threads) {
    const long ldt = row_stride(t, "triangular_solve: t");
    if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0");
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

// The next n values of a legacy RandomState's standard normal stream, from its state as
// get_state() gives it; returns (values, key, pos, has_gauss, gauss) for set_state().
py::tuple legacy_normals(const py::array_t<uint32_t, py::array::c_style>& key, int pos,
                         bool has_gauss, double gauss, long n, int n_threads) {
    if (n < 0) throw std::invalid_argument("legacy_normals: n must be >= 0");
    rcf::LegacyNormalState state = legacy_state(key, pos, has_gauss, gauss, n_threads);
    DoubleArray values = large_array({n});
    double* out = values.mutable_data();
    {
        py::gil_scoped_release release;
        rcf::legacy_normals(state, out, n, n_threads);
    }
    return py::make_tuple(values, key_words(state), state.pos, state.has_gauss, state.gauss);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "randcnn_fast native core: SIMD convolution kernels dispatched at run time";

    m.def("isa_info", [] {
        const rcf::IsaInfo info = rcf::isa_info();
        py::dict d;
        d["detected"] = info.detected;
        d["active"] = info.active;
        d["compiled"] = info.compiled;
        d["supported"] = info.supported;
        d["bf16"] = info.bf16;
        const rcf::KernelTable& kt = rcf::active_kernels();
        d["tile"] = py::dict(py::arg("mr") = kt.mr, py::arg("nr") = kt.nr);
        return d;
    }, "Detected, active, compiled and supported instruction sets, and the active register tile.");
    // The tiling, for tests that probe sizes below, at and above a tile.
    m.attr("CONV_TILE_POSITIONS") = rcf::kConvTilePositions;
    m.attr("CONV_KC") = rcf::kConvKc;
    m.attr("DENSE_TASK_ROWS") = rcf::kDenseTaskRows;
    m.attr("DENSE_KC") = rcf::kDenseKc;
    m.def("set_isa", &rcf::set_isa, py::arg("name"),
          "Switch the kernels to another compiled level this CPU supports.");
    m.def("resolve_threads", &rcf::resolve_threads, py::arg("n_threads"),
          "Threads a heavy call uses for n_threads (0 = every core this process may use).");
    m.def("conv", &conv, py::arg("x").noconvert(), py::arg("w").noconvert(),
          py::arg("b").noconvert(), py::arg("stride"), py::arg("padding"), py::arg("activation"),
          py::arg("pool"), py::arg("write_output"), py::arg("n_threads"),
          py::arg("residual").noconvert() = py::none(), py::arg("algorithm") = "auto",
          py::arg("precision") = "fp32",
          R"doc(Fused convolution over time x frequency, channels last: conv, max-pool, bias, activation.

x: float32 (t, f, c_in); w: float32 (c_out, c_in, kh, kw); b: float32 (c_out,).
stride: (time, freq); padding: (time before, time after, freq before, freq after);
activation: "none", "relu" or "elu"; pool: 'valid' max-pool window = stride (time, freq).
residual: optional float32 map of the output's shape added after the activation (pool 1 x 1).
algorithm: "auto" (Winograd over time where it applies and pays, else direct), "direct" or
"winograd" (an error where it does not apply: stride 1 over time and 3, 5 or 7 taps).
precision: "fp32", or "bf16": inputs and weights rounded to bfloat16, float32 accumulation,
where isa_info()["bf16"] is True; elsewhere "bf16" computes in float32.
Returns (y, sums): y float32 (t_pool, f_pool, c_out) or None when write_output is False;
sums float64 (c_out,), the per-channel sums of the pooled activated outputs.
The result does not depend on n_threads (0 = all cores).)doc");

    py::class_<ConvLayer>(m, "ConvLayer",
                          "A convolution's weights (copied) and their packed forms, kept for "
                          "repeated calls: call it like conv without w and b.")
        .def(py::init<const FloatArray&, const FloatArray&>(), py::arg("w").noconvert(),
             py::arg("b").noconvert())
        .def("__call__", &ConvLayer::operator(), py::arg("x").noconvert(), py::arg("stride"),
             py::arg("padding"), py::arg("activation"), py::arg("pool"),
             py::arg("write_output"), py::arg("n_threads"),
             py::arg("residual").noconvert() = py::none(), py::arg("algorithm") = "auto",
             py::arg("precision") = "fp32");

    py::class_<DenseRelu>(m, "DenseRelu",
                          "max(0, x w + b) for float32 x (n, inputs): w float64 (inputs, units) "
                          "and b (units,) are packed to float32 panels once; the bias and the "
                          "activation are applied in float64, the result is float64 (n, units).")
        .def(py::init<const DoubleArray&, const DoubleArray&, int>(), py::arg("w").noconvert(),
             py::arg("b").noconvert(), py::arg("n_threads") = 0)
        .def_static("draw", &DenseRelu::draw, py::arg("key").noconvert(), py::arg("pos"),
                    py::arg("has_gauss"), py::arg("gauss"), py::arg("inputs"), py::arg("units"),
                    py::arg("n_threads") = 0,
                    "The layer a legacy RandomState draws, N(0, 1) biases then N(0, 1) weights "
                    "(inputs, units), straight into the packed panels, from its get_state(): "
                    "(layer, key, pos, has_gauss, gauss) after the draw.")
        .def("__call__", &DenseRelu::operator(), py::arg("x").noconvert(), py::arg("n_threads") = 0,
             py::arg("transposed") = false,
             "The activations, (n, units); with transposed, (units, n): one row per unit.");

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
          py::arg("overwrite") = false, py::arg("mirror") = false, py::arg("partial") = false,
          "Lower Cholesky factor L of a symmetric float64 matrix (its lower triangle is read), "
          "or None if it is not numerically positive definite. With overwrite, a padded "
          "matrix (as row_gram returns) is factored in place and returned. With mirror the "
          "upper triangle holds L^T (else zeros): both factors of a solve in one matrix. With "
          "partial, returns (factor, p) always: the leading p x p block is the factor of the "
          "matrix's leading block (p = n when it is positive definite).");
    m.def("triangular_solve", &triangular_solve, py::arg("t").noconvert(), py::arg("b").noconvert(),
          py::arg("upper") = false, py::arg("n_threads") = 0,
          "Solves t x = b for float64 b (n, r), reading only the lower triangle of t (and its "
          "diagonal), or with upper only the upper one. A leading block t[:k, :k] of a factor "
          "is solved in place (no copy).");
    m.def("legacy_normals", &legacy_normals, py::arg("key").noconvert(), py::arg("pos"),
          py::arg("has_gauss"), py::arg("gauss"), py::arg("n"), py::arg("n_threads") = 0,
          "The next n values of numpy's legacy RandomState.standard_normal from a get_state() "
          "state: (values, key, pos, has_gauss, gauss) after them.");

    // The instruction set is resolved at import, so a bad RANDCNN_FAST_ISA fails loudly here.
    rcf::active_kernels();
}
