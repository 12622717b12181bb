// The _core extension module: the instruction-set queries and the tiling constants here, the
// convolution, ELM, frame and linear-algebra bindings from their own files.
#include <memory>
#include <stdexcept>
#include <vector>

#include "bindings/common.hpp"
#include "core/conv.hpp"
#include "core/dense.hpp"
#include "core/isa.hpp"
#include "core/large_buffer.hpp"
#include "core/thread_pool.hpp"

namespace rcf_bindings {

int check_threads(int n_threads) {
    if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0");
    return n_threads;
}

DoubleArray large_array(const std::vector<py::ssize_t>& shape) {
    size_t count = 1;
    for (py::ssize_t extent : shape) count *= static_cast<size_t>(extent);
    auto buffer = std::make_unique<rcf::LargeBuffer<double>>(count);
    double* data = buffer->data();
    py::capsule owner(buffer.get(), [](void* p) { delete static_cast<rcf::LargeBuffer<double>*>(p); });
    buffer.release();  // the capsule owns it now
    return DoubleArray(shape, data, owner);
}

}  // namespace rcf_bindings

PYBIND11_MODULE(_core, m) {
    namespace py = pybind11;
    using namespace rcf_bindings;
    m.doc() = "randcnn_fast native core: SIMD convolution kernels dispatched at run time";

    m.def("isa_info", [] {
        const rcf::IsaInfo info = rcf::isa_info();
        py::dict d;
        d["detected"] = info.detected;
        d["active"] = info.active;
        d["compiled"] = info.compiled;
        d["supported"] = info.supported;
        d["bf16"] = info.bf16;
        d["bf16_mode"] = info.bf16_mode;
        d["bf16_reason"] = info.bf16_reason;
        const rcf::KernelTable& kt = rcf::active_kernels();
        d["tile"] = py::dict(py::arg("mr") = kt.mr, py::arg("nr") = kt.nr);
        py::list others;
        for (const rcf::KernelTable* other : kt.alternatives)
            others.append(py::dict(py::arg("mr") = other->mr, py::arg("nr") = other->nr));
        d["other_tiles"] = others;
        return d;
    }, "Detected, active, compiled and supported instruction sets, what precision 'bf16' runs "
       "and why, the active register tile, and the tiles of other panel widths for layers with "
       "few channels.");
    // The tiling, for tests that probe sizes below, at and above a tile.
    m.attr("CONV_TILE_POSITIONS") = rcf::kConvTilePositions;
    m.attr("CONV_KC") = rcf::kConvKc;
    m.attr("CONV_CHUNK_SUM_FLOATS") = rcf::kConvChunkSumFloats;
    m.attr("CONV_MIN_TILES_PER_CHUNK") = rcf::kConvMinTilesPerChunk;
    m.attr("CONV_LANE_MACS_PER_WORKER") = rcf::kConvLaneMacsPerWorker;
    m.attr("DENSE_TASK_ROWS") = rcf::kDenseTaskRows;
    m.attr("DENSE_KC") = rcf::kDenseKc;
    m.def("set_isa", &rcf::set_isa, py::arg("name"),
          "Switch the kernels to another compiled level this CPU supports.");
    m.def("set_bf16_mode", &rcf::set_bf16_mode, py::arg("name"),
          "How precision 'bf16' picks kernels: 'auto', 'native' or 'fp32' (RANDCNN_FAST_BF16).");
    m.def("resolve_threads", &rcf::resolve_threads, py::arg("n_threads"),
          "Threads a heavy call uses for n_threads (0 = every core this process may use).");
    bind_conv(m);
    bind_elm(m);
    bind_frames(m);
    bind_linalg(m);

    // The instruction set and bf16 mode are resolved at import, so a bad RANDCNN_FAST_ISA or
    // RANDCNN_FAST_BF16 fails loudly here.
    rcf::active_kernels();
    rcf::active_bf16_kernels();
}
