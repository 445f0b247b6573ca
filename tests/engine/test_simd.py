"""The column projectors' SIMD kernels (engine.projectors.simd) against NumPy."""

import numpy as np
import pytest
from numba import njit

from engine.projectors.simd import (
    BLOCK,
    INTERLEAVE,
    blend_transpose8,
    deposit16,
    interpolate16,
    interpolate16x2,
    spread_transpose8,
)


@njit
def _blend(profile, at, detector, detector_at, stride, cols, k0, weights, blocks):
    blend_transpose8(profile, at, detector, detector_at, stride, cols, k0, weights, 0, 16, blocks)


@njit
def _spread(profile, at, detector, detector_at, stride, cols, k0, weights, blocks):
    spread_transpose8(profile, at, detector, detector_at, stride, cols, k0, weights, 0, 16, blocks)


def _case(seed):
    rng = np.random.default_rng(seed)
    stride = 37  # rows per detector column: blocks start anywhere, unaligned
    detector = rng.random(20 * stride, dtype=np.float32)
    # eight lanes' columns, non-decreasing with repeats and jumps (lanes that share a column)
    cols = np.zeros(16, np.int32)
    cols[3:11] = 4 + np.array([0, 0, 1, 2, 2, 3, 5, 6])
    weights = rng.random(32, dtype=np.float32)
    return rng, stride, detector, cols, weights


@pytest.mark.parametrize("blocks", [1, 3])
@pytest.mark.parametrize("k0", [3, 8])
def test_blend_transpose_interleaves_eight_blended_lanes(k0, blocks):
    rng, stride, detector, cols, weights = _case(1)
    profile = rng.random(600, dtype=np.float32)
    expected = profile.copy()
    at, j = 21, 5
    for i in range(BLOCK):
        c, wl, wr = cols[k0 + i], weights[k0 + i], weights[16 + k0 + i]
        for t in range(BLOCK * blocks):
            expected[at + INTERLEAVE * t + i] = (wl * detector[c * stride + j + t]
                                                 + wr * detector[(c + 1) * stride + j + t])
    _blend(profile, at, detector, j, stride, cols, k0, weights, blocks)
    np.testing.assert_allclose(profile, expected, rtol=1e-6)


@pytest.mark.parametrize("blocks", [1, 3])
@pytest.mark.parametrize("k0", [3, 8])
def test_spread_transpose_is_the_blends_transpose_and_clears_its_blocks(k0, blocks):
    rng, stride, detector, cols, weights = _case(2)
    profile = rng.random(600, dtype=np.float32)
    at, j = 21, 5
    expected_detector = detector.astype(np.float64)
    expected_profile = profile.copy()
    for i in range(BLOCK):
        c, wl, wr = cols[k0 + i], weights[k0 + i], weights[16 + k0 + i]
        for t in range(BLOCK * blocks):
            p = profile[at + INTERLEAVE * t + i]
            expected_detector[c * stride + j + t] += wl * p
            expected_detector[(c + 1) * stride + j + t] += wr * p
            expected_profile[at + INTERLEAVE * t + i] = 0.0
    _spread(profile, at, detector, j, stride, cols, k0, weights, blocks)
    np.testing.assert_allclose(detector, expected_detector, rtol=1e-6)
    np.testing.assert_array_equal(profile, expected_profile)

    # and ⟨blend(d), p⟩ = ⟨d, spread(p)⟩: the pair is matched
    d = rng.random(detector.size, dtype=np.float32)
    p = np.zeros(600, np.float32)
    rows = BLOCK * blocks
    p[at + INTERLEAVE * np.arange(rows)[:, None] + np.arange(BLOCK)] = rng.random((rows, BLOCK))
    blended = np.zeros(600, np.float32)
    _blend(blended, at, d, j, stride, cols, k0, weights, blocks)
    spread = np.zeros_like(d)
    _spread(p.copy(), at, spread, j, stride, cols, k0, weights, blocks)
    assert np.dot(blended, p) == pytest.approx(np.dot(d, spread), rel=1e-5)


@njit
def _interpolate(acc, acc_at, profiles, z, state, q, base):
    interpolate16(acc, acc_at, profiles, z, state, q, base)


@njit
def _interpolate2(acc, acc_at, profiles, z, state, q, base, state_b, q_b, base_b):
    interpolate16x2(acc, acc_at, profiles, z, state, q, base, state_b, q_b, base_b)


