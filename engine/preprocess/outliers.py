"""Hot and dead pixels and zingers: values that no ray through the sample can explain.

An outlier is a *spike*: a value above the second-largest, or below the second-smallest, of
its eight neighbours by more than the threshold. Unlike a plain difference from the median
filter, this never fires on an edge or a smooth curve of the sample (a pixel on an edge lies
between its neighbours), and using the second extreme still catches spikes two pixels wide.
Two kinds, told apart by time:

* *Static defects* (hot, dead or stuck detector pixels) spike at the same pixel in every
  projection: the median of the spike score over many projections exceeds the threshold (the
  sample moves under the detector, a defect does not).
* *Zingers* (direct hits of scattered photons or cosmic rays) spike in a single projection:
  the value also lies beyond the 3×3 neighbourhood of the same pixel in both neighbouring
  projections by more than the threshold.

Thresholds are in standard deviations of the noise, estimated robustly per chunk from second
differences (medians, in the direction along edges, see :func:`noise_sigma`), separately for
eight levels of signal because the noise of line integrals grows with attenuation; one value so
suits raw counts, transmission and line integrals alike. Outliers take the median of their eight
neighbours.

Limits: defects wider than two pixels (dead columns) are stripes, left to ring removal; the end
of a line one pixel wide has a single similar neighbour and looks like a spike too, so it is
replaced where it also moves by more than a pixel from one projection to the next; a zinger
that lands where an edge passes between projections is not told from the edge and stays.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from scipy import ndimage

from ..errors import FathomInputError

__all__ = ["find_static_defects", "remove_outliers", "spike_score"]

_LEVELS = 8
_SIGMA_SAMPLES = 200_000


def _as_stack(projections: np.ndarray, threshold: float) -> np.ndarray:
    stack = np.asarray(projections)
    if stack.ndim == 2:
        stack = stack[None]
    if stack.ndim != 3:
        raise FathomInputError(
            f"projections have {stack.ndim} dimensions: give a stack (angles, rows, columns)"
        )
    if not threshold > 0:
        raise FathomInputError(f"outlier threshold {threshold} must be greater than 0")
    return stack


def _second_difference(stack: np.ndarray, axis: int) -> np.ndarray:
    """p − (previous + next)/2 along ``axis`` (mirrored at the ends)."""
    pad = [(0, 0)] * stack.ndim
    pad[axis] = (1, 1)
    padded = np.pad(stack, pad, mode="reflect")
    before = np.take(padded, np.arange(0, stack.shape[axis]), axis=axis)
    after = np.take(padded, np.arange(2, stack.shape[axis] + 2), axis=axis)
    return stack - 0.5 * (before + after)


def noise_sigma(stack: np.ndarray, level: np.ndarray | None = None) -> np.ndarray:
    """Robust noise standard deviation per pixel, as a function of the local signal level.

    ``stack`` (k, rows, columns) float32; ``level`` the same shape, the local signal level
    (by default the middle of the second-smallest and second-largest neighbour, which an
    outlier cannot move and which, unlike the pixel's own value, is not correlated with its
    noise). The second difference p − (previous + next)/2 has standard
    deviation √1.5 σ for white noise and ignores linear trends. Across an edge it is large,
    along the edge it is not, so the smaller of the row-wise and column-wise second
    differences is used; for Gaussian noise its median is 0.4933 σ (found by simulation: the two
    share the centre pixel), or 0.6745 · √1.5 σ = 0.8261 σ along rows alone when there are
    fewer than three rows. Medians over eight quantile bins
    of the level give σ(level), interpolated linearly to every pixel. Returns float32 of the
    stack's shape.
    """
    if level is None:
        second_low, second_high = _second_extremes(stack)
        level = 0.5 * (second_low + second_high)
    cols, rows = stack.shape[-1], stack.shape[-2]
    step = max(1, stack.size // _SIGMA_SAMPLES)
    if cols < 3:  # a sliver of a detector: deviations from the row mean
        magnitude = np.abs(stack - stack.mean(axis=-1, keepdims=True))
        median_factor = 0.6745 * np.sqrt(1 - 1 / cols) if cols > 1 else 0.6745
    elif rows < 3:
        magnitude = np.abs(_second_difference(stack, -1))
        median_factor = 0.8261
    else:
        magnitude = np.minimum(
            np.abs(_second_difference(stack, -1)), np.abs(_second_difference(stack, -2))
        )
        median_factor = 0.4933
    d = magnitude.reshape(-1)[::step].astype(np.float64)
    del magnitude
    v = np.asarray(level).reshape(-1)[::step].astype(np.float64)
    edges = np.quantile(v, np.linspace(0, 1, _LEVELS + 1))
    bins = np.clip(np.searchsorted(edges[1:-1], v, side="right"), 0, _LEVELS - 1)
    centres, sigmas = [], []
    for b in range(_LEVELS):
        in_bin = bins == b
        if in_bin.sum() < 16:
            continue
        centres.append(float(np.median(v[in_bin])))
        sigmas.append(float(np.median(d[in_bin])) / median_factor)
    scale = max(float(np.abs(v).max()) if v.size else 0.0, 1e-30)
    if not sigmas:
        return np.full(stack.shape, 1e-6 * scale, dtype=np.float32)
    # noise-free (synthetic) data: a tiny positive floor so that exact spikes still show
    sigmas = np.maximum(np.asarray(sigmas), 1e-6 * scale)
    centres = np.asarray(centres)
    order = np.argsort(centres)
    return np.interp(level, centres[order], sigmas[order]).astype(np.float32)


def _second_extremes(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Second-smallest and second-largest of the eight neighbours of every pixel (borders
    mirrored about the edge pixel, as ``scipy.ndimage.rank_filter(..., mode="mirror")``)."""
    stack = np.ascontiguousarray(stack, dtype=np.float32)
    second_low = np.empty_like(stack)
    second_high = np.empty_like(stack)
    _second_extremes_kernel(stack, second_low, second_high)
    return second_low, second_high


