// Which instruction set runs the kernels: detected once, overridable by RANDCNN_FAST_ISA.
#pragma once
#include <string>
#include <vector>

#include "kernels/kernel_table.hpp"

namespace rcf {

struct IsaInfo {
    std::string detected;                // best level this CPU supports among the compiled ones
    std::string active;                  // the level the kernels use now
    std::vector<std::string> compiled;   // levels built into this binary, lowest first
    std::vector<std::string> supported;  // compiled levels this CPU can run, lowest first
    bool bf16;                           // whether precision "bf16" has native kernels now
    std::string bf16_mode;               // "auto", "native" or "fp32" (see set_bf16_mode)
    std::string bf16_reason;             // why bf16 runs the kernels it runs, in words
};

// The kernel table in use. The first call resolves it from the CPU and RANDCNN_FAST_ISA and
// throws std::runtime_error if the override names an unknown or unsupported level.
const KernelTable& active_kernels();

IsaInfo isa_info();

// The bfloat16 kernels matching the active table, or nullptr where precision "bf16" runs the
// float32 kernels instead: no AVX512_BF16, another level active, or a CPU whose bfloat16 dot
// product is slower than its float32 multiply-adds (see set_bf16_mode).
const Bf16Kernels* active_bf16_kernels();

// How precision "bf16" picks its kernels: "auto" (the default; RANDCNN_FAST_BF16 overrides
// it) takes the bfloat16 dot products where they pay, "native" wherever the CPU has them,
// "fp32" never. Throws std::invalid_argument for another name, or "native" on a CPU without.
void set_bf16_mode(const std::string& name);

// Whether each layer decides whether the bfloat16 kernels pay for it (mode "auto").
bool bf16_by_layer();

// The RandomState normal draw's steps built for the active level, or nullptr where the portable
// build serves (every level but AVX-512).
const RandomStateDrawKernels* active_randomstate_draw_kernels();

// Switch levels (used by tests to check every level in one process). Throws
// std::invalid_argument for a level that is not compiled or that this CPU cannot run.
void set_isa(const std::string& name);

}  // namespace rcf
