"""The ELM's native pieces outside the linear algebra: the dense ReLU layer on every
instruction set, the RandomState (MT19937) normal stream, and the pool of large buffers behind
their results."""
from __future__ import annotations

import os

import numpy as np
import pytest

from randcnn_fast import _core

from randcnn_fast.classifiers import elm
TASK_ROWS, KC = _core.DENSE_TASK_ROWS, _core.DENSE_KC


@pytest.mark.parametrize("n", [1, 2, TASK_ROWS - 1, TASK_ROWS, TASK_ROWS + 1])
@pytest.mark.parametrize("d,h", [(1, 1), (3, 31), (KC - 1, 32), (KC, 33), (KC + 1, 7), (13, 97)])
def test_dense_relu_matches_float64(isa, n, d, h):
    rng = np.random.default_rng(n * 7919 + d * 31 + h)
    x = rng.standard_normal((n, d)).astype(np.float32)
    w, b = rng.standard_normal((d, h)), rng.standard_normal(h)
    want = np.maximum(x.astype(np.float64) @ w + b, 0)
    layer = _core.DenseRelu(w, b, 2)
    got = layer(x, 2)
    # float32 products of float32-rounded weights: about sqrt(d) float32 roundings of the terms
    scale = np.sqrt(d) * (np.abs(x) @ np.abs(w)).max() + 1.0
    np.testing.assert_allclose(got, want, rtol=0, atol=4e-7 * scale)
    np.testing.assert_array_equal(layer(x, 1, True), got.T)
    np.testing.assert_array_equal(layer(x, 1), got)  # any thread count, the same values


def test_dense_relu_rejects_bad_shapes():
    layer = _core.DenseRelu(np.ones((4, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="4 columns"):
        layer(np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match="one bias per unit"):
        _core.DenseRelu(np.ones((4, 3)), np.zeros(2))
    with pytest.raises(TypeError):
        layer(np.ones((2, 4)))  # float64 inputs are converted by the caller, never silently


@pytest.mark.parametrize("seed, n_threads", [(0, 1), (7, 2), (2**32 - 1, 3)])
def test_native_normals_continue_the_randomstate_stream_bit_for_bit(isa, seed, n_threads):
    # Sizes cross the 624-word key (1, odd, prime, around 624 / 2 values per twist), the vector
    # scan's blocks of eight candidates (the draw ends inside one at every offset), and the
    # ring's chunks of 2^15 points (past its four slots, which are then reused); an odd count
    # leaves a cached value for the next call, and numpy's own calls interleave. 1 to 3
    # threads share the transforms.
    ours, theirs = np.random.RandomState(seed), np.random.RandomState(seed)
    for size in [1, 0, 3, 2, 311, 312, 313, 623, 624, 625, 1249, 4001, (7, 13), *range(5, 22),
                 2**16 - 1, 2**16, 2**16 + 1, 3 * 2**16 + 7, 9 * 2**16 + 3, 131]:
        np.testing.assert_array_equal(
            elm.standard_normals(ours, size if isinstance(size, tuple) else (size,), n_threads),
            theirs.normal(size=size))
        mine, reference = ours.get_state(), theirs.get_state()
        np.testing.assert_array_equal(mine[1], reference[1])
        assert mine[2:] == reference[2:]
        assert ours.random_sample() == theirs.random_sample()
    assert ours.normal() == theirs.normal()


def test_native_normals_leave_other_generators_to_themselves():
    generator = np.random.default_rng(1)
    np.testing.assert_array_equal(elm.standard_normals(generator, (5, 3)),
                                  np.random.default_rng(1).normal(size=(5, 3)))
    pcg = np.random.RandomState(np.random.PCG64(2))
    np.testing.assert_array_equal(elm.standard_normals(pcg, (9,)),
                                  np.random.RandomState(np.random.PCG64(2)).normal(size=9))


def test_large_results_reuse_memory_only_once_freed():
    # Results of 4 MiB and more come from a pool of freed blocks: a live array's block must never
    # be handed out again, and a reused block must be fully rewritten.
    rng = np.random.default_rng(5)
    layer = _core.DenseRelu(rng.standard_normal((8, 1024)), rng.standard_normal(1024), 2)
    x = rng.standard_normal((640, 8)).astype(np.float32)
    first, second = layer(x, 2), layer(x, 2)
    assert first.nbytes >= 4 << 20
    assert not np.shares_memory(first, second)
    want = first.copy()
    first[:] = np.nan  # a freed block's old contents must not leak into the next result
    del first
    third = layer(x, 2)
    np.testing.assert_array_equal(third, want)
    np.testing.assert_array_equal(second, want)
    assert not np.shares_memory(third, second)


@pytest.mark.parametrize("inputs, units", [(1, 1), (5, 33), (7, 97), (3, 64)])
@pytest.mark.parametrize("cached", [False, True])
def test_layer_drawn_into_panels_is_the_packed_draw(isa, inputs, units, cached):
    # Straight into the panels or drawn as arrays and packed: the same layer, the same state
    # after it, whether or not a second normal of an earlier call waits in the state.
    rngs = [np.random.RandomState(11), np.random.RandomState(11)]
    if cached:
        for rng in rngs:
            rng.normal()  # leaves has_gauss set
    fused = elm.draw_hidden_layer(rngs[0], inputs, units, 2)
    packed = elm.hidden_layer(*elm.draw_layer(rngs[1], inputs, units, 2), 2)
    x = np.random.default_rng(units).standard_normal((11, inputs)).astype(np.float32)
    np.testing.assert_array_equal(fused(x, 1), packed(x, 1))
    assert rngs[0].normal() == rngs[1].normal()
    other = np.random.default_rng(3)  # not a RandomState: drawn through its own normal()
    assert elm.draw_hidden_layer(other, inputs, units)(x, 1).shape == (11, units)


def _layer_sum_in_child(layer, x, queue):
    queue.put(float(layer(x, 2).sum()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_runs_the_native_layer():
    # A forked child gets a thread pool and a buffer pool of its own and computes as the parent.
    import multiprocessing

    rng = np.random.default_rng(9)
    layer = _core.DenseRelu(rng.standard_normal((8, 1024)), rng.standard_normal(1024), 2)
    x = rng.standard_normal((640, 8)).astype(np.float32)
    want = float(layer(x, 2).sum())  # the parent's pools now hold blocks and threads
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_layer_sum_in_child, args=(layer, x, queue))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert got == want
