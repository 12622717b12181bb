// Bindings of the fused convolution: one call with its weights, or a ConvLayer that keeps its
// weights packed between calls.
#include <array>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/common.hpp"
#include "core/conv.hpp"
#include "core/max_pool.hpp"

namespace rcf_bindings {
namespace {

// A call's arguments other than its input and weights, checked.
rcf::ConvArgs call_args(std::array<int, 2> stride, std::array<int, 4> padding,
                        const std::string& activation, std::array<int, 2> pool, int n_threads,
                        const std::string& algorithm, const std::string& precision) {
    rcf::ConvArgs a{};
    a.stride_t = stride[0];
    a.stride_f = stride[1];
    a.pad_t0 = padding[0];
    a.pad_t1 = padding[1];
    a.pad_f0 = padding[2];
    a.pad_f1 = padding[3];
    a.activation = rcf::parse_activation(activation);
    a.pool_t = pool[0];
    a.pool_f = pool[1];
    a.n_threads = check_threads(n_threads);
    a.algorithm = rcf::parse_algorithm(algorithm);
    a.precision = rcf::parse_precision(precision);
    return a;
}

// The arguments shared by conv and ConvLayer, checked; weights are filled in by the caller.
rcf::ConvArgs conv_args(const FloatArray& x, std::array<int, 2> stride, std::array<int, 4> padding,
                        const std::string& activation, std::array<int, 2> pool, int n_threads,
                        const std::string& algorithm, const std::string& precision) {
    if (x.ndim() != 3) throw std::invalid_argument("conv: x must be 3-D (time, freq, channels)");
    rcf::ConvArgs a =
        call_args(stride, padding, activation, pool, n_threads, algorithm, precision);
    a.x = x.data();
    a.t_in = static_cast<long>(x.shape(0));
    a.f_in = static_cast<int>(x.shape(1));
    a.c_in = static_cast<int>(x.shape(2));
    return a;
}

// Runs `call` on a (weights set) with its output, residual and sums attached: (y or None, sums).
template <typename Call>
py::tuple run(rcf::ConvArgs a, bool write_output, const std::optional<FloatArray>& residual,
              Call&& call) {
    const rcf::ConvShape shape = rcf::conv_output_shape(a);
    if (residual) {
        const FloatArray& r = *residual;
        if (r.ndim() != 3 || r.shape(0) != shape.rows || r.shape(1) != shape.cols ||
            r.shape(2) != a.c_out)
            throw std::invalid_argument("conv: residual must have the output's shape (" +
                                        std::to_string(shape.rows) + ", " +
                                        std::to_string(shape.cols) + ", " +
                                        std::to_string(a.c_out) + ")");
        a.residual = r.data();
    }
    py::object out = py::none();
    if (write_output && shape.rows > 0 && shape.cols > 0) {
        // A pooled output (out_pool_t) keeps whole windows only.
        FloatArray y({shape.rows / std::max(1, a.out_pool_t), shape.cols,
                      static_cast<long>(a.c_out)});
        a.out = y.mutable_data();
        out = y;
    }
    py::array_t<double> sums(a.c_out);
    a.sums = sums.mutable_data();
    {
        py::gil_scoped_release release;
        call(a);
    }
    return py::make_tuple(out, sums);
}

py::tuple conv(const FloatArray& x, const FloatArray& w, const FloatArray& b,
               std::array<int, 2> stride, std::array<int, 4> padding,
               const std::string& activation, std::array<int, 2> pool, bool write_output,
               int n_threads, const std::optional<FloatArray>& residual,
               const std::string& algorithm, const std::string& precision) {
    if (w.ndim() != 4) throw std::invalid_argument("conv: w must be 4-D (out, in, kh, kw)");
    if (b.ndim() != 1) throw std::invalid_argument("conv: b must be 1-D (out,)");
    if (b.shape(0) != w.shape(0))
        throw std::invalid_argument("conv: b and w disagree on the output channels");
    rcf::ConvArgs a = conv_args(x, stride, padding, activation, pool, n_threads, algorithm, precision);
    if (w.shape(1) != a.c_in)
        throw std::invalid_argument("conv: w has " + std::to_string(w.shape(1)) +
                                    " input channels but x has " + std::to_string(a.c_in));
    a.w = w.data();
    a.bias = b.data();
    a.c_out = static_cast<int>(w.shape(0));
    a.kh = static_cast<int>(w.shape(2));
    a.kw = static_cast<int>(w.shape(3));
    return run(a, write_output, residual, [](const rcf::ConvArgs& args) { rcf::conv(args); });
}

std::unique_ptr<rcf::ConvLayer> make_layer(const FloatArray& w, const FloatArray& b) {
    if (w.ndim() != 4) throw std::invalid_argument("ConvLayer: w must be 4-D (out, in, kh, kw)");
    if (b.ndim() != 1 || b.shape(0) != w.shape(0))
        throw std::invalid_argument("ConvLayer: b must be 1-D with w's output channels");
    return std::make_unique<rcf::ConvLayer>(w.data(), b.data(), static_cast<int>(w.shape(0)),
                                            static_cast<int>(w.shape(1)), static_cast<int>(w.shape(2)),
                                            static_cast<int>(w.shape(3)));
}

py::tuple run_layer(const rcf::ConvLayer& layer, const FloatArray& x, std::array<int, 2> stride,
                    std::array<int, 4> padding, const std::string& activation,
                    std::array<int, 2> pool, bool write_output, int n_threads,
                    const std::optional<FloatArray>& residual, const std::string& algorithm,
                    const std::string& precision, int out_pool) {
    rcf::ConvArgs a = conv_args(x, stride, padding, activation, pool, n_threads, algorithm, precision);
    if (out_pool < 1) throw std::invalid_argument("conv: out_pool must be >= 1");
    a.out_pool_t = out_pool;
    if (a.c_in != layer.c_in())
        throw std::invalid_argument("conv: the layer has " + std::to_string(layer.c_in()) +
                                    " input channels but x has " + std::to_string(a.c_in));
    a.c_out = layer.c_out();
    a.kh = layer.kh();
    a.kw = layer.kw();
    return run(a, write_output, residual, [&layer](const rcf::ConvArgs& args) { layer(args); });
}

py::tuple run_siblings(const std::vector<const rcf::ConvLayer*>& layers,
                       const std::vector<FloatArray>& xs,
                       const std::vector<std::array<int, 4>>& paddings, std::array<int, 2> stride,
                       const std::string& activation, std::array<int, 2> pool, bool write_output,
                       int n_threads, const std::string& algorithm,
                       const std::string& precision) {
    if (layers.empty() || xs.size() != layers.size() || paddings.size() != layers.size())
        throw std::invalid_argument("conv_siblings: one input and one padding per layer");
    std::vector<rcf::ConvArgs> calls;
    rcf::ConvShape shape{};  // the first layer's output; every other must match it
    long channels = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
        rcf::ConvArgs a = layers[i]->bind(
            conv_args(xs[i], stride, paddings[i], activation, pool, n_threads, algorithm, precision));
        if (a.c_in != layers[i]->c_in())
            throw std::invalid_argument("conv_siblings: layer " + std::to_string(i) + " has " +
                                        std::to_string(layers[i]->c_in()) +
                                        " input channels but its x has " + std::to_string(a.c_in));
        const rcf::ConvShape own = rcf::conv_output_shape(a);
        if (!calls.empty() && (own.rows != shape.rows || own.cols != shape.cols))
            throw std::invalid_argument("conv_siblings: the layers' outputs differ in shape");
        if (calls.empty()) shape = own;
        channels += a.c_out;
        calls.push_back(a);
    }
    py::object out = py::none();
    if (write_output && shape.rows > 0 && shape.cols > 0) {
        FloatArray y({shape.rows, shape.cols, channels});
        long offset = 0;
        for (rcf::ConvArgs& a : calls) {
            a.out = y.mutable_data() + offset;
            a.out_ld = channels;
            offset += a.c_out;
        }
        out = y;
    }
    py::list sums;
    for (rcf::ConvArgs& a : calls) {
        py::array_t<double> s(a.c_out);
        a.sums = s.mutable_data();
        sums.append(s);
    }
    {
        py::gil_scoped_release release;
        rcf::conv_siblings(calls);
    }
    return py::make_tuple(out, sums);
}

py::tuple run_pair(const rcf::ConvLayer& producer, const FloatArray& x, std::array<int, 2> stride,
                   std::array<int, 4> padding, const std::string& activation,
                   std::array<int, 2> pool, const rcf::ConvLayer& consumer, long offset,
                   long rows, std::array<int, 2> consumer_stride,
                   std::array<int, 4> consumer_padding, const std::string& consumer_activation,
                   std::array<int, 2> consumer_pool, bool write_output, int n_threads,
                   const std::string& algorithm, const std::string& precision) {
    rcf::ConvArgs p = producer.bind(
        conv_args(x, stride, padding, activation, pool, n_threads, algorithm, precision));
    if (p.c_in != producer.c_in())
        throw std::invalid_argument("conv_pair: the producer has " +
                                    std::to_string(producer.c_in()) +
                                    " input channels but x has " + std::to_string(p.c_in));
    rcf::ConvArgs c = call_args(consumer_stride, consumer_padding, consumer_activation,
                                consumer_pool, n_threads, algorithm, precision);
    c.t_in = rows;
    c.f_in = 1;
    c.c_in = consumer.c_in();
    c = consumer.bind(c);
    py::array_t<double> producer_sums(p.c_out);
    p.sums = producer_sums.mutable_data();
    py::tuple result = run(c, write_output, std::nullopt, [&](const rcf::ConvArgs& args) {
        rcf::conv_pair(p, args, offset);
    });
    return py::make_tuple(result[0], producer_sums, result[1]);
}

FloatArray max_pool_time(const FloatArray& x, int pool) {
    if (x.ndim() != 3) throw std::invalid_argument("max_pool_time: x must be 3-D (time, freq, channels)");
    if (pool < 1) throw std::invalid_argument("max_pool_time: pool must be >= 1");
    const long rows_out = static_cast<long>(x.shape(0)) / pool;
    FloatArray y({rows_out, static_cast<long>(x.shape(1)), static_cast<long>(x.shape(2))});
    const long row_floats = static_cast<long>(x.shape(1) * x.shape(2));
    float* out = y.mutable_data();
    {
        py::gil_scoped_release release;
        rcf::max_pool_time(x.data(), rows_out, row_floats, pool, out);
    }
    return y;
}

}  // namespace

