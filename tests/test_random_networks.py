"""Random networks from hypothesis (1-D and 2-D, strides, every padding, pools including the max
over all frequencies, residuals, concatenations, ReLU/ELU/none) against the float64 reference:
natively on every instruction set in fp32 and bf16, and through ONNX Runtime."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from randcnn_fast import _core
from randcnn_fast.network.archfile import network_from_dict
from randcnn_fast.backends.native import run_native
from randcnn_fast.network.layers import Concat, Conv, Feature, MaxPoolTime, MeanFrequency, Network
from randcnn_fast.network.weights import make_parameters

import reference

ISAS = _core.isa_info()["supported"]
PADDINGS = st.one_of(st.sampled_from(["valid", "same", "same"]),
                     st.tuples(st.integers(0, 3), st.integers(0, 3)))


def shapes_of(kind, length, layers):
    """Every tensor's shape, or None if the layers are not a valid network."""
    try:
        net = Network("random", "custom", kind, length, tuple(layers), (Feature(layers[-1].name),))
    except ValueError:
        return None
    return net.shapes(length)


@st.composite
def conv_layer(draw, name, source, shape, shapes):
    t, f, _ = shape
    two_d = f > 1 and draw(st.integers(0, 3)) > 0  # mostly 2-D on a map with frequencies
    kernel_t = draw(st.integers(1, min(7, t)))
    kernel_f = draw(st.sampled_from([1, 3, f] if f >= 3 else [1])) if two_d else 1
    stride = (draw(st.sampled_from([1, 1, 2, 3])), draw(st.sampled_from([1, 1, 2])) if two_d else 1)
    padding = (draw(PADDINGS), draw(PADDINGS) if two_d else "valid")
    activation = draw(st.sampled_from(["relu", "elu", "none"]))
    channels = draw(st.integers(1, 6))
    plain = Conv(name, source, channels, (kernel_t, kernel_f), stride, padding, activation,
                 dims=2 if two_d else 1)
    out_t, out_f = plain.conv_shape(shape)
    assume(out_t >= 1 and out_f >= 1)
    same_shape = [n for n, s in shapes.items() if s[:2] == (out_t, out_f)]
    if same_shape and draw(st.booleans()):  # a residual: the output takes that tensor's channels
        residual = draw(st.sampled_from(same_shape))
        return Conv(name, source, shapes[residual][2], plain.kernel, stride, padding, activation,
                    residual=residual, dims=plain.dims)
    pool_f = draw(st.sampled_from([1, 2, None, None])) if two_d and out_f >= 2 else 1
    pool = (draw(st.sampled_from([1, 1, 2, 3]).filter(lambda p: p <= out_t)), pool_f)
    return Conv(name, source, channels, plain.kernel, stride, padding, activation, pool,
                dims=plain.dims)


@st.composite
def networks(draw):
    kind = draw(st.sampled_from(["waveform", "logmel"]))
    length = draw(st.integers(20, 48) if kind == "logmel" else st.integers(30, 160))
    layers = []
    for i in range(draw(st.integers(1, 5))):
        shapes = shapes_of(kind, length, layers) if layers else {"input": (length, 96 if kind == "logmel" else 1, 1)}
        name = f"l{i}"
        source = draw(st.sampled_from(list(shapes)))
        t, f, _ = shapes[source]
        pairs = [(a, b) for a in shapes for b in shapes
                 if "input" not in (a, b) and a < b and shapes[a][:2] == shapes[b][:2]]
        choice = draw(st.sampled_from(["conv", "conv", "conv", "mean", "pool", "concat", "concat"]))
        if choice == "mean" and f > 1:
            layer = MeanFrequency(name, source)
        elif choice == "pool" and t >= 2:
            layer = MaxPoolTime(name, source, draw(st.integers(2, min(3, t))))
        elif choice == "concat" and pairs:
            layer = Concat(name, draw(st.sampled_from(pairs)))
        else:
            layer = draw(conv_layer(name, source, shapes[source], shapes))
        assume(shapes_of(kind, length, layers + [layer]) is not None)
        layers.append(layer)
    names = [layer.name for layer in layers]
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    collapse = draw(st.sampled_from([None, 3]))
    features = tuple(Feature(n, collapse if i == 0 else None) for i, n in enumerate(chosen))
    return Network("random", "custom", kind, length, tuple(layers), features)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(net=networks(), seed=st.integers(0, 1000))
def test_random_networks_match_the_reference_everywhere(net, seed):
    params = make_parameters(net, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(net.input_shape(net.default_length)).astype(np.float32)
    want = reference.network(x[:, :, 0], net, params)
    # bf16 multiplies on the AVX-512 kernels of a CPU that has them; elsewhere float32
    want16 = reference.network(x[:, :, 0], net, params, "bf16")
    scale = max(np.abs(want).max(), 1)
    before = _core.isa_info()["active"]
    try:
        for isa in ISAS:
            _core.set_isa(isa)
            got = run_native(net, params, x, 1)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale, err_msg=f"isa {isa}")
            got16 = run_native(net, params, x, 1, precision="bf16")
            bf16 = isa == "avx512" and _core.isa_info()["bf16"]
            # bfloat16 keeps 8 bits: a chain of rounded layers moves a mean by up to a few %
            np.testing.assert_allclose(got16, want16 if bf16 else got, rtol=3e-2, atol=1e-2 * scale,
                                       err_msg=f"bf16 on {isa}")
        # in time tiles (as pad="none" runs long inputs): the same embedding
        tiled = run_native(net, params, x, 1, tile_length=max(5, net.default_length // 3))
        np.testing.assert_allclose(tiled, got, rtol=1e-4, atol=1e-5 * scale)
    finally:
        _core.set_isa(before)
    assert network_from_dict(net.to_dict())[0] == net  # and the file form keeps it


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(net=networks())
def test_random_networks_through_onnx_runtime(net):
    pytest.importorskip("onnxruntime", reason="the ONNX backend needs onnxruntime")
    from randcnn_fast.backends.onnx_runtime import OnnxRunner

    params = make_parameters(net, 1)
    x = np.random.default_rng(2).standard_normal(net.input_shape(net.default_length)).astype(np.float32)
    want = reference.network(x[:, :, 0], net, params)
    got = OnnxRunner(net, params, length=net.default_length).run([x])[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * max(np.abs(want).max(), 1))
