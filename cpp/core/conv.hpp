// Convolution over time x frequency, channels last, fused with max-pool, bias, activation and
// per-channel sums. A 1-D convolution over time is the case F = 1, kw = 1.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace rcf {

// Output positions (time x frequency) per task, about. The tiling depends only on the shapes,
// never on the thread count, so the per-tile partial sums (and the result) do not either.
constexpr long kConvTilePositions = 96;
// Reduction depth per microkernel call: a kConvKc x nr weight panel stays in L1.
constexpr long kConvKc = 256;
// Tiles in flight at once: their partial sums (ldc floats each) stay within
// kConvChunkSumFloats, and at least kConvMinTilesPerChunk run between two waits for the
// workers, whatever the input length.
constexpr long kConvChunkSumFloats = 256 * 1024;
constexpr long kConvMinTilesPerChunk = 128;
// A worker joins a layer only for this much work of its own, in multiply-adds with padded
// lanes and the epilogue's share included (about 50 microseconds of one core): handing a few
// tiles to a sleeping thread costs more than it saves.
constexpr long kConvLaneMacsPerWorker = 8L << 20;

// Packed copies of one layer's weights, made on first use for each instruction set and
// algorithm and then kept: packing costs as much as convolving a short input, and a network
// runs the same weights on every clip. Safe to share between threads. The owner guarantees
// that every call using a cache passes the same weights.
class PackedWeights {
  public:
    PackedWeights();
    ~PackedWeights();
    PackedWeights(const PackedWeights&) = delete;
    PackedWeights& operator=(const PackedWeights&) = delete;
    struct Store;
    std::unique_ptr<Store> store;
};

// How the convolution is computed. Auto takes Winograd minimal filtering over time where it
// applies and pays (stride 1 over time, 3, 5 or 7 taps, a deep enough reduction), else direct:
// output channels in the vector lanes, or output positions (lanes) where that applies and pays
// (a layer over one input channel with few output channels; Winograd's products take lanes the
// same way, with Winograd's bits). Direct, Winograd and Lanes force one (the last two are errors
// where they do not apply; Lanes is direct); every choice but Winograd gives the same bits.
enum ConvAlgorithm : int { kAlgoAuto = 0, kAlgoDirect = 1, kAlgoWinograd = 2, kAlgoLanes = 3 };

// The multiply precision. Bf16 rounds inputs and weights to bfloat16 and accumulates in float32
// where the CPU has bfloat16 dot products (active_bf16_kernels()); elsewhere it computes in
// float32, the more accurate answer.
enum ConvPrecision : int { kPrecisionFp32 = 0, kPrecisionBf16 = 1 };

// The enums from their names ("none", "relu", "elu"; "auto", "direct", "winograd"; "fp32",
// "bf16"); std::invalid_argument naming the choices otherwise. Activation is kernel_table.hpp's.
int parse_activation(const std::string& name);
ConvAlgorithm parse_algorithm(const std::string& name);
ConvPrecision parse_precision(const std::string& name);

struct ConvArgs {
    const float* x;      // input [t_in][f_in][c_in], C-contiguous
    long t_in;
    int f_in;
    int c_in;
    const float* w;      // weights [c_out][c_in][kh][kw] (PyTorch/ONNX layout)
    const float* bias;   // [c_out]
    int c_out;
    int kh, kw;          // kernel extent over time and over frequency
    int stride_t, stride_f;
    int pad_t0, pad_t1;  // zeros before/after the input in time (TensorFlow 'same' puts the
    int pad_f0, pad_f1;  // odd one at the end) and in frequency
    int activation;      // Activation
    int pool_t, pool_f;  // 'valid' max-pool window (= stride) over time and frequency; 1 = none
    const float* residual;  // [t_pool][f_pool][c_out] added after the activation, or nullptr;
                            // only without pooling (the pooled map is then the conv map)
    float* out;          // [t_pool][f_pool][out_ld], or nullptr when only the sums are needed
    long out_ld;         // floats between out's positions: c_out, or more when out is the
                         // slice of a concatenation (0 = c_out)
    int out_pool_t;      // > 1: out is the map max-pooled over time in windows of this many
                         // rows ('valid': [t_pool / out_pool_t][f_pool][out_ld]), as a
                         // max-pool layer that alone reads it would make; sums stay the
                         // map's. 0 or 1: none
    double* sums;        // [c_out]: per-channel sums of the pooled, activated outputs
    int n_threads;       // 0 = all cores
    int algorithm;       // ConvAlgorithm
    int precision;       // ConvPrecision
    PackedWeights* packed;  // cache for w, or nullptr to pack for this call only
};

// Output extent of the convolution itself along one axis (before pooling); 0 if too short.
long conv_output_length(long n_in, int k, int stride, int pad0, int pad1);

// The pooled output's extent over time and frequency: the shape of out (rows x cols x c_out).
struct ConvShape {
    long rows, cols;
};
ConvShape conv_output_shape(const ConvArgs& args);

// Computes out and sums. Throws std::invalid_argument on bad sizes, including an input too
// short to give one pooled output. The result does not depend on n_threads.
void conv(const ConvArgs& args);

// conv() of each of `calls` (sibling layers, such as filters of several widths over one input,
// too small each to keep every thread busy), their tasks in one parallel pass where each
// fits in one; the results are each conv()'s. n_threads is calls[0]'s.
void conv_siblings(const std::vector<ConvArgs>& calls);

// conv_pair fuses a producer whose outputs each take at most this many multiply-adds (a 3-tap
// layer over the waveform): one with a longer reduction is compute-bound, and recomputing the
// rows that neighbouring tasks share costs it more than its map's trip through memory saves
// (frame_level's 512-tap front ran 3 % slower fused).
constexpr long kPairMaxReduction = 16;

// conv() of `producer` (its out ignored: the map is not written) and of `consumer` on that map's
// pooled rows [offset, offset + consumer.t_in) (consumer.x ignored), for a map nothing else
// reads: where the producer is a direct convolution over time within kPairMaxReduction, each
// of the consumer's tasks computes the rows it reads in cache instead of the map going through
// memory. The outputs and both layers' sums are those of the two conv() calls, bit for bit;
// n_threads is consumer's.
void conv_pair(ConvArgs producer, ConvArgs consumer, long offset);

// One layer's weights (copied) with their packed forms, kept for repeated calls: a network
// packs each layer once per process rather than on every clip. Safe to share between threads.
class ConvLayer {
  public:
    // w: [c_out][c_in][kh][kw], b: [c_out].
    ConvLayer(const float* w, const float* b, int c_out, int c_in, int kh, int kw);
    int c_out() const { return c_out_; }
    int c_in() const { return c_in_; }
    int kh() const { return kh_; }
    int kw() const { return kw_; }
    // args with this layer's weights, bias, shape and packed cache filled in.
    ConvArgs bind(ConvArgs args) const;
    // conv(bind(args)).
    void operator()(const ConvArgs& args) const;

  private:
    std::vector<float> w_, b_;
    int c_out_, c_in_, kh_, kw_;
    std::unique_ptr<PackedWeights> packed_;
};

}  // namespace rcf
