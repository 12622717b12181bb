// Integer size arithmetic shared by the drivers.
#pragma once

namespace rcf {

// n rounded up to a whole number of `multiple`s (n >= 0, multiple > 0).
constexpr long round_up(long n, long multiple) { return (n + multiple - 1) / multiple * multiple; }

}  // namespace rcf
