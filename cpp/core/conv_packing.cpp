// Packing a convolution's weights for the microkernels, and the per-layer cache of packings.
#include "core/conv_packing.hpp"

#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "core/sizes.hpp"

namespace rcf {
namespace {

// Round to the nearest bfloat16, ties to even (inputs are finite).
uint16_t to_bf16(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// float32 panels [group][tap * run + k][nr] -> bfloat16 pairs [group][tap][k / 2][nr][k % 2],
// each run padded with zero weights to run_even.
void pack_bf16(const float* panels, long groups, int taps, long run, long run_even, int nr,
               std::vector<uint16_t>& out) {
    out.assign(static_cast<size_t>(groups * taps * run_even * nr), 0);
    for (long g = 0; g < groups; ++g)
        for (int tap = 0; tap < taps; ++tap)
            for (long k = 0; k < run; ++k)
                for (int n = 0; n < nr; ++n)
                    out[((g * taps + tap) * run_even + k / 2 * 2) * nr + 2 * n + k % 2] =
                        to_bf16(panels[((g * taps + tap) * run + k) * nr + n]);
}

// Weights [c_out][c_in][kh][kw] -> panels [c_out/nr][kh*kw*c_in][nr], zero-padded to whole
// panels. Row (dt*kw + df)*c_in + ci of a panel matches element df*c_in + ci of the input run
// read for tap dt: kw neighbouring frequency positions, channels last, are contiguous.
void pack_weights(const ConvArgs& a, int nr, float* packed) {
    const long depth = static_cast<long>(a.kh) * a.kw * a.c_in;
    for (int co = 0; co < a.c_out; ++co) {
        float* panel = packed + (co / nr) * depth * nr + co % nr;
        for (int ci = 0; ci < a.c_in; ++ci)
            for (int dt = 0; dt < a.kh; ++dt)
                for (int df = 0; df < a.kw; ++df)
                    panel[((static_cast<long>(dt) * a.kw + df) * a.c_in + ci) * nr] =
                        a.w[((static_cast<long>(co) * a.c_in + ci) * a.kh + dt) * a.kw + df];
    }
}

// Winograd weights: U_x = sum_dt G[x][dt] w[.][.][dt][.] for every transformed point x, packed
// like the direct weights with a single tap: [x][c_out/nr][kw*c_in][nr].
void pack_winograd_weights(const ConvArgs& a, const WinogradTransform& t, int nr, long panels,
                           float* packed) {
    const long depth = static_cast<long>(a.kw) * a.c_in;
    for (int co = 0; co < a.c_out; ++co)
        for (int ci = 0; ci < a.c_in; ++ci)
            for (int df = 0; df < a.kw; ++df)
                for (int x = 0; x < t.n; ++x) {
                    double u = 0.0;
                    for (int dt = 0; dt < a.kh; ++dt)
                        u += t.g[x * t.r + dt] *
                             a.w[((static_cast<long>(co) * a.c_in + ci) * a.kh + dt) * a.kw + df];
                    packed[((x * panels + co / nr) * depth + df * a.c_in + ci) * nr + co % nr] =
                        static_cast<float>(u);
                }
}

}  // namespace

std::unique_ptr<PackedPanels> pack_conv_weights(const ConvArgs& a, const KernelTable& kt,
                                                const ConvPlan& p,
                                                const WinogradTransform& transform) {
    const long ldc = round_up(a.c_out, kt.nr), panels = ldc / kt.nr;
    const long depth = p.run * p.taps;  // per panel (and per transformed point)
    std::unique_ptr<PackedPanels> packed;
    if (p.wino_m > 0) {
        packed.reset(
            new PackedPanels(static_cast<size_t>(transform.n * panels * depth * kt.nr), ldc));
        pack_winograd_weights(a, transform, kt.nr, panels, packed->panels.data());
    } else {
        packed.reset(new PackedPanels(static_cast<size_t>(panels * depth * kt.nr), ldc));
        pack_weights(a, kt.nr, packed->panels.data());
    }
    std::memcpy(packed->bias.data(), a.bias, sizeof(float) * a.c_out);
    if (p.bf16) {
        const long groups = p.wino_m > 0 ? transform.n * panels : panels;
        pack_bf16(packed->panels.data(), groups, p.taps, p.run, p.run_even, kt.nr,
                  packed->panels16);
    }
    return packed;
}

struct PackedWeights::Store {
    std::mutex mutex;
    // Keyed by everything the layout depends on: the panel width (kernels), the algorithm, the
    // precision and, for bf16's pair padding, how the taps' runs are cut (taps).
    std::map<std::tuple<const KernelTable*, int, bool, int>, std::unique_ptr<PackedPanels>>
        by_kernels;

    const PackedPanels* get(const ConvArgs& a, const KernelTable& kt, const ConvPlan& p,
                            const WinogradTransform& transform) {
        std::lock_guard<std::mutex> lock(mutex);
        std::unique_ptr<PackedPanels>& entry =
            by_kernels[{&kt, p.wino_m, p.bf16 != nullptr, p.taps}];
        if (!entry) entry = pack_conv_weights(a, kt, p, transform);
        return entry.get();
    }
};

PackedWeights::PackedWeights() : store(new Store) {}
PackedWeights::~PackedWeights() = default;

const PackedPanels* cached_panels(PackedWeights& cache, const ConvArgs& a, const KernelTable& kt,
                                  const ConvPlan& p, const WinogradTransform& transform) {
    return cache.store->get(a, kt, p, transform);
}

}  // namespace rcf
