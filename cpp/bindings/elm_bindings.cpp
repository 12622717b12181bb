// Bindings of the ELM's native parts: the random hidden layer (given, or drawn from numpy's
// RandomState (MT19937) stream straight into packed panels) and that stream itself.
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "bindings/common.hpp"
#include "core/dense.hpp"
#include "core/randomstate_normal.hpp"

namespace rcf_bindings {
namespace {

// A RandomState state as get_state() gives it, checked.
rcf::RandomStateNormalState randomstate_state(const py::array_t<uint32_t, py::array::c_style>& key, int pos,
                                    bool has_gauss, double gauss, int n_threads) {
    if (key.ndim() != 1 || key.shape(0) != 624)
        throw std::invalid_argument("RandomState state: key must hold the 624 words of an MT19937 state");
    if (pos < 0 || pos > 624) throw std::invalid_argument("RandomState state: pos must be in [0, 624]");
    check_threads(n_threads);
    rcf::RandomStateNormalState state;
    std::memcpy(state.key, key.data(), sizeof(state.key));
    state.pos = pos;
    state.has_gauss = has_gauss;
    state.gauss = gauss;
    return state;
}

py::array_t<uint32_t> key_words(const rcf::RandomStateNormalState& state) {
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
        check_threads(n_threads);
        py::gil_scoped_release release;
        layer_ = std::make_unique<rcf::DenseRelu>(w.data(), b.data(), static_cast<long>(w.shape(0)),
                                                  static_cast<long>(w.shape(1)), n_threads);
    }

    // The layer a RandomState state draws (biases, then weights), with the state after
    // the draw: (layer, key, pos, has_gauss, gauss).
    static py::tuple draw(const py::array_t<uint32_t, py::array::c_style>& key, int pos,
                          bool has_gauss, double gauss, long inputs, long units, int n_threads) {
        if (inputs < 1 || units < 1)
            throw std::invalid_argument("DenseRelu.draw: inputs and units must be positive");
        rcf::RandomStateNormalState state = randomstate_state(key, pos, has_gauss, gauss, n_threads);
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
        check_threads(n_threads);
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

// The next n values of a RandomState's standard normal stream, from its state as
// get_state() gives it; returns (values, key, pos, has_gauss, gauss) for set_state().
py::tuple randomstate_normals(const py::array_t<uint32_t, py::array::c_style>& key, int pos,
                         bool has_gauss, double gauss, long n, int n_threads) {
    if (n < 0) throw std::invalid_argument("randomstate_normals: n must be >= 0");
    rcf::RandomStateNormalState state = randomstate_state(key, pos, has_gauss, gauss, n_threads);
    DoubleArray values = large_array({n});
    double* out = values.mutable_data();
    {
        py::gil_scoped_release release;
        rcf::randomstate_normals(state, out, n, n_threads);
    }
    return py::make_tuple(values, key_words(state), state.pos, state.has_gauss, state.gauss);
}

}  // namespace

void bind_elm(py::module_& m) {
    py::class_<DenseRelu>(m, "DenseRelu",
                          "max(0, x w + b) for float32 x (n, inputs): w float64 (inputs, units) "
                          "and b (units,) are packed to float32 panels once; the bias and the "
                          "activation are applied in float64, the result is float64 (n, units).")
        .def(py::init<const DoubleArray&, const DoubleArray&, int>(), py::arg("w").noconvert(),
             py::arg("b").noconvert(), py::arg("n_threads") = 0)
        .def_static("draw", &DenseRelu::draw, py::arg("key").noconvert(), py::arg("pos"),
                    py::arg("has_gauss"), py::arg("gauss"), py::arg("inputs"), py::arg("units"),
                    py::arg("n_threads") = 0,
                    "The layer a RandomState draws, N(0, 1) biases then N(0, 1) weights "
                    "(inputs, units), straight into the packed panels, from its get_state(): "
                    "(layer, key, pos, has_gauss, gauss) after the draw.")
        .def("__call__", &DenseRelu::operator(), py::arg("x").noconvert(), py::arg("n_threads") = 0,
             py::arg("transposed") = false,
             "The activations, (n, units); with transposed, (units, n): one row per unit.");

    m.def("randomstate_normals", &randomstate_normals, py::arg("key").noconvert(), py::arg("pos"),
          py::arg("has_gauss"), py::arg("gauss"), py::arg("n"), py::arg("n_threads") = 0,
          "The next n values of numpy's RandomState.standard_normal from a get_state() "
          "state: (values, key, pos, has_gauss, gauss) after them.");

}

}  // namespace rcf_bindings
