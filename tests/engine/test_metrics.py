"""Quality metrics: SNR, CNR, edge width, profiles, PSNR/SSIM, defect regions, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import FathomInputError
from engine.geometry import VolumeGeometry
from engine.metrics import (
    EdgeFit,
    box_profile,
    box_values,
    cnr,
    defect_cnr,
    defect_regions,
    fit_edge,
    line_profile,
    psnr,
    snr,
    ssim,
)


def logistic(x, center, scale, low, high):
    return low + (high - low) / (1 + np.exp(-(x - center) / scale))


@pytest.mark.parametrize("scale", [0.6, 1.3, -2.0])
def test_a_logistic_edge_of_known_width_is_recovered_within_2_percent(scale):
    rng = np.random.default_rng(3)
    x = np.arange(40.0)
    values = logistic(x, 19.3, scale, 0.036, 0.046) + rng.normal(0, 0.00002, x.size)  # 0.2 % noise
    fit = fit_edge(values)
    assert fit.width == pytest.approx(2 * np.log(9) * abs(scale), rel=0.02)
    assert fit.center == pytest.approx(19.3, abs=0.1)
    assert np.sign(fit.scale) == np.sign(scale)
    assert (fit.low, fit.high) == pytest.approx((0.036, 0.046), abs=3e-4)
    assert fit.rms == pytest.approx(0.00002, rel=0.3)
    assert np.allclose(fit.curve(x), logistic(x, fit.center, fit.scale, fit.low, fit.high))


def test_the_edge_width_is_in_the_units_of_the_positions():
    x = np.linspace(-1.0, 1.0, 81)  # mm
    fit = fit_edge(logistic(x, 0.1, 0.05, 0.0, 1.0), positions=x)
    assert isinstance(fit, EdgeFit)
    assert fit.width == pytest.approx(2 * np.log(9) * 0.05, rel=1e-3)


def test_the_10_90_width_is_where_the_fitted_curve_crosses_10_and_90_percent():
    fit = fit_edge(logistic(np.arange(30.0), 14.0, 1.5, 2.0, 5.0))
    low, high = fit.center - fit.width / 2, fit.center + fit.width / 2
    assert fit.curve(low) == pytest.approx(2.0 + 0.1 * 3.0, rel=1e-6)
    assert fit.curve(high) == pytest.approx(2.0 + 0.9 * 3.0, rel=1e-6)


def test_a_sharp_step_gives_a_narrow_edge():
    values = np.r_[np.zeros(10), np.ones(10)]
    assert fit_edge(values).width < 0.5


@pytest.mark.parametrize(
    "values, message",
    [
        (np.full(30, 0.5), "no edge"),
        (np.random.default_rng(0).normal(0, 1, 60), "no edge"),
        (np.array([0.0, 0.0, 1.0, 1.0]), "at least 5"),
        (np.r_[np.zeros(10), np.nan, np.ones(10)], "NaN"),
    ],
)
def test_a_profile_without_an_edge_is_refused_with_a_clear_error(values, message):
    with pytest.raises(FathomInputError, match=message):
        fit_edge(values)


def test_edge_positions_must_match_and_increase():
    with pytest.raises(FathomInputError, match="positions"):
        fit_edge(np.r_[np.zeros(5), np.ones(5)], positions=np.arange(9))
    with pytest.raises(FathomInputError, match="increasing"):
        fit_edge(np.r_[np.zeros(5), np.ones(5)], positions=np.arange(10)[::-1])


def test_snr_of_two_regions_with_known_means_and_noise_within_5_percent():
    rng = np.random.default_rng(7)
    a = rng.normal(0.046, 0.004, (20, 30, 30))
    b = rng.normal(0.036, 0.006, (20, 30, 30))
    assert snr(a, b) == pytest.approx(0.010 / 0.005, rel=0.05)
    assert snr(b, a) == snr(a, b)


def test_cnr_uses_only_the_background_noise():
    rng = np.random.default_rng(8)
    background = rng.normal(0.0, 0.05, 20000)
    region = np.full(9, 0.5)  # noiseless feature: its own spread does not matter
    assert cnr(region, background) == pytest.approx(0.5 / 0.05, rel=0.03)


def test_noiseless_regions_give_infinite_snr_and_bad_regions_are_refused():
    assert snr(np.ones(10), np.zeros(10)) == float("inf")
    with pytest.raises(FathomInputError, match="at least 2"):
        snr(np.ones(1), np.zeros(10))
    with pytest.raises(FathomInputError, match="NaN"):
        cnr(np.ones(4), np.r_[np.zeros(10), np.inf])


def test_line_profile_samples_bilinearly_along_the_segment():
    rows, cols = np.mgrid[0:20, 0:30]
    image = 2.0 * rows + 0.5 * cols  # linear: bilinear interpolation is exact
    distances, values = line_profile(image, (2, 3), (14.5, 22.0))
    assert distances[0] == 0 and distances[-1] == pytest.approx(np.hypot(12.5, 19.0))
    assert len(values) == int(np.ceil(distances[-1])) + 1
    t = distances / distances[-1]
    assert np.allclose(values, 2.0 * (2 + 12.5 * t) + 0.5 * (3 + 19 * t))
    assert len(line_profile(image, (0, 0), (0, 29), samples=5)[1]) == 5


def test_a_banded_profile_averages_parallel_lines_and_keeps_the_edge():
    rng = np.random.default_rng(1)
    x = np.arange(40.0)
    clean = logistic(x, 20.0, 1.0, 0.0, 1.0)
    volume = np.broadcast_to(clean, (15, 15, 40)) + rng.normal(0, 0.2, (15, 15, 40))
    _, single = line_profile(volume, (7, 7, 0), (7, 7, 39))
    _, banded = line_profile(volume, (7, 7, 0), (7, 7, 39), band=5)
    assert np.std(banded - clean) < np.std(single - clean) / 5
    assert fit_edge(banded).width == pytest.approx(2 * np.log(9), rel=0.15)


def test_line_ends_outside_the_image_are_refused():
    with pytest.raises(FathomInputError, match="outside"):
        line_profile(np.zeros((10, 10)), (0, 0), (10, 5))
    with pytest.raises(FathomInputError, match="coordinates"):
        line_profile(np.zeros((10, 10)), (0, 0, 0), (5, 5, 5))


def test_box_profile_averages_a_block_across_its_axis():
    volume = np.zeros((10, 12, 14))
    volume[:, :, 7:] = 1.0
    positions, values = box_profile(volume, (2, 3, 1, 5, 6, 12), axis=2)
    assert positions.tolist() == list(range(1, 13))
    assert values.tolist() == [0.0] * 6 + [1.0] * 6
    assert box_values(volume, (0, 0, 0, 10, 12, 14)).shape == (10, 12, 14)
    with pytest.raises(FathomInputError, match="does not fit"):
        box_values(volume, (5, 0, 0, 6, 1, 1))


def test_psnr_and_ssim_are_perfect_for_the_truth_and_fall_with_noise():
    rng = np.random.default_rng(2)
    truth = np.zeros((12, 40, 40))
    truth[:, 10:30, 10:30] = 1.0
    slight = truth + rng.normal(0, 0.01, truth.shape)
    heavy = truth + rng.normal(0, 0.1, truth.shape)
    assert psnr(truth, truth) == float("inf") and ssim(truth, truth) == pytest.approx(1.0)
    assert psnr(slight, truth) == pytest.approx(40.0, abs=0.2)  # 20·log10(1 / 0.01)
    assert psnr(heavy, truth) == pytest.approx(20.0, abs=0.2)
    assert 1.0 > ssim(slight, truth) > ssim(heavy, truth) > 0.0
    assert ssim(slight[:1], truth[:1]) > 0.9  # one slice is compared as an image
    with pytest.raises(FathomInputError, match="shape"):
        psnr(truth[:5], truth)
    with pytest.raises(FathomInputError, match="constant"):
        ssim(truth, np.zeros_like(truth))


def test_defect_regions_give_a_core_and_a_shell_in_the_host_material():
    grid = VolumeGeometry((40, 40, 40), 0.02)
    z, y, x = np.meshgrid(*(grid.axis_mm(a) for a in range(3)), indexing="ij")
    truth = np.where(x**2 + y**2 + z**2 <= 0.3**2, 1.4, 0.0)  # a solder ball
    void = (x - 0.05) ** 2 + y**2 + z**2 <= 0.06**2
    truth[void] = 0.0
    entry = {"kind": "void", "center_mm": [0.05, 0.0, 0.0], "size_mm": 0.12, "host_mu": 1.4}
    mask, surround = defect_regions(entry, grid, truth)
    assert mask.any() and np.all(truth[mask] == 0.0)
    assert surround.sum() > 100 and np.all(truth[surround] == 1.4)
    assert not (mask & surround).any()
    rng = np.random.default_rng(4)
    noisy = truth + rng.normal(0, 0.1, truth.shape)
    assert defect_cnr(noisy, mask, surround) == pytest.approx(14, rel=0.1)


def test_a_defect_with_a_reference_is_compared_to_the_same_region_there():
    grid = VolumeGeometry((20, 30, 30), 0.02)
    entry = {"kind": "missing_ball", "center_mm": [-0.1, 0.0, 0.0], "size_mm": 0.1,
             "reference_mm": [0.1, 0.0, 0.0]}
    mask, reference = defect_regions(entry, grid)
    assert mask.sum() == reference.sum() > 10
    assert np.array_equal(np.roll(mask, 10, axis=2), reference)  # 0.2 mm = 10 voxels along x


def test_defect_entries_off_the_volume_or_malformed_are_refused():
    grid = VolumeGeometry((10, 10, 10), 0.02)
    with pytest.raises(FathomInputError, match="outside"):
        defect_regions({"center_mm": [1.0, 0, 0], "size_mm": 0.04}, grid)
    with pytest.raises(FathomInputError, match="center_mm"):
        defect_regions({"size_mm": 0.04}, grid)
    with pytest.raises(FathomInputError, match="empty"):
        defect_cnr(np.zeros((10, 10, 10)), np.zeros((10, 10, 10), bool), np.ones((10, 10, 10), bool))
