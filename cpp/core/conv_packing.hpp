// A convolution's weights in the microkernels' layouts: panels of nr output channels for the
// direct convolution, per transformed point for Winograd, and bfloat16 pairs for bf16; and the
// per-layer cache (PackedWeights) that keeps them once made.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/conv.hpp"
#include "core/conv_plan.hpp"
#include "core/large_buffer.hpp"
#include "core/winograd.hpp"

namespace rcf {

// Weight panels and the zero-padded bias for one kernel table and algorithm.
struct PackedPanels {
    LargeBuffer<float> panels, bias;
    std::vector<uint16_t> panels16;  // bf16 only: [group][tap][run_even / 2][nr][2]
    PackedPanels(size_t panel_floats, size_t bias_floats)
        : panels(LargeBuffer<float>::zeroed(panel_floats)),
          bias(LargeBuffer<float>::zeroed(bias_floats)) {}
};

// The weights of `a` packed for table `kt` under plan `p` (Winograd's transform when p.wino_m).
std::unique_ptr<PackedPanels> pack_conv_weights(const ConvArgs& a, const KernelTable& kt,
                                                const ConvPlan& p,
                                                const WinogradTransform& transform);

// The cached packing of `a`'s weights for `kt` and `p`, made on first use.
const PackedPanels* cached_panels(PackedWeights& cache, const ConvArgs& a, const KernelTable& kt,
                                  const ConvPlan& p, const WinogradTransform& transform);

}  // namespace rcf