@njit
def _deposit(profiles, q, lanes, state, z, base, values, values_at):
    deposit16(profiles, q, lanes, state, z, base, values, values_at)


def _walk_case(seed, base):
    """A lane state whose 16 rows at slice value z lie in [base, base + 2), rows exactly on base
    and on base + 1 included, and profiles around them."""
    rng = np.random.default_rng(seed)
    z = np.float32(5.0)
    rows = base + rng.uniform(0.0, 1.999, INTERLEAVE).astype(np.float32)
    rows[:3] = (base, base + 1.0, base + 1.5)
    step = rng.uniform(-0.5, 0.5, INTERLEAVE).astype(np.float32)
    state = np.concatenate([rows - step * z, step]).astype(np.float32)
    return rng, z, state, rows.astype(np.float64)


def _interpolation(profiles, q, rows, base):
    """Each lane's linear interpolation between its two rows, in float64."""
    lanes = np.arange(INTERLEAVE)
    t = rows - base
    j = np.floor(t).astype(int)
    f = t - j
    below = profiles[q + INTERLEAVE * j + lanes].astype(np.float64)
    return below + f * (profiles[q + INTERLEAVE * (j + 1) + lanes] - below)


def test_interpolate_reads_each_lanes_two_rows_and_adds():
    base = 7.0
    rng, z, state, rows = _walk_case(3, base)
    profiles = np.concatenate([state, rng.random(400, dtype=np.float32)])
    q = 2 * INTERLEAVE + int(base) * INTERLEAVE  # profiles start after the state
    acc = rng.random(60, dtype=np.float32)
    expected = acc.astype(np.float64)
    expected[9:25] += _interpolation(profiles, q, rows, base)
    _interpolate(acc, 9, profiles, z, 0, q, np.float32(base))
    np.testing.assert_allclose(acc, expected, rtol=1e-6)


def test_interpolate_pair_adds_both_projections():
    rng, z, state_a, rows_a = _walk_case(4, 3.0)
    _, _, state_b, rows_b = _walk_case(5, 11.0)
    profiles = np.concatenate([state_a, state_b, rng.random(500, dtype=np.float32)])
    prof = 4 * INTERLEAVE
    acc = rng.random(40, dtype=np.float32)
    expected = acc.astype(np.float64)
    expected[1:17] += (_interpolation(profiles, prof + 3 * INTERLEAVE, rows_a, 3.0)
                       + _interpolation(profiles, prof + 11 * INTERLEAVE, rows_b, 11.0))
    _interpolate2(acc, 1, profiles, z, 0, prof + 3 * INTERLEAVE, np.float32(3.0), 2 * INTERLEAVE,
                  prof + 11 * INTERLEAVE, np.float32(11.0))
    np.testing.assert_allclose(acc, expected, rtol=1e-6)


def test_deposit_is_the_interpolations_transpose():
    base = 6.0
    rng, z, state, rows = _walk_case(6, base)
    values = rng.random(50, dtype=np.float32)
    profiles = rng.random(300, dtype=np.float32)
    q = int(base) * INTERLEAVE + 5
    expected = profiles.astype(np.float64)
    lanes = np.arange(INTERLEAVE)
    t = rows - base
    j = np.floor(t).astype(int)
    f = t - j
    v = values[13:29].astype(np.float64)
    np.add.at(expected, q + INTERLEAVE * j + lanes, (1 - f) * v)
    np.add.at(expected, q + INTERLEAVE * (j + 1) + lanes, f * v)
    _deposit(profiles, q, state, 0, z, np.float32(base), values, 13)
    np.testing.assert_allclose(profiles, expected, rtol=1e-6)

    # and ⟨interpolate(p), a⟩ = ⟨p, deposit(a)⟩ over the three rows
    p = np.concatenate([state, rng.random(3 * INTERLEAVE, dtype=np.float32)])
    read = np.zeros(INTERLEAVE, np.float32)
    _interpolate(read, 0, p, z, 0, 2 * INTERLEAVE, np.float32(base))
    a = rng.random(INTERLEAVE, dtype=np.float32)
    spread = np.zeros(3 * INTERLEAVE, np.float32)
    _deposit(spread, 0, state, 0, z, np.float32(base), a, 0)
    assert np.dot(read, a) == pytest.approx(np.dot(p[2 * INTERLEAVE:], spread), rel=1e-6)
