"""Flat/dark normalization and −log: known answers, interpolated flats, and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import FathomInputError
from engine.preprocess import (
    average_frames,
    flat_dark_normalize,
    minus_log,
    prepare_flat_field,
)


def _counts(transmission: np.ndarray, flat: float = 1000.0, dark: float = 100.0) -> np.ndarray:
    return (dark + transmission * (flat - dark)).astype(np.float32)


def test_transmission_is_projection_minus_dark_over_flat_minus_dark():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.05, 1.0, size=(4, 6, 7))
    flat = rng.uniform(800, 1200, size=(6, 7))
    dark = rng.uniform(50, 150, size=(6, 7))
    projections = (dark + truth * (flat - dark)).astype(np.float32)
    flats = np.stack([flat, flat + 10, flat - 10])  # median and mean both give `flat`
    darks = np.stack([dark - 1, dark, dark + 1])
    for average in ("median", "mean"):
        t = flat_dark_normalize(projections, flats, darks, average=average)
        assert t.dtype == np.float32 and t.shape == truth.shape
        np.testing.assert_allclose(t, truth, rtol=1e-4)


def test_median_of_flats_ignores_a_zinger_that_the_mean_would_keep():
    flats = np.full((5, 4, 4), 1000.0)
    flats[2, 1, 1] = 60000.0  # a zinger in one flat frame
    assert average_frames(flats, "median")[1, 1] == 1000.0
    assert average_frames(flats, "mean")[1, 1] > 10000.0


def test_no_darks_means_a_dark_of_zero():
    projections = np.full((2, 3, 3), 250.0)
    t = flat_dark_normalize(projections, np.full((1, 3, 3), 1000.0), None)
    np.testing.assert_allclose(t, 0.25)


def test_flats_before_and_after_the_scan_are_interpolated_per_projection():
    n = 11
    truth = np.linspace(0.2, 0.9, 3 * 4).reshape(1, 3, 4).repeat(n, axis=0)
    # the beam drifts linearly from 1000 to 1500 counts over the scan, no dark
    beam = np.linspace(1000.0, 1500.0, n)[:, None, None]
    projections = truth * beam
    flats = np.stack([np.full((3, 4), 990.0), np.full((3, 4), 1010.0),  # two before
                      np.full((3, 4), 1500.0)])                          # one after
    positions = np.array([0, 0, n - 1])
    t = flat_dark_normalize(projections, flats, None, flat_positions=positions)
    np.testing.assert_allclose(t, truth, rtol=1e-5)
    # without positions the averaged flat is used for all and the drift stays
    t_plain = flat_dark_normalize(projections, flats, None)
    assert np.abs(t_plain - truth).max() > 0.1


def test_flat_field_reports_interpolation_and_reads_chunks_by_index():
    flats = np.stack([np.full((2, 2), 100.0), np.full((2, 2), 300.0)])
    field = prepare_flat_field(flats, None, flat_positions=np.array([0, 10]))
    assert field.positions is not None
    t = field.normalize(np.full((2, 2, 2), 200.0), indices=np.array([5, 10]))
    np.testing.assert_allclose(t[0], 1.0)
    np.testing.assert_allclose(t[1], 200.0 / 300.0)


def test_a_few_dead_flat_pixels_are_filled_from_their_neighbours_and_counted():
    flats = np.full((1, 20, 20), 1000.0)
    darks = np.full((1, 20, 20), 100.0)
    flats[0, 5, 5] = 100.0  # flat == dark: a dead pixel
    projections = _counts(np.full((2, 20, 20), 0.5))
    field = prepare_flat_field(flats, darks)
    assert field.n_dead_pixels == 1
    t = field.normalize(projections)
    assert np.all(np.isfinite(t))
    np.testing.assert_allclose(t[:, 5, 5], 0.5)


def test_flats_not_brighter_than_darks_raise_with_the_fraction():
    flats = np.full((1, 10, 10), 1000.0)
    darks = np.full((1, 10, 10), 100.0)
    flats[0, :3, :] = 50.0  # 30 % of the pixels
    with pytest.raises(FathomInputError, match=r"30\.0% of the pixels.*swapped"):
        prepare_flat_field(flats, darks)
    # swapped flats and darks: everywhere
    with pytest.raises(FathomInputError, match="100.0%"):
        flat_dark_normalize(np.ones((1, 10, 10)), darks, np.full((1, 10, 10), 1000.0))
    # allowed when the user raises the limit
    field = prepare_flat_field(flats, darks, max_bad_flat_fraction=0.5)
    assert field.n_dead_pixels == 30


@pytest.mark.parametrize("where", ["projections", "flats", "darks"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinite_inputs_raise_naming_the_array(where, bad):
    arrays = {
        "projections": np.full((3, 4, 4), 500.0),
        "flats": np.full((2, 4, 4), 1000.0),
        "darks": np.full((2, 4, 4), 10.0),
    }
    arrays[where][1, 2, 3] = bad
    with pytest.raises(FathomInputError, match=f"{where} contain 1 NaN or infinite.*{where[:-1]} 1"):
        flat_dark_normalize(arrays["projections"], arrays["flats"], arrays["darks"])


def test_missing_flats_raise_and_say_how_to_fix():
    with pytest.raises(FathomInputError, match="no flat fields: give flats.*line_integrals"):
        flat_dark_normalize(np.ones((1, 2, 2)), None)


def test_minus_log_is_the_line_integral_and_counts_clamped_values():
    t = np.array([1.0, np.exp(-2.0), 0.5e-4, 0.0, -0.3, 1.2, np.nan], dtype=np.float32)
    p, clamped = minus_log(t, floor=1e-4)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p[:2], [0.0, 2.0], atol=1e-6)
    np.testing.assert_allclose(p[2:5], -np.log(1e-4), rtol=1e-6)  # clamped to the floor
    assert p[5] < 0  # noise above the open beam stays (unbiased air)
    assert np.isfinite(p).all()
    assert clamped == 4  # 0.5e-4, 0, −0.3 and NaN


def test_minus_log_can_work_in_place_and_rejects_a_non_positive_floor():
    t = np.array([[0.5, 0.25]], dtype=np.float32)
    p, _ = minus_log(t, out=t)
    assert p is t
    np.testing.assert_allclose(t, [[np.log(2), np.log(4)]], rtol=1e-6)
    with pytest.raises(FathomInputError, match="floor"):
        minus_log(t, floor=0.0)