@njit(inline="always")
def _mirror(i, n):
    if n == 1:
        return 0
    if i < 0:
        return -i
    if i >= n:
        return 2 * (n - 1) - i
    return i


@njit(parallel=True, cache=True)
def _second_extremes_kernel(stack, second_low, second_high):
    """One pass over the 3×3 ring, keeping the two smallest and the two largest: about 25×
    faster than two generic rank filters, which sort every neighbourhood (60×120×160 on 2 cores:
    0.42 s against 0.016 s)."""
    k, rows, cols = stack.shape
    for kr in prange(k * rows):
        p, r = kr // rows, kr % rows
        for c in range(cols):
            low1 = low2 = np.float32(np.inf)
            high1 = high2 = np.float32(-np.inf)
            for dr in range(-1, 2):
                rr = _mirror(r + dr, rows)
                for dc in range(-1, 2):
                    if dr == 0 and dc == 0:
                        continue
                    v = stack[p, rr, _mirror(c + dc, cols)]
                    if v < low2:
                        if v < low1:
                            low2 = low1
                            low1 = v
                        else:
                            low2 = v
                    if v > high2:
                        if v > high1:
                            high2 = high1
                            high1 = v
                        else:
                            high2 = v
            second_low[p, r, c] = low2
            second_high[p, r, c] = high2


def spike_score(stack: np.ndarray, sigma: np.ndarray | None = None) -> np.ndarray:
    """How far each value sticks out of its eight neighbours, in noise standard deviations.

    ``stack`` (k, rows, columns) float32. Positive: above the second-largest neighbour or
    below the second-smallest by that many σ; zero or negative: within its neighbours' range.
    """
    second_low, second_high = _second_extremes(stack)
    if sigma is None:
        sigma = noise_sigma(stack, 0.5 * (second_low + second_high))
    return np.maximum(stack - second_high, second_low - stack) / sigma


