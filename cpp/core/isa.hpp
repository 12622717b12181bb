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
};

// The kernel table in use. The first call resolves it from the CPU and RANDCNN_FAST_ISA and
// throws std::runtime_error if the override names an unknown or unsupported level.
const KernelTable& active_kernels();

IsaInfo isa_info();

// Switch levels (used by tests to check every level in one process). Throws
// std::invalid_argument for a level that is not compiled or that this CPU cannot run.
void set_isa(const std::string& name);

}  // namespace rcf
