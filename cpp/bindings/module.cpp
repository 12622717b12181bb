// Python bindings: check shapes, release the GIL, call the driver. No algorithm lives here, and
// arrays are never converted silently (the Python layer does the one explicit conversion).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "core/conv1d.hpp"
#include "core/isa.hpp"
#include "core/thread_pool.hpp"

namespace py = pybind11;
using FloatArray = py::array_t<float, py::array::c_style>;

namespace {

const std::string kActivations[] = {"none", "relu"};

int activation_code(const std::string& name) {
    for (int i = 0; i < 2; ++i)
        if (name == kActivations[i]) return i;
    throw std::invalid_argument("unknown activation '" + name + "' (expected 'none' or 'relu')");
}

py::tuple conv1d(const FloatArray& x, const FloatArray& w, const FloatArray& b, int stride,
                 int pad_left, int pad_right, const std::string& activation, int pool,
                 bool write_output, int n_threads) {
    if (x.ndim() != 2) throw std::invalid_argument("conv1d: x must be 2-D (time, channels)");
    if (w.ndim() != 3) throw std::invalid_argument("conv1d: w must be 3-D (out, in, kernel)");
    if (b.ndim() != 1) throw std::invalid_argument("conv1d: b must be 1-D (out,)");
    if (w.shape(1) != x.shape(1))
        throw std::invalid_argument("conv1d: w has " + std::to_string(w.shape(1)) +
                                    " input channels but x has " + std::to_string(x.shape(1)));
    if (b.shape(0) != w.shape(0))
        throw std::invalid_argument("conv1d: b and w disagree on the output channels");
    if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0");

    rcf::Conv1dArgs a{};
    a.x = x.data();
    a.t_in = static_cast<long>(x.shape(0));
    a.c_in = static_cast<int>(x.shape(1));
    a.w = w.data();
    a.bias = b.data();
    a.c_out = static_cast<int>(w.shape(0));
    a.k = static_cast<int>(w.shape(2));
    a.stride = stride;
    a.pad_left = pad_left;
    a.pad_right = pad_right;
    a.activation = activation_code(activation);
    a.pool = pool;
    a.n_threads = n_threads;
    const long pooled = pool >= 1 && stride >= 1
                            ? rcf::conv1d_pooled_length(a.t_in, a.k, stride, pad_left, pad_right, pool)
                            : 0;
    py::object out = py::none();
    if (write_output && pooled > 0) {
        FloatArray y({pooled, static_cast<long>(a.c_out)});
        a.out = y.mutable_data();
        out = y;
    }
    py::array_t<double> sums(a.c_out);
    a.sums = sums.mutable_data();
    {
        py::gil_scoped_release release;
        rcf::conv1d(a);
    }
    return py::make_tuple(out, sums);
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
        const rcf::KernelTable& kt = rcf::active_kernels();
        d["tile"] = py::dict(py::arg("mr") = kt.mr, py::arg("nr") = kt.nr);
        return d;
    }, "Detected, active, compiled and supported instruction sets, and the active register tile.");
    m.def("set_isa", &rcf::set_isa, py::arg("name"),
          "Switch the kernels to another compiled level this CPU supports.");
    m.def("resolve_threads", &rcf::resolve_threads, py::arg("n_threads"),
          "Threads a heavy call uses for n_threads (0 = every core this process may use).");
    m.def("conv1d_output_length", &rcf::conv1d_output_length, py::arg("t_in"), py::arg("k"),
          py::arg("stride"), py::arg("pad_left"), py::arg("pad_right"));
    m.def("conv1d", &conv1d, py::arg("x").noconvert(), py::arg("w").noconvert(), py::arg("b").noconvert(), py::arg("stride"),
          py::arg("pad_left"), py::arg("pad_right"), py::arg("activation"), py::arg("pool"),
          py::arg("write_output"), py::arg("n_threads"),
          R"doc(Fused conv1d over time (channels last): convolution, max-pool, bias, activation.

x: float32 (t_in, c_in); w: float32 (c_out, c_in, k); b: float32 (c_out,).
Returns (y, sums): y float32 (t_out // pool, c_out) or None when write_output is False;
sums float64 (c_out,), the per-channel sums of the pooled activated outputs.)doc");

    // The instruction set is resolved at import, so a bad RANDCNN_FAST_ISA fails loudly here.
    rcf::active_kernels();
}
