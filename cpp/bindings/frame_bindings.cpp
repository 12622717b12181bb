// Binding of the frame reduction: per-frame channel sums of a chunk's rows, added in place.
#include <cstdint>
#include <stdexcept>

#include "bindings/common.hpp"
#include "core/frame_sums.hpp"

namespace rcf_bindings {
namespace {

using Int64Array = py::array_t<int64_t, py::array::c_style>;

void add_frame_sums(const FloatArray& rows, long first, const Int64Array& lo,
                    const Int64Array& hi, FloatArray& totals) {
    if (rows.ndim() != 3)
        throw std::invalid_argument("add_frame_sums: rows must be 3-D (time, freq, channels)");
    if (lo.ndim() != 1 || hi.ndim() != 1 || lo.shape(0) != hi.shape(0))
        throw std::invalid_argument("add_frame_sums: lo and hi must be 1-D of one length");
    if (totals.ndim() != 2 || totals.shape(0) != lo.shape(0) || totals.shape(1) != rows.shape(2))
        throw std::invalid_argument("add_frame_sums: totals must be (frames, channels of rows)");
    rcf::FrameSumArgs a{};
    a.rows = rows.data();
    a.n_rows = static_cast<long>(rows.shape(0));
    a.cols = static_cast<long>(rows.shape(1));
    a.channels = static_cast<long>(rows.shape(2));
    a.first = first;
    a.lo = lo.data();
    a.hi = hi.data();
    a.n_frames = static_cast<long>(lo.shape(0));
    a.totals = totals.mutable_data();
    py::gil_scoped_release release;
    rcf::add_frame_sums(a);
}

}  // namespace

void bind_frames(py::module_& m) {
    m.def("add_frame_sums", &add_frame_sums, py::arg("rows").noconvert(), py::arg("first"),
          py::arg("lo").noconvert(), py::arg("hi").noconvert(), py::arg("totals").noconvert(),
          R"doc(Adds per-frame channel sums of a map's rows to totals, in place.

rows: float32 (n, freq, channels), positions first .. first + n - 1 of a map;
lo, hi: int64 (frames,), frame i sums positions [lo[i], hi[i]), both non-decreasing;
totals: float32 (frames, channels). Every frame meeting the rows gets the sum, over frequency
and over the positions it shares with them, added to its row; sums run in float64, in the same
order on every instruction set.)doc");
}

}  // namespace rcf_bindings
