// Winograd minimal filtering F(m, r) along one axis: m outputs of an r-tap correlation from
// n = m + r - 1 inputs with n multiplications instead of m * r.
//   y = AT [ (G g) (.) (BT d) ]   for d (n inputs), g (r taps), y (m outputs).
#pragma once

#include <vector>

namespace rcf {

struct WinogradTransform {
    int m = 0, r = 0, n = 0;
    std::vector<float> bt;   // n x n: input transform
    std::vector<double> g;   // n x r: filter transform (applied to the weights in double)
    std::vector<float> at;   // m x n: output transform
};

// The output tile m used for an r-tap filter, or 0 when that filter runs as a direct
// convolution. Chosen so that float32 results stay within ~2e-5 of the largest output. With
// bfloat16 inputs the transforms grow the rounding error to a few percent of the largest
// output at worst, which the clip-level means average to ~3e-3 of the embedding (measured on
// FSDD clips at paper size, the same as smaller tiles gave).
int winograd_output_tile(int r);

// The transform for F(m, r), from interpolation points 0, +-1, +-2, +-1/2, +-3/2, +-3/4 and
// infinity (the first n - 1 finite ones), computed in double.
WinogradTransform winograd_transform(int m, int r);

}  // namespace rcf
