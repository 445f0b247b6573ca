"""Ring removal: stripes in sinograms go, the sample's signal stays; near dense small features the
default (offset) method leaves the signal alone where Vo's sorting streaks it."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.transform import iradon

from engine.errors import FathomInputError
from engine.preprocess import remove_stripes
from engine.preprocess import rings as rings_module
from engine.progress import Cancelled, CancelToken

from .test_preprocess_data import analytic_sinogram

COLUMNS = 256
ANGLES = np.linspace(0, np.pi, 240, endpoint=False)
NOISE = 0.01
# a cylinder (radius 100 px, 0.004/px) holding blobs: line integrals up to 1.8, like a real sample
BLOBS = ((0, 0, 40, 0.004), (30, -20, 12, 0.01), (-40, 25, 8, -0.01), (15, 60, 6, 0.02),
         (-20, -50, 4, 0.03))
# stripes inside the sample, where rings show: column -> offset added at every angle
STRIPES = {97: 0.03, 116: -0.025, 136: 0.02, 153: 0.03}
PARTIAL = (125, 0.04, slice(80, 180))  # a stripe over part of the scan only
STRIPE_COLUMNS = [*STRIPES, PARTIAL[0]]


def _sinograms():
    s = np.arange(COLUMNS) - (COLUMNS - 1) / 2
    cylinder = 2 * 0.004 * np.sqrt(np.clip(100.0**2 - s**2, 0, None))
    clean = (analytic_sinogram(ANGLES, COLUMNS, blobs=BLOBS) + cylinder).astype(np.float32)
    noisy = clean + np.random.default_rng(0).normal(0, NOISE, clean.shape).astype(np.float32)
    striped = noisy.copy()
    for column, offset in STRIPES.items():
        striped[:, column] += offset
    column, offset, angles = PARTIAL
    striped[angles, column] += offset
    return clean, noisy, striped


def _stripe_error(sinogram: np.ndarray, clean: np.ndarray) -> float:
    """RMS over the stripe columns of the error averaged over angles: what makes a ring."""
    return float(np.sqrt(np.mean((sinogram - clean)[:, STRIPE_COLUMNS].mean(axis=0) ** 2)))


def _ring_error(sinogram: np.ndarray, reference: np.ndarray) -> float:
    """RMS over radii of the reconstruction error averaged around each circle (rings only)."""
    image = iradon(sinogram.T, theta=np.degrees(ANGLES), filter_name="ramp", circle=True)
    error = image - reference
    n = error.shape[0]
    yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
    radius = np.round(np.hypot(yy, xx)).astype(int)
    inside = radius < n // 2 - 2
    profile = np.bincount(radius[inside], error[inside]) / np.maximum(np.bincount(radius[inside]), 1)
    return float(np.sqrt(np.mean(profile**2)))


def test_sorting_reduces_full_and_partial_stripes_in_the_sinogram_and_as_rings():
    clean, _, striped = _sinograms()
    striped.setflags(write=False)
    corrected = remove_stripes(striped, 11, "sorting")
    assert corrected.dtype == np.float32 and corrected.shape == striped.shape
    # measured: stripe error 0.0253 -> 0.0067 (3.8x); ring error 2.2e-4 -> 1.2e-4 (1.9x)
    assert _stripe_error(corrected, clean) < _stripe_error(striped, clean) / 3
    reference = iradon(clean.T, theta=np.degrees(ANGLES), filter_name="ramp", circle=True)
    assert _ring_error(corrected, reference) < _ring_error(striped, reference) / 1.5


@pytest.mark.parametrize("method", ["offset", "sorting"])
def test_a_sinogram_without_stripes_is_changed_less_than_its_noise(method):
    clean, noisy, _ = _sinograms()
    corrected = remove_stripes(noisy, 11, method)
    assert np.sqrt(np.mean((corrected - noisy) ** 2)) < NOISE


def _disc_sinogram(discs) -> np.ndarray:
    """Exact parallel projections of discs (x, y, radius, attenuation per px): (angles, columns)."""
    s = np.arange(COLUMNS) - (COLUMNS - 1) / 2
    t = np.asarray(ANGLES)[:, None]
    out = np.zeros((len(ANGLES), COLUMNS))
    for x0, y0, radius, mu in discs:
        s0 = x0 * np.cos(t) + y0 * np.sin(t)
        out += 2 * mu * np.sqrt(np.clip(radius**2 - (s - s0) ** 2, 0, None))
    return out


def _package_sinograms():
    """A ball array in a mold-like disc, with the flat field's noise as a small offset per column.

    Balls 6 px across at a 15 px pitch (0.3/px: line integrals up to 1.8, like solder), in a disc
    of 0.004/px; pixel noise 0.01; each column off by a normal offset of σ 0.003 (8 flats).
    """
    balls = [(x, y, 3.0, 0.3) for x in range(-60, 61, 15) for y in range(-60, 61, 15)]
    rng = np.random.default_rng(1)
    clean = _disc_sinogram([(0, 0, 100.0, 0.004), *balls]).astype(np.float32)
    noisy = clean + rng.normal(0, NOISE, clean.shape).astype(np.float32)
    offsets = rng.normal(0, 0.003, COLUMNS).astype(np.float32)
    # a plain low-contrast sample (a die in mold), same offsets: where rings show. Its sorted
    # sinogram rises across columns by less than the noise, so the offsets can be told (on a
    # rise steeper than the offsets they cannot, with either method; see the module)
    plain = _disc_sinogram([(0, 0, 110.0, 0.001), (30, 0, 20.0, 0.003)]).astype(np.float32)
    plain_noisy = plain + rng.normal(0, NOISE, plain.shape).astype(np.float32)
    return clean, noisy, noisy + offsets, plain_noisy, plain_noisy + offsets, offsets


def test_near_a_ball_array_the_offset_method_leaves_the_signal_where_sorting_streaks_it():
    clean, noisy, striped, _, _, _ = _package_sinograms()
    reference = iradon(clean.T, theta=np.degrees(ANGLES), filter_name="ramp", circle=True)

    def image_error(sinogram):
        image = iradon(sinogram.T, theta=np.degrees(ANGLES), filter_name="ramp", circle=True)
        return float(np.sqrt(np.mean((image - reference) ** 2)))

    # measured: striped 3.9e-4, offset 3.9e-4, sorting 3.2e-2 (streaks along the ball rows)
    assert image_error(remove_stripes(striped, 11, "offset")) <= image_error(striped) * 1.02
    assert image_error(remove_stripes(striped, 11, "sorting")) > 20 * image_error(striped)


def test_the_offset_method_takes_the_flat_fields_offsets_out_of_a_smooth_sample():
    _, _, _, plain, striped, offsets = _package_sinograms()
    corrected = remove_stripes(striped, 11)  # the default method

    def column_error(sinogram):  # what makes rings: each column's mean error
        return float(np.sqrt(np.mean((sinogram - plain).mean(axis=0) ** 2)))

    assert column_error(striped) == pytest.approx(0.003, rel=0.2)
    assert column_error(corrected) < 0.6 * column_error(striped)  # measured: 0.0031 -> 0.0015


@pytest.mark.parametrize("method", ["offset", "sorting"])
def test_stacks_are_processed_row_by_row_and_blockwise_as_one(method):
    _, _, striped = _sinograms()
    stack = np.stack([striped, 0.5 * striped, striped[:, ::-1]], axis=1)  # (angles, 3, cols)
    whole = remove_stripes(stack, 15, method)
    for row in range(3):
        np.testing.assert_allclose(whole[:, row], remove_stripes(stack[:, row], 15, method), atol=1e-6)
    # small blocks of columns (with their halo) give exactly the same result
    original = rings_module._BLOCK_PIXELS
    try:
        rings_module._BLOCK_PIXELS = len(ANGLES) * 3 * 20 * 15 // 11  # 20 columns a block
        blockwise = remove_stripes(stack, 15, method)
    finally:
        rings_module._BLOCK_PIXELS = original
    np.testing.assert_array_equal(blockwise, whole)


def test_agrees_with_algotoms_sorting_based_removal():
    removal = pytest.importorskip("algotom.prep.removal")
    _, _, striped = _sinograms()
    ours = remove_stripes(striped, 21, "sorting")
    theirs = removal.remove_stripe_based_sorting(striped, size=21)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_ring_removal_checks_its_width_and_honours_cancel():
    with pytest.raises(FathomInputError, match="at least 3"):
        remove_stripes(np.zeros((10, 10)), 1)
    with pytest.raises(FathomInputError, match="not one of offset, sorting"):
        remove_stripes(np.zeros((10, 10)), 5, "wavelet")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        remove_stripes(np.zeros((10, 10)), 5, cancel=token)
