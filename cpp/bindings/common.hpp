// What every binding file shares: the array types they accept and the one check of a thread
// count. Bindings check shapes, release the GIL and call a driver; no algorithm lives here, and
// arrays are never converted silently (the Python layer does the one explicit conversion).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // std::array, std::optional, std::vector and std::string arguments

#include <vector>

namespace rcf_bindings {

namespace py = pybind11;
using FloatArray = py::array_t<float, py::array::c_style>;
using DoubleArray = py::array_t<double, py::array::c_style>;

// n_threads as the drivers take it; std::invalid_argument (ValueError) when negative.
int check_threads(int n_threads);

// An uninitialised C-contiguous float64 array on a LargeBuffer, released with the array: the
// ELM's 50-70 MB results then reuse the blocks of the previous call instead of fresh pages.
DoubleArray large_array(const std::vector<py::ssize_t>& shape);

void bind_conv(py::module_& m);
void bind_elm(py::module_& m);
void bind_frames(py::module_& m);
void bind_linalg(py::module_& m);

}  // namespace rcf_bindings
