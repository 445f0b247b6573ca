"""Flat/dark normalization and −log: from detector counts to line integrals.

Transmission is ``(projection − dark) / (flat − dark)``. Several flats (and darks) taken at one
time are combined per pixel by the *median* by default: a flat stack often holds a few frames
hit by zingers (cosmic rays, scattered photons), and the median ignores them where the mean
would smear each one into every projection as a ring; with many clean frames the ``"mean"`` is
a little less noisy (about 1/1.25 of the median's noise). With one or two frames both are the
same. Flats taken before and after a scan (``Scan.flat_positions``: the projection index at
which each flat was taken) are combined per position and interpolated linearly in projection
index, which follows a slow drift of the beam.

Pixels whose flat is not brighter than the dark (dead pixels) carry no information; as long as
they are a small fraction of the detector they are filled from the nearest good pixel and
counted, beyond that the input is rejected because flats and darks are most likely swapped or
the flats were taken without beam.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..errors import FathomInputError

__all__ = [
    "FlatField",
    "average_frames",
    "check_finite",
    "flat_dark_normalize",
    "minus_log",
    "prepare_flat_field",
]

DEFAULT_TRANSMISSION_FLOOR = 1e-4


def check_finite(array: np.ndarray, name: str, first_index: int = 0) -> None:
    """Raise :class:`FathomInputError` if ``array`` (a stack) holds NaN or infinite values."""
    if not np.issubdtype(array.dtype, np.floating):
        return
    finite = np.isfinite(array)
    if finite.all():
        return
    bad = np.argwhere(~finite)[0]
    where = f" (first in {name[:-1] if name.endswith('s') else name} {first_index + int(bad[0])})"
    raise FathomInputError(
        f"the {name} contain {int((~finite).sum())} NaN or infinite values{where}: "
        f"repair or leave out the bad {name} before preprocessing"
    )


def average_frames(frames: np.ndarray, method: str = "median") -> np.ndarray:
    """Combine a stack of flat or dark frames pixel by pixel.

    Parameters
    ----------
    frames : (k, rows, columns) frames (counts), or one (rows, columns) frame.
    method : "median" (robust to zingers in single frames) or "mean" (less noise).

    Returns
    -------
    (rows, columns) float32 array.
    """
    frames = np.asarray(frames)
    if frames.ndim == 2:
        return frames.astype(np.float32)
    if method == "median":
        return np.median(frames, axis=0).astype(np.float32)
    if method == "mean":
        return frames.mean(axis=0, dtype=np.float64).astype(np.float32)
    raise FathomInputError(f"flat averaging {method!r} is unknown: use 'median' or 'mean'")


@dataclass(frozen=True, eq=False)
class FlatField:
    """Flats and darks, averaged and checked once, ready to normalize projections chunk by chunk.

    Attributes
    ----------
    dark : (rows, columns) float32, averaged dark (zeros when the scan has no darks).
    open_beam : (g, rows, columns) float32, averaged ``flat − dark`` per acquisition time.
    positions : (g,) projection indices at which each ``open_beam`` was taken, or None (g == 1).
    dead_pixels : (rows, columns) bool, pixels where flat ≤ dark in any flat group.
    fill_from : index arrays (rows, columns) of the nearest good pixel, or None.
    """

    dark: np.ndarray
    open_beam: np.ndarray
    positions: np.ndarray | None
    dead_pixels: np.ndarray
    fill_from: tuple[np.ndarray, np.ndarray] | None

    @property
    def n_dead_pixels(self) -> int:
        return int(self.dead_pixels.sum())

    def open_beam_for(self, indices: np.ndarray) -> np.ndarray:
        """``flat − dark`` for each projection index: (len(indices), rows, columns) float32."""
        indices = np.asarray(indices, dtype=np.float64)
        if self.positions is None or self.open_beam.shape[0] == 1:
            return np.broadcast_to(self.open_beam[0], (indices.size, *self.open_beam.shape[1:]))
        pos = self.positions
        right = np.clip(np.searchsorted(pos, indices, side="right"), 1, pos.size - 1)
        left = right - 1
        weight = np.clip((indices - pos[left]) / (pos[right] - pos[left]), 0.0, 1.0)
        weight = weight.astype(np.float32)[:, None, None]
        return (1 - weight) * self.open_beam[left] + weight * self.open_beam[right]

    def normalize(self, projections: np.ndarray, indices: np.ndarray | None = None) -> np.ndarray:
        """Transmission of ``projections`` (k, rows, columns), taken at projection ``indices``.

        Returns a new float32 array; dead pixels are filled from their nearest good neighbour.
        """
        if indices is None:
            indices = np.arange(projections.shape[0])
        out = np.array(projections, dtype=np.float32, copy=True)
        out -= self.dark
        open_beam = self.open_beam_for(indices)
        np.divide(out, open_beam, out=out, where=open_beam > 0)
        if self.fill_from is not None:
            rows, cols = self.fill_from
            out[:, self.dead_pixels] = out[:, rows[self.dead_pixels], cols[self.dead_pixels]]
        return out


def prepare_flat_field(
    flats: np.ndarray | None,
    darks: np.ndarray | None = None,
    *,
    flat_positions: np.ndarray | None = None,
    average: str = "median",
    max_bad_flat_fraction: float = 0.01,
) -> FlatField:
    """Average and check flats and darks.

    Parameters
    ----------
    flats : (k, rows, columns) open-beam frames (counts). Required.
    darks : (j, rows, columns) frames without beam, or None (dark taken as 0).
    flat_positions : (k,) projection index at which each flat was taken, or None when all
        flats belong to one time. Flats sharing a position are averaged together.
    average : "median" or "mean", how frames of one time are combined (see module doc).
    max_bad_flat_fraction : largest fraction (0..1) of pixels allowed to have flat ≤ dark;
        those pixels are filled from neighbours, more than this is an error.

    Raises
    ------
    FathomInputError
        No flats; NaN or infinite values; flat ≤ dark on more than ``max_bad_flat_fraction``.
    """
    if flats is None or np.asarray(flats).size == 0:
        raise FathomInputError(
            "the scan holds raw counts but no flat fields: give flats (and darks), or declare "
            "the values 'line_integrals' if the projections are already −log normalized"
        )
    flats = np.asarray(flats)
    if flats.ndim == 2:
        flats = flats[None]
    check_finite(flats, "flats")
    if darks is not None and np.asarray(darks).size:
        darks = np.asarray(darks)
        check_finite(darks, "darks")
        if darks.shape[-2:] != flats.shape[-2:]:
            raise FathomInputError(
                f"darks are {darks.shape[-2:]} pixels but flats are {flats.shape[-2:]}: "
                "use darks taken with the same detector settings"
            )
        dark = average_frames(darks, average)
    else:
        dark = np.zeros(flats.shape[-2:], dtype=np.float32)

    if flat_positions is None:
        positions = None
        groups = [np.arange(flats.shape[0])]
    else:
        flat_positions = np.asarray(flat_positions, dtype=np.float64).reshape(-1)
        if flat_positions.size != flats.shape[0] or not np.all(np.isfinite(flat_positions)):
            raise FathomInputError(
                "flat_positions must give one finite projection index per flat"
            )
        positions = np.unique(flat_positions)
        groups = [np.flatnonzero(flat_positions == p) for p in positions]
    open_beam = np.stack([average_frames(flats[g], average) - dark for g in groups])
    if positions is not None and positions.size == 1:
        positions = None

    dead = np.any(open_beam <= 0, axis=0)
    fraction = float(dead.mean())
    if fraction > max_bad_flat_fraction:
        raise FathomInputError(
            f"the flat field is not brighter than the dark field at {fraction:.1%} of the pixels "
            f"(at most {max_bad_flat_fraction:.1%} allowed): check that flats and darks are not "
            "swapped and that the flats were taken with the beam on"
        )
    fill_from = None
    if dead.any():
        _, nearest = ndimage.distance_transform_edt(dead, return_indices=True)
        fill_from = (nearest[0], nearest[1])
        open_beam[:, dead] = 1.0  # never divided by; keeps the division warning-free
    return FlatField(dark, open_beam.astype(np.float32), positions, dead, fill_from)


def flat_dark_normalize(
    projections: np.ndarray,
    flats: np.ndarray | None,
    darks: np.ndarray | None = None,
    *,
    flat_positions: np.ndarray | None = None,
    average: str = "median",
    max_bad_flat_fraction: float = 0.01,
) -> np.ndarray:
    """Transmission ``(projection − dark) / (flat − dark)`` of a stack of projections.

    Parameters
    ----------
    projections : (n, rows, columns) raw counts, any real dtype. Not modified.
    flats, darks, flat_positions, average, max_bad_flat_fraction : see
        :func:`prepare_flat_field`.

    Returns
    -------
    (n, rows, columns) float32 transmission (1 = open beam; may be ≤ 0 or > 1 through noise).

    Raises
    ------
    FathomInputError
        Missing flats, flat ≤ dark over too many pixels, NaN or infinite values.
    """
    field = prepare_flat_field(
        flats, darks, flat_positions=flat_positions, average=average,
        max_bad_flat_fraction=max_bad_flat_fraction,
    )
    check_finite(np.asarray(projections), "projections")
    return field.normalize(projections)


def minus_log(
    transmission: np.ndarray,
    floor: float = DEFAULT_TRANSMISSION_FLOOR,
    *,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Line integrals ``−ln(max(transmission, floor))``.

    Noise and dead regions give transmissions at or below zero, whose logarithm is undefined;
    they are clamped to ``floor``, which caps a line integral at ``−ln(floor)`` (9.2 for the
    default 1e-4: below 0.01 % transmission a 16-bit detector has no signal left to measure).
    Values above 1 (noise in air) are kept, so air stays unbiased around 0.

    Parameters
    ----------
    transmission : array of any shape (dimensionless).
    floor : smallest transmission kept, > 0.
    out : optional float32 array of the same shape to write into (may be ``transmission``
        itself when that is a float32 array the caller owns).

    Returns
    -------
    (line integrals as float32, number of clamped values)
    """
    if not floor > 0:
        raise FathomInputError(f"transmission floor {floor} must be greater than 0")
    clamped = int(np.count_nonzero(~(transmission >= floor)))  # NaN counts as clamped too
    if out is None:
        out = np.empty(np.shape(transmission), dtype=np.float32)
    np.fmax(transmission, floor, out=out)  # fmax also replaces NaN by the floor
    np.log(out, out=out)
    np.negative(out, out=out)
    return out, clamped