def find_static_defects(projections: np.ndarray, threshold: float = 5.0) -> np.ndarray:
    """Detector pixels that spike in (almost) every projection.

    Parameters
    ----------
    projections : (k, rows, columns) a sample of projections spread over the scan (a few tens
        suffice), counts, transmission or line integrals. Not modified.
    threshold : in noise standard deviations (> 0).

    Returns
    -------
    (rows, columns) bool mask of defective pixels.
    """
    stack = _as_stack(projections, threshold).astype(np.float32)
    return np.median(spike_score(stack), axis=0) > threshold


def _neighbour_median(stack: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Median of the eight neighbours (mirrored at the border) of each masked pixel.

    Neighbours that are masked themselves (the other half of a pair) are left out.
    """
    k, r, c = np.nonzero(mask)
    rows, cols = stack.shape[1:]
    values = []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                rr = np.abs(r + dr)
                rr = np.where(rr > rows - 1, 2 * (rows - 1) - rr, rr) if rows > 1 else r
                cc = np.abs(c + dc)
                cc = np.where(cc > cols - 1, 2 * (cols - 1) - cc, cc) if cols > 1 else c
                values.append(np.where(mask[k, rr, cc], np.nan, stack[k, rr, cc]))
    values = np.stack(values)
    all_masked = np.isnan(values).all(axis=0)
    values[:, all_masked] = stack[k[all_masked], r[all_masked], c[all_masked]]
    return np.nanmedian(values, axis=0)


def remove_outliers(
    projections: np.ndarray,
    threshold: float = 5.0,
    *,
    static_defects: np.ndarray | None = None,
    temporal: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Replace zingers and static defects by the median of their eight neighbours.

    Parameters
    ----------
    projections : (n, rows, columns) consecutive projections (counts, transmission or line
        integrals), in acquisition order. Not modified.
    threshold : in noise standard deviations (> 0); 5 leaves clean data alone.
    static_defects : (rows, columns) bool mask from :func:`find_static_defects`, replaced in
        every projection; None to look for zingers only.
    temporal : also require a zinger to stand out from the 3×3 neighbourhood of the same pixel
        in both neighbouring projections (small features that move less than a pixel per
        projection are kept); with False, or a single projection, the spike test alone decides.

    Returns
    -------
    cleaned : (n, rows, columns) float32, a new array.
    replaced : (n, rows, columns) bool, where values were replaced.
    """
    stack = _as_stack(projections, threshold)
    cleaned = np.array(stack, dtype=np.float32, copy=True)
    second_low, second_high = _second_extremes(cleaned)
    margin = threshold * noise_sigma(cleaned, 0.5 * (second_low + second_high))
    high = cleaned - second_high > margin
    low = second_low - cleaned > margin
    del second_low, second_high
    n = cleaned.shape[0]
    if temporal and n > 1:
        previous = np.r_[1, np.arange(n - 1)]  # the first and last have one neighbour only
        following = np.r_[np.arange(1, n), n - 2]
        window_max = ndimage.maximum_filter(cleaned, size=(1, 3, 3), mode="nearest")
        high &= cleaned - np.maximum(window_max[previous], window_max[following]) > margin
        del window_max
        window_min = ndimage.minimum_filter(cleaned, size=(1, 3, 3), mode="nearest")
        low &= np.minimum(window_min[previous], window_min[following]) - cleaned > margin
        del window_min
    replaced = high | low
    if static_defects is not None:
        static_defects = np.asarray(static_defects, dtype=bool)
        if static_defects.shape != cleaned.shape[1:]:
            raise FathomInputError(
                f"static defect mask is {static_defects.shape} but projections are "
                f"{cleaned.shape[1:]} pixels: find the defects on the same detector"
            )
        replaced |= static_defects[None]
    if replaced.any():
        # all medians first, so that a replaced pixel never feeds another one's replacement
        cleaned[replaced] = _neighbour_median(cleaned, replaced)
    return cleaned, replaced
