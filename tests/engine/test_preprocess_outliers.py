"""Outliers: zingers and static defects go, edges and fine structure stay."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from engine.errors import FathomInputError
from engine.preprocess import find_static_defects, remove_outliers
from engine.preprocess.outliers import noise_sigma

NOISE = 0.01


def _moving_objects(n: int = 24, rows: int = 48, cols: int = 64, seed: int = 0):
    """Line integrals of sharp-edged objects moving 2 px per projection, with noise."""
    rng = np.random.default_rng(seed)
    rr, cc = np.mgrid[:rows, :cols]
    clean = np.zeros((n, rows, cols), dtype=np.float32)
    for i in range(n):
        x = 10 + 2 * i % 40
        clean[i] += 1.5 * ((cc >= x) & (cc < x + 12) & (rr >= 8) & (rr < 30))  # a block
        clean[i] += 0.8 * ((cc - 45 + i % 7) ** 2 + (rr - 34) ** 2 < 49)  # a disk
        clean[i] += 0.6 * (cc == 5 + i % 3)  # a one-pixel wire across the detector
    noisy = clean + rng.normal(0, NOISE, clean.shape).astype(np.float32)
    return clean, noisy


def _inject_zingers(clean: np.ndarray, noisy: np.ndarray, count: int, seed: int = 1):
    """Spikes (a few two pixels wide) where the truth is flat in space and time.

    A spike that lands on an edge, or where an edge passes between projections, cannot be
    told from the edge; those places are left out so that the test pins what must work.
    """
    rng = np.random.default_rng(seed)
    flat = (ndimage.maximum_filter(clean, size=(3, 3, 5)) == ndimage.minimum_filter(clean, size=(3, 3, 5)))
    # away from the border (a pair on it is mirrored into its own neighbourhood), with room
    # for the second pixel of a pair
    flat[:, [0, -1], :] = False
    flat[:, :, [0, -2, -1]] = False
    chosen: list[np.ndarray] = []
    for position in np.argwhere(flat)[rng.permutation(int(flat.sum()))]:
        # zingers are rare: no two in the same neighbourhood of space and time
        if all(np.any(np.abs(position - other) > (1, 2, 3)) for other in chosen):
            chosen.append(position)
        if len(chosen) == count:
            break
    k, r, c = np.array(chosen).T
    amplitude = rng.uniform(0.3, 2.0, count) * rng.choice([-1, 1], count)
    spiky = noisy.copy()
    mask = np.zeros(clean.shape, dtype=bool)
    spiky[k, r, c] += amplitude
    mask[k, r, c] = True
    pair = slice(0, 5)  # the first five are two pixels wide
    spiky[k[pair], r[pair], c[pair] + 1] += amplitude[pair]
    mask[k[pair], r[pair], c[pair] + 1] = True
    return spiky, mask


def test_zingers_are_removed_and_edges_are_left_alone():
    clean, noisy = _moving_objects()
    spiky, injected = _inject_zingers(clean, noisy, 60)
    spiky.setflags(write=False)
    cleaned, replaced = remove_outliers(spiky, threshold=5.0)
    # every injected spike is back within the noise of the truth
    assert np.abs(cleaned - clean)[injected].max() < 6 * NOISE
    assert replaced[injected].all()
    # and almost nothing else was touched: edges, the disk and the one-pixel wire survive
    false_positives = replaced & ~injected
    assert false_positives.sum() <= 0.0005 * clean.size
    untouched = ~replaced
    np.testing.assert_array_equal(cleaned[untouched], spiky[untouched])
    edges = np.abs(np.diff(clean, axis=2)) > 0.5
    edge_pixels = np.zeros_like(injected)
    edge_pixels[:, :, 1:] |= edges
    edge_pixels[:, :, :-1] |= edges
    assert (replaced & edge_pixels & ~injected).sum() == 0


def test_a_static_hot_pixel_is_found_once_and_replaced_in_every_projection():
    clean, noisy = _moving_objects()
    noisy[:, 20, 33] += 0.5  # hot: same pixel, every projection
    noisy[:, 40, 10] -= 0.4  # dead
    defects = find_static_defects(noisy[::3], threshold=5.0)
    assert defects[20, 33] and defects[40, 10]
    assert defects.sum() == 2
    # the temporal test alone would not call them zingers: it takes the static mask
    cleaned, replaced = remove_outliers(noisy, 5.0)
    assert not replaced[:, 20, 33].any()
    cleaned, replaced = remove_outliers(noisy, 5.0, static_defects=defects)
    assert replaced[:, 20, 33].all() and replaced[:, 40, 10].all()
    assert np.abs(cleaned[:, 20, 33] - clean[:, 20, 33]).max() < 6 * NOISE


def test_a_single_projection_uses_the_spatial_test_alone():
    _, noisy = _moving_objects(n=1)
    noisy[0, 12, 40] += 1.0
    cleaned, replaced = remove_outliers(noisy[0], 5.0)
    assert cleaned.shape == (1, *noisy.shape[1:])
    assert replaced[0, 12, 40]


def test_noise_free_data_are_left_unchanged():
    clean, _ = _moving_objects()
    cleaned, replaced = remove_outliers(clean, 5.0)
    assert not replaced.any()
    np.testing.assert_array_equal(cleaned, clean)


def test_outlier_parameters_are_checked():
    with pytest.raises(FathomInputError, match="greater than 0"):
        remove_outliers(np.ones((2, 4, 4)), threshold=0)
    with pytest.raises(FathomInputError, match="static defect mask"):
        remove_outliers(np.ones((2, 4, 4)), static_defects=np.zeros((3, 3), bool))


def test_the_noise_estimate_is_the_true_noise_even_beside_sharp_edges():
    clean, noisy = _moving_objects()
    sigma = noise_sigma(noisy)
    assert sigma.shape == noisy.shape
    assert abs(float(np.median(sigma)) - NOISE) < 0.15 * NOISE
    # in the strongly attenuating block the estimate follows the (larger) noise there
    louder = noisy + np.where(clean > 1.0, np.random.default_rng(5).normal(0, 3 * NOISE, clean.shape), 0)
    sigma = noise_sigma(louder.astype(np.float32))
    inside = clean > 1.0
    assert float(np.median(sigma[inside])) > 2 * float(np.median(sigma[~inside]))


@pytest.mark.parametrize("shape", [(3, 17, 23), (2, 1, 9), (1, 2, 2), (2, 5, 1), (1, 1, 1)])
def test_second_extremes_are_scipy_rank_filters_of_the_eight_neighbours(shape):
    from engine.preprocess.outliers import _second_extremes

    # few distinct values, so that ties (and their order) are exercised too
    stack = np.random.default_rng(3).integers(0, 6, shape).astype(np.float32)
    ring = np.ones((1, 3, 3), dtype=bool)
    ring[0, 1, 1] = False
    low, high = _second_extremes(stack)
    np.testing.assert_array_equal(low, ndimage.rank_filter(stack, 1, footprint=ring, mode="mirror"))
    np.testing.assert_array_equal(high, ndimage.rank_filter(stack, 6, footprint=ring, mode="mirror"))
