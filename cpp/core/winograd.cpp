// Winograd F(m, r) transform matrices, built from their interpolation points in float64.
#include "core/winograd.hpp"

#include <cmath>
#include <stdexcept>
#include <utility>

namespace rcf {
namespace {

constexpr double kPoints[] = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 1.5, -1.5, 0.75, -0.75};
constexpr int kMaxPoints = sizeof(kPoints) / sizeof(kPoints[0]) + 1;  // + infinity

// Row i of an evaluation matrix with `cols` polynomial coefficients: the powers of point i,
// or, for the point at infinity (the last row), the leading coefficient.
void evaluation_rows(int n, int cols, std::vector<double>& out) {
    out.assign(static_cast<size_t>(n) * cols, 0.0);
    for (int i = 0; i + 1 < n; ++i) {
        double power = 1.0;
        for (int k = 0; k < cols; ++k, power *= kPoints[i]) out[i * cols + k] = power;
    }
    out[(n - 1) * cols + cols - 1] = 1.0;
}

// In-place inverse of an n x n matrix by Gauss-Jordan elimination with partial pivoting.
void invert(std::vector<double>& a, int n) {
    std::vector<double> inv(static_cast<size_t>(n) * n, 0.0);
    for (int i = 0; i < n; ++i) inv[i * n + i] = 1.0;
    for (int col = 0; col < n; ++col) {
        int pivot = col;
        for (int row = col + 1; row < n; ++row)
            if (std::fabs(a[row * n + col]) > std::fabs(a[pivot * n + col])) pivot = row;
        if (a[pivot * n + col] == 0.0) throw std::logic_error("winograd: singular points");
        for (int k = 0; k < n; ++k) {
            std::swap(a[col * n + k], a[pivot * n + k]);
            std::swap(inv[col * n + k], inv[pivot * n + k]);
        }
        const double scale = 1.0 / a[col * n + col];
        for (int k = 0; k < n; ++k) {
            a[col * n + k] *= scale;
            inv[col * n + k] *= scale;
        }
        for (int row = 0; row < n; ++row) {
            if (row == col || a[row * n + col] == 0.0) continue;
            const double f = a[row * n + col];
            for (int k = 0; k < n; ++k) {
                a[row * n + k] -= f * a[col * n + k];
                inv[row * n + k] -= f * inv[col * n + k];
            }
        }
    }
    a = std::move(inv);
}

}  // namespace

int winograd_output_tile(int r) {
    switch (r) {
        case 3: return 6;  // F(6,3): 2.25x fewer multiplies
        case 5: return 4;  // F(4,5): 2.5x
        case 7: return 4;  // F(4,7): 2.8x
        default: return 0;
    }
}

// Correlation y_o = sum_j g_j d_{o+j} is the transpose of the linear convolution s = a * g
// (Toom-Cook): with evaluation matrices E (n x m), F (n x r) and the n x n Vandermonde V of
// the same points, s = V^-1 [(E a) (.) (F g)], hence y = E^T [(V^-T d) (.) (F g)].
WinogradTransform winograd_transform(int m, int r) {
    const int n = m + r - 1;
    if (m < 1 || r < 1 || n > kMaxPoints) throw std::invalid_argument("winograd: unsupported F(m, r)");
    WinogradTransform t;
    t.m = m;
    t.r = r;
    t.n = n;
    std::vector<double> vandermonde, e;
    evaluation_rows(n, n, vandermonde);
    invert(vandermonde, n);
    t.bt.resize(static_cast<size_t>(n) * n);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) t.bt[i * n + j] = static_cast<float>(vandermonde[j * n + i]);
    evaluation_rows(n, r, t.g);
    evaluation_rows(n, m, e);
    t.at.resize(static_cast<size_t>(m) * n);
    for (int o = 0; o < m; ++o)
        for (int i = 0; i < n; ++i) t.at[o * n + i] = static_cast<float>(e[i * m + o]);
    return t;
}

}  // namespace rcf
