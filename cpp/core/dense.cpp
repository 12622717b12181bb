// The ELM's random hidden layer: weight panels packed (or drawn) once, then row blocks times
// panel groups on the thread pool, with the bias and ReLU applied in float64.
#include "core/dense.hpp"

#include <algorithm>
#include <memory>

#include "core/isa.hpp"
#include "core/thread_pool.hpp"
#include "kernels/kernel_table.hpp"

namespace rcf {
namespace {

constexpr long kTaskRows = kDenseTaskRows;
constexpr long kKc = kDenseKc;
// Weight panels per task (measured on the ELM's layer, 3584 inputs: groups of 4 panels,
// 1.8 MB of float32 weights, run about 5 % faster than one panel at a time; 8 no better).
constexpr long kGroupPanels = 4;

}  // namespace

DenseRelu::DenseRelu(long inputs, long units)
    : kt_(&active_kernels()),
      inputs_(inputs),
      units_(units),
      panels_((units + kt_->nr - 1) / kt_->nr),
      packed_(static_cast<size_t>(panels_ * inputs * kt_->nr)),
      bias_(static_cast<size_t>(units)) {}

DenseRelu::DenseRelu(const double* w, const double* b, long inputs, long units, int n_threads)
    : DenseRelu(inputs, units) {
    std::copy(b, b + units, bias_.begin());
    const long nr = kt_->nr;
    parallel_for(panels_, n_threads, [&](long j, int) {
        float* panel = packed_.data() + j * inputs_ * nr;
        const long first = j * nr, width = std::min(nr, units_ - first);
        for (long k = 0; k < inputs_; ++k) {
            const double* row = w + k * units_ + first;
            for (long q = 0; q < width; ++q) panel[k * nr + q] = static_cast<float>(row[q]);
            for (long q = width; q < nr; ++q) panel[k * nr + q] = 0.0f;
        }
    });
}

DenseRelu::DenseRelu(RandomStateNormalState& state, long inputs, long units, int n_threads)
    : DenseRelu(inputs, units) {
    randomstate_normals(state, bias_.data(), units, n_threads);
    const long nr = kt_->nr, width = units - (panels_ - 1) * nr;  // units in the last panel
    float* last = packed_.data() + (panels_ - 1) * inputs * nr;
    for (long k = 0; k < inputs; ++k) std::fill(last + k * nr + width, last + (k + 1) * nr, 0.0f);
    // Weight (k, u) goes to lane u % nr of row k of panel u / nr, as the other constructor packs.
    // A run of values is cut where it crosses a panel or a row of weights: each piece is
    // consecutive lanes of one panel row.
    randomstate_normals(state, inputs * units, n_threads, [&](long first, const double* values, long count) {
        for (long t = 0; t < count;) {
            const long k = (first + t) / units, u = (first + t) % units, q = u % nr;
            const long piece = std::min({count - t, nr - q, units - u});
            float* lanes = packed_.data() + ((u / nr) * inputs + k) * nr + q;
            for (long p = 0; p < piece; ++p) lanes[p] = static_cast<float>(values[t + p]);
            t += piece;
        }
    });
}

void DenseRelu::operator()(const float* x, long n, double* out, int n_threads,
                           bool transposed) const {
    const KernelTable& kt = *kt_;
    const long nr = kt.nr;
    // Tasks of equal size in whole microkernel rows: 300 rows as 4 x 96 would leave one
    // thread 108 rows to the other's 192; as 80, 80, 80, 60 they share 160 / 140.
    const long row_tasks_wanted = (n + kTaskRows - 1) / kTaskRows;
    const long mr = kt.mr, task_rows = ((n + row_tasks_wanted - 1) / row_tasks_wanted + mr - 1) / mr * mr;
    const long row_tasks = (n + task_rows - 1) / task_rows;
    // A task is a group of panels times a block of rows, handed out group by group: the
    // threads share one group's weights while it stays in cache, where a task of every panel
    // would stream all the weights from memory for each block of rows.
    const long groups = (panels_ + kGroupPanels - 1) / kGroupPanels;
    parallel_for(groups * row_tasks, n_threads, [&](long task, int) {
        const long j0 = task / row_tasks * kGroupPanels, j1 = std::min(panels_, j0 + kGroupPanels);
        const long r0 = task % row_tasks * task_rows, rows = std::min(task_rows, n - r0);
        const float* row_pointers[kTaskRows];
        for (long i = 0; i < rows; ++i) row_pointers[i] = x + (r0 + i) * inputs_;
        // Each panel's products, [panel][row][lane]; the first slab's call writes them all.
        std::unique_ptr<float[]> products(new float[static_cast<size_t>(kGroupPanels * kTaskRows * nr)]);
        for (long k0 = 0; k0 < inputs_; k0 += kKc) {
            const long kc = std::min(kKc, inputs_ - k0);
            for (long j = j0; j < j1; ++j) {
                const float* panel = packed_.data() + j * inputs_ * nr + k0 * nr;
                float* panel_products = products.get() + (j - j0) * kTaskRows * nr;
                for (long m0 = 0; m0 < rows; m0 += kt.mr) {
                    const int mr = static_cast<int>(std::min<long>(kt.mr, rows - m0));
                    kt.gemm(mr, kc, row_pointers + m0, k0, panel, panel_products + m0 * nr, nr, k0 > 0);
                }
            }
        }
        for (long j = j0; j < j1; ++j) {
            const float* panel_products = products.get() + (j - j0) * kTaskRows * nr;
            const long first = j * nr, width = std::min(nr, units_ - first);
            auto activate = [&](long i, long q) {
                return std::max(0.0, static_cast<double>(panel_products[i * nr + q]) + bias_[first + q]);
            };
            if (transposed) {
                for (long q = 0; q < width; ++q)
                    for (long i = 0; i < rows; ++i) out[(first + q) * n + r0 + i] = activate(i, q);
            } else {
                for (long i = 0; i < rows; ++i)
                    for (long q = 0; q < width; ++q) out[(r0 + i) * units_ + first + q] = activate(i, q);
            }
        }
    });
}

}  // namespace rcf
