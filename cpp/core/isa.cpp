// Instruction-set detection (the compiler's CPU feature checks), the RANDCNN_FAST_ISA override,
// and the kernel tables chosen from them.
#include "core/isa.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace rcf {
namespace {

struct Level {
    const char* name;
    const KernelTable* (*table)();
    bool (*cpu_supports)();
};

bool always() { return true; }

#if defined(RCF_HAVE_X86_KERNELS)
bool has_avx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
bool has_avx512() {
    // libgcc's answer already accounts for the OS saving the AVX-512 register state (XCR0).
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("fma");
}
bool has_avx512_bf16() {
    __builtin_cpu_init();
    return has_avx512() && __builtin_cpu_supports("avx512bf16");
}
// Intel's cores with AVX512_BF16 (Cooper Lake to Granite Rapids) issue VDPBF16PS at half the
// rate of float32 FMAs, so its two multiply-adds per lane gain nothing and the rounding costs
// (PERFORMANCE.md: 214 against 442 GFLOP/s on two threads); AMD's Zen 4 and 5 run it at the
// FMA rate, doubling the multiply-adds.
bool bf16_dot_pays() {
    __builtin_cpu_init();
    return !__builtin_cpu_is("intel");
}

const Level kLevels[] = {
    {"scalar", &kernels_scalar, &always},
    {"avx2", &kernels_avx2, &has_avx2},
    {"avx512", &kernels_avx512, &has_avx512},
};
#else
const Level kLevels[] = {
    {"scalar", &kernels_scalar, &always},
};
bool has_avx512_bf16() { return false; }
bool bf16_dot_pays() { return false; }
#endif

const Level* find_level(const std::string& name) {
    for (const Level& level : kLevels)
        if (name == level.name) return &level;
    return nullptr;
}

std::string supported_list() {
    std::string out;
    for (const Level& level : kLevels)
        if (level.cpu_supports()) out += (out.empty() ? "" : ", ") + std::string(level.name);
    return out;
}

const Level& best_level() {
    const Level* best = &kLevels[0];
    for (const Level& level : kLevels)
        if (level.cpu_supports()) best = &level;
    return *best;
}

const Level& checked_level(const std::string& name, const char* origin) {
    const Level* level = find_level(name);
    if (!level)
        throw std::invalid_argument(std::string(origin) + "='" + name +
                                    "' is not an instruction set this build has (it has: " +
                                    supported_list() + " on this CPU)");
    if (!level->cpu_supports())
        throw std::invalid_argument(std::string(origin) + "='" + name +
                                    "' is not supported by this CPU (it supports: " +
                                    supported_list() + ")");
    return *level;
}

const Level& initial_level() {
    const char* env = std::getenv("RANDCNN_FAST_ISA");
    if (env && *env) {
        try {
            return checked_level(env, "RANDCNN_FAST_ISA");
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(e.what());
        }
    }
    return best_level();
}

std::atomic<const Level*>& current() {
    static std::atomic<const Level*> level{&initial_level()};
    return level;
}

const char* const kBf16Modes[] = {"auto", "native", "fp32"};
enum Bf16Mode : int { kBf16Auto = 0, kBf16Native = 1, kBf16Fp32 = 2 };

Bf16Mode checked_bf16_mode(const std::string& name, const char* origin) {
    for (int mode = 0; mode < 3; ++mode) {
        if (name != kBf16Modes[mode]) continue;
        if (mode == kBf16Native && !has_avx512_bf16())
            throw std::invalid_argument(std::string(origin) + "='native' needs a CPU with "
                                        "AVX512_BF16, which this one lacks");
        return static_cast<Bf16Mode>(mode);
    }
    throw std::invalid_argument(std::string(origin) + "='" + name +
                                "' is not a bf16 mode (choose auto, native or fp32)");
}

std::atomic<Bf16Mode>& bf16_mode() {
    static std::atomic<Bf16Mode> mode{[] {
        const char* env = std::getenv("RANDCNN_FAST_BF16");
        try {
            return env && *env ? checked_bf16_mode(env, "RANDCNN_FAST_BF16") : kBf16Auto;
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(e.what());
        }
    }()};
    return mode;
}

// Why precision "bf16" runs what it runs; "" when it runs the bfloat16 kernels.
const char* bf16_fallback_reason() {
    const Bf16Mode mode = bf16_mode().load();
    static const bool cpu_has_bf16 = has_avx512_bf16();
    if (!cpu_has_bf16) return "float32 kernels: this CPU lacks AVX512_BF16";
#if defined(RCF_HAVE_X86_KERNELS)
    if (current().load()->table != &kernels_avx512)
        return "float32 kernels: the active level is not avx512";
#endif
    if (mode == kBf16Fp32) return "float32 kernels: bf16 mode fp32";
    if (mode == kBf16Auto && !bf16_dot_pays())
        return "float32 kernels: this CPU's VDPBF16PS runs at half its float32 FMA rate";
    return "";
}

}  // namespace

const KernelTable& active_kernels() { return *current().load()->table(); }

const Bf16Kernels* active_bf16_kernels() {
#if defined(RCF_HAVE_X86_KERNELS)
    if (*bf16_fallback_reason() == '\0') return kernels_avx512_bf16();
#endif
    return nullptr;
}

const RandomStateDrawKernels* active_randomstate_draw_kernels() {
#if defined(RCF_HAVE_X86_KERNELS)
    if (current().load()->table == &kernels_avx512) return randomstate_draw_avx512();
#endif
    return nullptr;
}

IsaInfo isa_info() {
    IsaInfo info;
    info.detected = best_level().name;
    info.active = current().load()->name;
    info.bf16 = active_bf16_kernels() != nullptr;
    info.bf16_mode = kBf16Modes[bf16_mode().load()];
    info.bf16_reason = info.bf16 ? "AVX512_BF16 dot products (VDPBF16PS), float32 accumulation"
                                 : bf16_fallback_reason();
    for (const Level& level : kLevels) {
        info.compiled.push_back(level.name);
        if (level.cpu_supports()) info.supported.push_back(level.name);
    }
    return info;
}

void set_isa(const std::string& name) { current().store(&checked_level(name, "isa")); }

bool bf16_by_layer() { return bf16_mode().load() == kBf16Auto; }

void set_bf16_mode(const std::string& name) { bf16_mode().store(checked_bf16_mode(name, "bf16 mode")); }

}  // namespace rcf
