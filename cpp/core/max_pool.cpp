// 'Valid' max-pool over time (see max_pool.hpp).
#include "core/max_pool.hpp"

namespace rcf {

void max_pool_time(const float* x, long rows_out, long row_floats, int pool, float* y) {
    for (long r = 0; r < rows_out; ++r) {
        const float* window = x + r * pool * row_floats;
        float* out = y + r * row_floats;
        for (long e = 0; e < row_floats; ++e) out[e] = window[e];
        for (int i = 1; i < pool; ++i)
            for (long e = 0; e < row_floats; ++e) {
                const float v = window[i * row_floats + e];
                out[e] = v > out[e] ? v : out[e];
            }
    }
}

}  // namespace rcf
