"""Automatic centre of rotation: where the rotation axis lands on the detector.

The answer is an offset in pixels from the detector centre (column ``(columns − 1)/2``), positive
towards higher column indices, which :meth:`CenterOfRotation.rotation_axis_offset_mm` turns into
:attr:`ScanGeometry.rotation_axis_offset_mm` (DESIGN.md: where the axis lands along +u from the
central ray, in mm on the detector).

Two stages, both using that a parallel ray measured at angle θ is measured again, mirrored about
the axis, at θ + 180°:

1. *Coarse*: projections about 180° apart are registered with the mirrored partner (1-D
   cross-correlation of column gradients, all rows, sub-pixel peak). A 360° scan has exact
   pairs; a 180° scan usually has one pair at its two ends, often one angular step short of
   180°, which is why this is only the starting point.
2. *Fine*: Vo's Fourier metric (Vo, Drakopoulos, Atwood & Hamilton, Opt. Express 22, 19078,
   2014) on a few sinogram rows: the 180° sinogram stacked on its mirrored copy, shifted for a
   candidate axis, is a 360° sinogram whose 2-D spectrum must vanish outside the double wedge
   |k| ≤ 2π·R·|f| (k: angular harmonic, f: column frequency, R: radius of the field of view);
   the energy there is smallest at the true axis. Shifts are done in Fourier space (no
   interpolation bias towards whole pixels), the search goes from 1 px steps to 0.25 px steps
   and ends with a parabola through the three best points. Angles that are not evenly spaced
   over exactly 180° are resampled onto such a grid by linear interpolation in angle; a 360°
   scan contributes both of its halves.

For a cone beam the same mirror relation holds exactly for the ray through the axis and
approximately elsewhere (the mirrored projection is magnified about the axis column), so the
result is a good estimate on rows near the central plane but not exact; the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import FathomInputError
from ..geometry import ScanGeometry
from ..progress import CancelToken, ProgressCallback, checkpoint

__all__ = [
    "CenterOfRotation",
    "check_center_finding",
    "find_center_of_rotation",
    "offset_px_to_mm",
]


@dataclass(frozen=True)
class CenterOfRotation:
    """Where the rotation axis lands on the detector.

    Attributes
    ----------
    offset_px : offset of the axis from the detector centre, in column pixels; positive
        towards higher column indices.
    coarse_offset_px : the estimate from registering opposite projections (before refinement).
    rows : detector rows used for the refinement.
    method : how it was found, in words.
    """

    offset_px: float
    coarse_offset_px: float
    rows: tuple[int, ...]
    method: str

    def rotation_axis_offset_mm(self, geometry: ScanGeometry) -> float:
        """The value for ``geometry.rotation_axis_offset_mm`` (mm on the detector).

        See :func:`offset_px_to_mm`.
        """
        return offset_px_to_mm(self.offset_px, geometry)

    def column(self, columns: int) -> float:
        """The axis position as a (fractional) column index on a detector ``columns`` wide."""
        return (columns - 1) / 2 + self.offset_px

    def to_dict(self) -> dict:
        return {
            "offset_px": self.offset_px,
            "coarse_offset_px": self.coarse_offset_px,
            "rows": list(self.rows),
            "method": self.method,
        }


def offset_px_to_mm(offset_px: float, geometry: ScanGeometry) -> float:
    """Convert an axis offset from the detector centre (column pixels) to the geometry's value.

    ``rotation_axis_offset_mm`` is measured from the central ray, while column pixels are counted
    from the detector centre, which ``detector_offset_mm[1]`` moves along u; hence
    ``offset_px × column pitch + detector_offset_mm[1]``. For both beams this puts the axis
    (the world origin) at column ``(columns − 1)/2 + offset_px`` in ``geometry.vectors()``.
    """
    return float(offset_px) * geometry.pixel_size_mm[1] + geometry.detector_offset_mm[1]


# -- helpers --------------------------------------------------------------------------------------
def _fourier_shift(rows: np.ndarray, shift: float) -> np.ndarray:
    """Shift each row's content by ``shift`` columns (towards higher index), periodically."""
    n = rows.shape[-1]
    freq = np.fft.rfftfreq(n)
    spectrum = np.fft.rfft(rows, axis=-1) * np.exp(-2j * np.pi * freq * shift)
    return np.fft.irfft(spectrum, n=n, axis=-1)


