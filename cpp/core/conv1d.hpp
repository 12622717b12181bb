// conv1d over time with channels last, fused with bias, activation, max-pool and channel sums.
#pragma once

namespace rcf {

struct Conv1dArgs {
    const float* x;      // input [t_in][c_in], C-contiguous
    long t_in;
    int c_in;
    const float* w;      // weights [c_out][c_in][k] (PyTorch/ONNX layout)
    const float* bias;   // [c_out]
    int c_out;
    int k;
    int stride;
    int pad_left;        // zeros before the input (TensorFlow 'same' puts the odd one at the end)
    int pad_right;
    int activation;      // Activation
    int pool;            // max-pool window and stride over time, 'valid' (1 = none)
    float* out;          // [pooled_length][c_out], or nullptr when only the sums are needed
    double* sums;        // [c_out]: per-channel sums of the pooled, activated outputs
    int n_threads;       // 0 = all cores
};

// Output rows of the convolution itself (before pooling); 0 if the input is too short.
long conv1d_output_length(long t_in, int k, int stride, int pad_left, int pad_right);

// Rows after pooling: conv1d_output_length(...) / pool.
long conv1d_pooled_length(long t_in, int k, int stride, int pad_left, int pad_right, int pool);

// Computes out and sums. Throws std::invalid_argument on bad sizes, including an input too
// short to give one pooled row. The result does not depend on n_threads.
void conv1d(const Conv1dArgs& args);

}  // namespace rcf
