"""The column projectors' register transposes (engine.projectors.simd) against NumPy."""

import numpy as np
import pytest
from numba import njit

from engine.projectors.simd import BLOCK, INTERLEAVE, blend_transpose8, spread_transpose8


@njit
def _blend(profile, at, detector, detector_at, stride, cols, k0, weights):
    blend_transpose8(profile, at, detector, detector_at, stride, cols, k0, weights, 0, 16)


@njit
def _spread(profile, at, detector, detector_at, stride, cols, k0, weights):
    spread_transpose8(profile, at, detector, detector_at, stride, cols, k0, weights, 0, 16)


def _case(seed):
    rng = np.random.default_rng(seed)
    stride = 37  # rows per detector column: blocks start anywhere, unaligned
    detector = rng.random(20 * stride, dtype=np.float32)
    # eight lanes' columns, non-decreasing with repeats and jumps (lanes that share a column)
    cols = np.zeros(16, np.int32)
    cols[3:11] = 4 + np.array([0, 0, 1, 2, 2, 3, 5, 6])
    weights = rng.random(32, dtype=np.float32)
    return rng, stride, detector, cols, weights


@pytest.mark.parametrize("k0", [3, 8])
def test_blend_transpose_interleaves_eight_blended_lanes(k0):
    rng, stride, detector, cols, weights = _case(1)
    profile = rng.random(300, dtype=np.float32)
    expected = profile.copy()
    at, j = 21, 5
    for i in range(BLOCK):
        c, wl, wr = cols[k0 + i], weights[k0 + i], weights[16 + k0 + i]
        for t in range(BLOCK):
            expected[at + INTERLEAVE * t + i] = (wl * detector[c * stride + j + t]
                                                 + wr * detector[(c + 1) * stride + j + t])
    _blend(profile, at, detector, j, stride, cols, k0, weights)
    np.testing.assert_allclose(profile, expected, rtol=1e-6)


@pytest.mark.parametrize("k0", [3, 8])
def test_spread_transpose_is_the_blends_transpose_and_clears_its_block(k0):
    rng, stride, detector, cols, weights = _case(2)
    profile = rng.random(300, dtype=np.float32)
    at, j = 21, 5
    expected_detector = detector.astype(np.float64)
    expected_profile = profile.copy()
    for i in range(BLOCK):
        c, wl, wr = cols[k0 + i], weights[k0 + i], weights[16 + k0 + i]
        for t in range(BLOCK):
            p = profile[at + INTERLEAVE * t + i]
            expected_detector[c * stride + j + t] += wl * p
            expected_detector[(c + 1) * stride + j + t] += wr * p
            expected_profile[at + INTERLEAVE * t + i] = 0.0
    _spread(profile, at, detector, j, stride, cols, k0, weights)
    np.testing.assert_allclose(detector, expected_detector, rtol=1e-6)
    np.testing.assert_array_equal(profile, expected_profile)

    # and ⟨blend(d), p⟩ = ⟨d, spread(p)⟩: the pair is matched
    d = rng.random(detector.size, dtype=np.float32)
    p = np.zeros(300, np.float32)
    p[at + INTERLEAVE * np.arange(BLOCK)[:, None] + np.arange(BLOCK)] = rng.random((BLOCK, BLOCK))
    blended = np.zeros(300, np.float32)
    _blend(blended, at, d, j, stride, cols, k0, weights)
    spread = np.zeros_like(d)
    _spread(p.copy(), at, spread, j, stride, cols, k0, weights)
    assert np.dot(blended, p) == pytest.approx(np.dot(d, spread), rel=1e-5)