void bind_conv(py::module_& m) {
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
algorithm: "auto" (Winograd over time where it applies and pays, else direct), "direct",
"winograd" (an error where it does not apply: stride 1 over time and 3, 5 or 7 taps) or "lanes"
(direct with output positions in the vector lanes; an error where it does not apply: one input
channel and stride 1 over frequency, float32). All but "winograd" give the same bits.
precision: "fp32", or "bf16": inputs and weights rounded to bfloat16, float32 accumulation,
where isa_info()["bf16"] is True; elsewhere "bf16" computes in float32.
Returns (y, sums): y float32 (t_pool, f_pool, c_out) or None when write_output is False;
sums float64 (c_out,), the per-channel sums of the pooled activated outputs.
The result does not depend on n_threads (0 = all cores).)doc");

    py::class_<rcf::ConvLayer>(m, "ConvLayer",
                          "A convolution's weights (copied) and their packed forms, kept for "
                          "repeated calls: call it like conv without w and b.")
        .def(py::init(&make_layer), py::arg("w").noconvert(), py::arg("b").noconvert())
        .def("__call__", &run_layer, py::arg("x").noconvert(), py::arg("stride"),
             py::arg("padding"), py::arg("activation"), py::arg("pool"),
             py::arg("write_output"), py::arg("n_threads"),
             py::arg("residual").noconvert() = py::none(), py::arg("algorithm") = "auto",
             py::arg("precision") = "fp32", py::arg("out_pool") = 1,
             "out_pool > 1: y is the output max-pooled over time in windows of out_pool rows "
             "('valid'), as max_pool_time of the whole output; the sums stay the output's.");

    m.def("max_pool_time", &max_pool_time, py::arg("x").noconvert(), py::arg("pool"),
          R"doc('Valid' max-pool over time: y[r] = max of x[r * pool + i] over i < pool.

x: float32 (t, f, c), C-contiguous. Returns float32 (t // pool, f, c).)doc");

    m.attr("PAIR_MAX_REDUCTION") = rcf::kPairMaxReduction;
    m.def("conv_pair", &run_pair, py::arg("producer"), py::arg("x").noconvert(),
          py::arg("stride"), py::arg("padding"), py::arg("activation"), py::arg("pool"),
          py::arg("consumer"), py::arg("offset"), py::arg("rows"), py::arg("consumer_stride"),
          py::arg("consumer_padding"), py::arg("consumer_activation"), py::arg("consumer_pool"),
          py::arg("write_output"), py::arg("n_threads"), py::arg("algorithm") = "auto",
          py::arg("precision") = "fp32",
          R"doc(A ConvLayer over time and the ConvLayer that alone reads its map, in one pass.

producer runs on x with stride, padding, activation and pool, as ConvLayer; its map (one
frequency position) is not returned. consumer runs on that map's rows [offset, offset + rows)
with the consumer_ arguments. Where the producer is a direct convolution, each of the consumer's
tasks computes the producer rows it reads in cache instead of the map going through memory
(a direct convolution over time with a reduction of at most PAIR_MAX_REDUCTION multiply-adds
an output; any other producer writes its map as conv does).
Returns (y, producer_sums, consumer_sums): y the consumer's output (None when write_output is
False) and the float64 channel sums of both, all bit for bit those of the two calls.)doc");

    m.def("conv_siblings", &run_siblings, py::arg("layers"), py::arg("xs").noconvert(),
          py::arg("paddings"), py::arg("stride"), py::arg("activation"), py::arg("pool"),
          py::arg("write_output"), py::arg("n_threads"), py::arg("algorithm") = "auto",
          py::arg("precision") = "fp32",
          R"doc(Sibling ConvLayers (filters of several widths over one map) in one parallel pass.

layers[i] runs on xs[i] with paddings[i]; stride, activation, pool and the rest are shared, as
ConvLayer's. Every layer's output must have the same (time, freq) shape. Returns (y, sums): y
float32 (t_pool, f_pool, sum of the layers' c_out), their outputs side by side along channels
(None when write_output is False), and one float64 sums array per layer. Each layer's results
are those of calling it alone.)doc");
}

}  // namespace rcf_bindings
