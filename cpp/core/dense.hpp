// The ELM's random hidden layer, max(0, x w + b), on the float32 GEMM microkernels.
#pragma once

#include <vector>

#include "core/large_buffer.hpp"
#include "core/randomstate_normal.hpp"

namespace rcf {

// Rows of x per task at most: their products for one weight panel stay in L1 across the
// reduction. Each output depends on its own row only, so the split never changes a value.
constexpr long kDenseTaskRows = 96;
// Reduction depth per microkernel call (512 beats 256 and 1024 on the ELM's layer).
constexpr long kDenseKc = 512;

struct KernelTable;

class DenseRelu {
  public:
    // w: inputs x units, float64 row-major (the layer as drawn); b: units. The weights are
    // packed once into float32 panels for the kernel table active now.
    DenseRelu(const double* w, const double* b, long inputs, long units, int n_threads);

    // The layer a RandomState draws as N(0, 1) biases, then N(0, 1) weights (inputs x
    // units, row-major), the state advanced past both: the same layer as the constructor above
    // given those arrays, with the weights drawn straight into the float32 panels.
    DenseRelu(RandomStateNormalState& state, long inputs, long units, int n_threads);

    // out (n x units, float64) = max(0, x w + b) for x (n x inputs, float32 row-major), or its
    // transpose (units x n) when transposed. The products run in float32; the bias and the
    // activation in float64.
    void operator()(const float* x, long n, double* out, int n_threads, bool transposed) const;

    long inputs() const { return inputs_; }
    long units() const { return units_; }

  private:
    // The layout both constructors fill: panels for the active kernels, a bias per unit.
    DenseRelu(long inputs, long units);

    const KernelTable* kt_;
    long inputs_, units_, panels_;
    LargeBuffer<float> packed_;  // [panel][input][nr], zero past the last unit
    std::vector<double> bias_;
};

}  // namespace rcf