def _angular_step(angles: np.ndarray) -> float:
    a = np.sort(angles)
    steps = np.diff(a)
    steps = steps[steps > 1e-9]
    return float(np.median(steps)) if steps.size else 0.0


def _pick_rows(stack: np.ndarray, n_rows: int) -> tuple[int, ...]:
    """Rows with the most structure: the strongest row in each of ``n_rows`` bands."""
    n, rows, _ = stack.shape
    sample = stack[np.linspace(0, n - 1, min(n, 16)).astype(int)]
    strength = np.asarray(sample, dtype=np.float64).std(axis=(0, 2))
    bands = np.array_split(np.arange(rows), min(n_rows, rows))
    picked = [int(b[np.argmax(strength[b])]) for b in bands if b.size]
    best = strength.max()
    kept = [r for r in picked if best > 0 and strength[r] >= 0.1 * best]
    return tuple(kept or picked[:1])


def _register_mirrored(a: np.ndarray, b: np.ndarray) -> float:
    """Offset (px) of the axis implied by projection ``a`` and its opposite ``b``.

    ``a``, ``b``: (rows, columns). The mirror of ``b`` equals ``a`` shifted by twice the axis
    offset; cross-correlating column gradients (all rows) finds that shift to 1/16 px.
    """
    cols = a.shape[-1]
    window = np.hanning(cols + 2)[1:-1]

    def prepare(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        x = np.gradient(x - x.mean(axis=-1, keepdims=True), axis=-1) * window
        return np.pad(x, ((0, 0), (0, cols)))

    fa = np.fft.rfft(prepare(a), axis=-1)
    fb = np.fft.rfft(prepare(b[:, ::-1]), axis=-1)
    cross = (np.conj(fa) * fb).sum(axis=0)
    upsample = 16
    size = 2 * cols * upsample
    corr = np.fft.irfft(cross, n=size)
    peak = int(np.argmax(corr))
    if peak > size // 2:
        peak -= size
    shift = peak / upsample  # mirrored b(x) ≈ a(x + shift) = a(x − 2·offset)
    return -shift / 2


def _opposite_pairs(angles: np.ndarray, max_pairs: int) -> tuple[list[tuple[int, int]], float]:
    """Index pairs about 180° apart (the nearest available) and their worst angular mismatch."""
    two_pi = 2 * np.pi
    a = np.mod(angles, two_pi)
    order = np.argsort(a)
    ring = np.concatenate([a[order] - two_pi, a[order], a[order] + two_pi])  # circular search
    ring_index = np.tile(order, 3)
    target = np.mod(a + np.pi, two_pi)
    right = np.clip(np.searchsorted(ring, target), 1, ring.size - 1)
    nearer_left = np.abs(ring[right - 1] - target) < np.abs(ring[right] - target)
    nearest = np.where(nearer_left, right - 1, right)
    partner = ring_index[nearest]
    mismatch = np.abs(ring[nearest] - target)
    valid = partner != np.arange(a.size)
    if not valid.any():
        return [], np.inf
    step = _angular_step(angles)
    tolerance = max(float(mismatch[valid].min()), 0.5 * step) + 1e-9
    good = np.flatnonzero(valid & (mismatch <= tolerance))
    # each unordered pair once, spread over the scan
    pairs = sorted({(int(min(i, partner[i])), int(max(i, partner[i]))) for i in good})
    if len(pairs) > max_pairs:
        pairs = [pairs[k] for k in np.linspace(0, len(pairs) - 1, max_pairs).astype(int)]
    return pairs, float(mismatch[good].max())


def _half_sinograms(sinogram: np.ndarray, angles: np.ndarray) -> list[np.ndarray]:
    """Resample a sinogram onto evenly spaced 180° windows: one for a 180° scan, two for 360°."""
    order = np.argsort(angles)
    a = np.unwrap(angles[order])
    s = sinogram[order]
    step = _angular_step(a)
    m = max(4, int(round(np.pi / step)))
    halves = []
    start = a[0]
    while start + np.pi - 1.5 * step <= a[-1] + 1e-9 and len(halves) < 2:
        grid = start + np.arange(m) * (np.pi / m)
        left = np.clip(np.searchsorted(a, grid, side="right") - 1, 0, a.size - 1)
        right = np.clip(left + 1, 0, a.size - 1)
        span = np.where(right > left, a[right] - a[left], 1.0)
        w = np.clip((grid - a[left]) / span, 0.0, 1.0)[:, None]
        halves.append((1 - w) * s[left] + w * s[right])
        start += np.pi
    return halves


class _FourierMetric:
    """Vo's double-wedge metric for one 180° sinogram, evaluated for candidate offsets."""

    def __init__(self, half: np.ndarray) -> None:
        m, cols = half.shape
        pad = cols // 2 + 8  # room for the shifts and a smooth wrap-around
        base = np.asarray(half, dtype=np.float64)
        base = base - np.median(base[:, [0, -1]])
        taper = np.hanning(2 * pad + 2)[1:-1]
        left, right = taper[:pad], taper[pad:]
        padded = np.concatenate(
            [base[:, :1] * left, base, base[:, -1:] * right], axis=1
        )
        self.top = padded
        self.flipped = padded[:, ::-1]
        rows, width = 2 * m, padded.shape[1]
        k = np.abs(np.fft.fftfreq(rows) * rows)[:, None]
        f = np.fft.rfftfreq(width)[None, :]
        radius = cols / 2
        mask = k > 2 * np.pi * radius * f
        mask &= k >= 2
        mask[:, 0] = False
        self.mask = mask
        self.scale = 1.0  # set by the caller so that every row and half weighs the same

    def __call__(self, offset_px: float) -> float:
        # The flipped sinogram mirrors about the padded centre; mirroring about the candidate
        # axis instead moves it by twice the offset.
        shifted = _fourier_shift(self.flipped, 2 * offset_px)
        spectrum = np.abs(np.fft.rfft2(np.vstack([self.top, shifted])))
        return float(spectrum[self.mask].mean())


def check_center_finding(angles_rad: np.ndarray, columns: int) -> None:
    """Raise :class:`FathomInputError` if the axis of such a scan cannot be found automatically.

    It needs projections over at least 180° (up to half an angular step) and a detector at
    least 8 columns wide.
    """
    angles = np.asarray(angles_rad, dtype=np.float64).reshape(-1)
    if columns < 8:
        raise FathomInputError(
            f"the detector is only {columns} columns wide: the centre of rotation cannot be "
            "found automatically; give it in pixels"
        )
    step = _angular_step(angles)
    coverage = float(np.ptp(np.unwrap(np.sort(angles)))) + step if angles.size else 0.0
    if step <= 0 or coverage < np.pi - 0.5 * step:
        raise FathomInputError(
            f"the projections cover {np.degrees(coverage):.1f}°, but finding the centre of "
            "rotation automatically needs at least 180°: give the centre of rotation in pixels"
        )


def find_center_of_rotation(
    projections: np.ndarray,
    angles_rad: np.ndarray,
    *,
    rows: tuple[int, ...] | None = None,
    search_radius_px: float | None = None,
    beam: str = "parallel",
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> CenterOfRotation:
    """Find the rotation axis of a parallel-beam scan of at least 180°.

    Parameters
    ----------
    projections : (n_angles, rows, columns) line integrals (after −log), or a single
        (n_angles, columns) sinogram. Not modified.
    angles_rad : (n_angles,) projection angles in radians, in any order; they must cover at
        least 180° (up to half an angular step).
    rows : detector rows to refine on; by default up to 8 rows with the most structure, one per
        band of rows.
    search_radius_px : how far (column pixels) from the coarse estimate the refinement looks;
        by default 4 px plus what the angular mismatch of the opposite pair can explain.
    beam : "parallel" or "cone"; for "cone" the result is marked as an approximation.
    progress, cancel : see :mod:`engine.progress`; cancel is honoured between candidates.

    Returns
    -------
    CenterOfRotation
        ``offset_px`` from the detector centre, positive towards higher column indices.

    Raises
    ------
    FathomInputError
        When the angles cover less than 180° or do not match the projections.
    """
    stack = projections if projections.ndim == 3 else projections[:, None, :]
    if stack.ndim != 3:
        raise FathomInputError(
            f"projections have {projections.ndim} dimensions: give (angles, rows, columns) "
            "or a (angles, columns) sinogram"
        )
    angles = np.asarray(angles_rad, dtype=np.float64).reshape(-1)
    n, n_rows, cols = stack.shape
    if angles.size != n:
        raise FathomInputError(
            f"{n} projections but {angles.size} angles: give one angle per projection"
        )
    check_center_finding(angles, cols)
    checkpoint(cancel, progress, 0.0, "centre of rotation: opposite projections")

    # 1. coarse: register opposite projections
    pairs, mismatch = _opposite_pairs(angles, max_pairs=16)
    estimates = []
    for count, (i, j) in enumerate(pairs):
        checkpoint(cancel, progress, 0.2 * count / max(len(pairs), 1),
                   "centre of rotation: opposite projections")
        estimates.append(_register_mirrored(stack[i], stack[j]))
    coarse = float(np.median(estimates)) if estimates else 0.0

    # 2. fine: Vo's Fourier metric on a few rows
    if rows is None:
        rows = _pick_rows(stack, 8)
    rows = tuple(int(r) for r in rows)
    if not rows or min(rows) < 0 or max(rows) >= n_rows:
        raise FathomInputError(f"rows {rows} are outside the detector's {n_rows} rows")
    metrics = []
    for r in rows:
        sino = np.asarray(stack[:, r, :], dtype=np.float64)
        metrics.extend(_FourierMetric(h) for h in _half_sinograms(sino, angles))

    if search_radius_px is None:
        search_radius_px = 4.0 + (0.0 if not np.isfinite(mismatch) else mismatch * cols / 2)
    radius = float(min(search_radius_px, cols / 4))
    evaluations = 0
    planned = 2 * int(np.ceil(radius)) + 1 + 7

    def total(offsets: np.ndarray) -> np.ndarray:
        nonlocal evaluations
        values = []
        for o in offsets:
            checkpoint(cancel, progress, 0.2 + 0.8 * evaluations / planned,
                       "centre of rotation: refining")
            evaluations += 1
            values.append(sum(metric(o) / metric.scale for metric in metrics))
        return np.asarray(values)

    for metric in metrics:  # weigh every row and half equally
        metric.scale = max(metric(coarse), 1e-30)

    grid = coarse + np.arange(-np.ceil(radius), np.ceil(radius) + 1)
    values = total(grid)
    best = float(grid[int(np.argmin(values))])
    fine = best + np.arange(-3, 4) * 0.25
    values = total(fine)
    i = int(np.argmin(values))
    offset = float(fine[i])  # refined below by a parabola through the best three
    if 0 < i < fine.size - 1:
        y0, y1, y2 = values[i - 1], values[i], values[i + 1]
        curvature = y0 - 2 * y1 + y2
        if curvature > 0:
            offset += 0.25 * 0.5 * (y0 - y2) / curvature
    checkpoint(cancel, progress, 1.0, "centre of rotation found")
    method = (
        "opposite-projection registration, refined by Vo's Fourier metric on "
        f"{len(rows)} row(s)"
    )
    if beam == "cone":
        method += " (parallel-beam approximation for a cone beam)"
    return CenterOfRotation(
        offset_px=float(offset), coarse_offset_px=coarse, rows=rows, method=method
    )
