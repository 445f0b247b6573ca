"""Image-quality metrics of a reconstruction: SNR, CNR, edge width, PSNR/SSIM, defect visibility.

The definitions follow the ZEISS technology note on deep-learning reconstruction (DESIGN.md,
"Quality metrics"), so that numbers compare with its Table 1:

* SNR between two regions: ``|m₁ − m₂| / ((s₁ + s₂) / 2)``, means and standard deviations of
  the voxel values of each region.
* CNR of a region against its background: ``|m_region − m_background| / s_background``.
* Edge width: a logistic ``low + (high − low) / (1 + exp(−(x − center) / s))`` fitted to a grey
  value profile across one edge; the width reported is the 10–90 % transition width
  ``2 · ln 9 · |s|``, in the units of the profile's positions (voxels by default).
* PSNR and SSIM against a known truth (scikit-image's definitions; data range = the truth's).

Plain functions on arrays (NumPy or anything ``np.asarray`` takes), no state. Bad input (empty
or non-finite regions, a profile without an edge, mismatched shapes) raises
:class:`~engine.errors.FathomInputError` with a sentence that says what to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .errors import FathomInputError
from .geometry import VolumeGeometry

LN9 = float(np.log(9.0))


def _finite_values(values, name: str, minimum: int = 2) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size < minimum:
        raise FathomInputError(
            f"the {name} holds {array.size} value(s); at least {minimum} are needed: use a larger region"
        )
    if not np.all(np.isfinite(array)):
        raise FathomInputError(f"the {name} contains NaN or infinite values: choose a region without them")
    return array


def _ratio(contrast: float, noise: float) -> float:
    if noise > 0:
        return contrast / noise
    return float("inf") if contrast > 0 else float("nan")


def snr(region_a, region_b) -> float:
    """Signal-to-noise ratio between two regions (ZEISS definition).

    Parameters
    ----------
    region_a, region_b : arrays of any shape: the voxel values of each region (e.g. attenuation
        in 1/mm; the ratio has no unit).

    Returns
    -------
    float
        ``|mean_a − mean_b| / ((std_a + std_b) / 2)`` with sample standard deviations (ddof=1);
        ``inf`` if both regions are noiseless but differ, ``nan`` if they are noiseless and equal.
    """
    a = _finite_values(region_a, "first region")
    b = _finite_values(region_b, "second region")
    return _ratio(abs(a.mean() - b.mean()), (a.std(ddof=1) + b.std(ddof=1)) / 2)


def cnr(region, background) -> float:
    """Contrast-to-noise ratio of a region against its background.

    Parameters
    ----------
    region : array of any shape, the values of the feature (e.g. a defect).
    background : array of any shape, the values around it; its spread is the noise.

    Returns
    -------
    float
        ``|mean(region) − mean(background)| / std(background)`` (sample std, ddof=1). Only the
        background's spread counts, so a small feature (a few voxels) gives a stable CNR as
        long as the background region is large. ``inf``/``nan`` as in :func:`snr`.
    """
    r = _finite_values(region, "region", minimum=1)
    b = _finite_values(background, "background region")
    return _ratio(abs(r.mean() - b.mean()), b.std(ddof=1))


@dataclass(frozen=True)
class EdgeFit:
    """A logistic fitted to a profile across one edge.

    ``curve(x) = low + (high − low) / (1 + exp(−(x − center) / scale))``.

    Attributes
    ----------
    center : position of the edge (50 % point), in the units of the profile's positions.
    width : 10–90 % transition width, ``2 · ln 9 · |scale|``, same units (voxels by default).
    scale : the logistic's ``s``; positive for a rising profile, negative for a falling one.
    low, high : the grey levels on either side (``low < high``), in the profile's value units.
    rms : root-mean-square residual of the fit, in the profile's value units.
    """

    center: float
    width: float
    scale: float
    low: float
    high: float
    rms: float

    def curve(self, x) -> np.ndarray:
        """The fitted logistic at positions ``x``."""
        return _logistic(np.asarray(x, dtype=np.float64), self.center, self.scale, self.low, self.high)


def _logistic(x, center, scale, low, high):
    # written with tanh: no overflow of exp for steep edges far from the centre
    return low + (high - low) * 0.5 * (1.0 + np.tanh((x - center) / (2.0 * scale)))


def fit_edge(values, positions=None) -> EdgeFit:
    """Fit a logistic to a grey-value profile across one edge (rising or falling).

    Parameters
    ----------
    values : 1D array, the profile (at least 5 finite samples), e.g. from :func:`line_profile`
        or :func:`box_profile`.
    positions : 1D array of the same length, increasing (e.g. distances in voxels or mm);
        default: the sample indices 0, 1, 2, …, so the width comes out in samples (voxels).

    Returns
    -------
    EdgeFit
        Its ``width`` is the 10–90 % transition width in the units of ``positions``.

    Raises
    ------
    FathomInputError
        If the profile is too short, not finite, or has no edge: no step between its two ends
        that stands out of its noise, or a fitted edge that lies outside the profile.
    """
    from scipy.optimize import least_squares

    y = np.asarray(values, dtype=np.float64).ravel()
    if y.size < 5:
        raise FathomInputError(
            f"an edge profile needs at least 5 samples, got {y.size}: draw a longer line across the edge"
        )
    if not np.all(np.isfinite(y)):
        raise FathomInputError("the edge profile contains NaN or infinite values: move it inside the volume")
    if positions is None:
        x = np.arange(y.size, dtype=np.float64)
    else:
        x = np.asarray(positions, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise FathomInputError(f"{x.size} positions were given for {y.size} profile values: give one each")
    if not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0):
        raise FathomInputError("edge profile positions must be finite and increasing")

    # Initial guess: the two plateaus from the profile's ends, the edge where a lightly smoothed
    # profile changes most, its width from the spacing of the samples.
    quarter = max(2, y.size // 4)
    left, right = np.median(y[:quarter]), np.median(y[-quarter:])
    step = right - left
    noise = 1.4826 * np.median(np.abs(np.diff(y) - np.median(np.diff(y)))) / np.sqrt(2)
    if not abs(step) > 5 * noise / np.sqrt(quarter):
        raise FathomInputError(
            "the profile shows no edge: its two ends have the same level within the noise; draw "
            "the line across a boundary between two materials, or average more lines"
        )
    smooth = np.convolve(y, np.ones(3) / 3, mode="same")
    smooth[0], smooth[-1] = y[0], y[-1]
    gradient = np.gradient(smooth, x) * np.sign(step)
    center0 = float(x[int(np.argmax(gradient[1:-1])) + 1])
    spacing = float(np.median(np.diff(x)))
    span = float(x[-1] - x[0])
    sign = 1.0 if step > 0 else -1.0
    low0, high0 = min(left, right), max(left, right)

    def residual(p):
        center, log_scale, low, high = p
        return _logistic(x, center, sign * np.exp(log_scale), low, high) - y

    start = np.array([center0, np.log(spacing), low0, high0])
    lower = [x[0] - 0.5 * span, np.log(spacing * 1e-3), -np.inf, -np.inf]
    upper = [x[-1] + 0.5 * span, np.log(span * 10), np.inf, np.inf]
    best = None
    # a second start from a wide edge guards against a local minimum on very smooth profiles
    for guess in (start, np.array([center0, np.log(max(span / 8, spacing)), low0, high0])):
        result = least_squares(residual, guess, bounds=(lower, upper), x_scale="jac")
        if best is None or result.cost < best.cost:
            best = result
    center, log_scale, low, high = best.x
    if not (x[0] <= center <= x[-1]) or not high > low:
        raise FathomInputError(
            "no edge could be fitted inside the profile: centre the line on the boundary and make "
            "it long enough to show both materials"
        )
    scale = sign * float(np.exp(log_scale))
    rms = float(np.sqrt(np.mean(best.fun**2)))
    return EdgeFit(float(center), 2 * LN9 * abs(scale), scale, float(low), float(high), rms)


def line_profile(image, start, end, samples: int | None = None, *, band: int = 0):
    """Grey values sampled along a straight segment of an image, with linear interpolation.

    Parameters
    ----------
    image : 2D array ``[row, column]`` (bilinear) or 3D volume ``[z, y, x]`` (trilinear).
    start, end : the segment's ends in pixel (voxel) index coordinates, ``(row, column)`` or
        ``(z, y, x)``; fractional values are allowed. Both must lie inside the image.
    samples : number of samples from start to end inclusive; default: one per pixel of
        length, plus one (at least 2).
    band : average this many parallel lines on each side (one pixel apart, perpendicular to
        the segment; in 3D on a square of (2·band + 1)² lines): a low-noise profile of a
        straight edge. Lines leaving the image are clamped to its border.

    Returns
    -------
    distances : (samples,) distance of each sample from ``start``, in pixels.
    values : (samples,) float64 interpolated values.
    """
    from scipy.ndimage import map_coordinates

    array = np.asarray(image)
    if array.ndim not in (2, 3):
        raise FathomInputError(f"a line profile needs a 2D image or 3D volume, got {array.ndim} dimensions")
    p0 = np.asarray(start, dtype=np.float64).ravel()
    p1 = np.asarray(end, dtype=np.float64).ravel()
    if p0.size != array.ndim or p1.size != array.ndim:
        raise FathomInputError(
            f"line ends need {array.ndim} coordinates each "
            f"({'row, column' if array.ndim == 2 else 'z, y, x'})"
        )
    limits = np.asarray(array.shape) - 1
    for name, point in (("start", p0), ("end", p1)):
        if not np.all(np.isfinite(point)) or np.any(point < -1e-9) or np.any(point > limits + 1e-9):
            raise FathomInputError(
                f"line {name} {tuple(point)} lies outside the image of shape {array.shape}: "
                "give coordinates from 0 to size − 1"
            )
    length = float(np.linalg.norm(p1 - p0))
    if length == 0:
        raise FathomInputError("the line's start and end are the same point: give two different points")
    n = max(2, int(np.ceil(length)) + 1) if samples is None else int(samples)
    if n < 2:
        raise FathomInputError("a line profile needs at least 2 samples")
    t = np.linspace(0.0, 1.0, n)
    points = p0[:, None] + (p1 - p0)[:, None] * t[None, :]
    offsets = [np.zeros(array.ndim)]
    if band > 0:
        direction = (p1 - p0) / length
        normals = _perpendiculars(direction)
        steps = np.arange(-band, band + 1)
        if array.ndim == 2:
            offsets = [k * normals[0] for k in steps]
        else:
            offsets = [a * normals[0] + b * normals[1] for a in steps for b in steps]
    data = np.asarray(array, dtype=np.float64)
    values = np.zeros(n)
    for offset in offsets:
        coords = np.clip(points + offset[:, None], 0, limits[:, None])
        values += map_coordinates(data, coords, order=1, mode="nearest")
    return t * length, values / len(offsets)


def _perpendiculars(direction: np.ndarray) -> list[np.ndarray]:
    """Unit vectors perpendicular to ``direction`` (one in 2D, two in 3D)."""
    if direction.size == 2:
        return [np.array([-direction[1], direction[0]])]
    helper = np.eye(3)[int(np.argmin(np.abs(direction)))]
    first = np.cross(direction, helper)
    first /= np.linalg.norm(first)
    return [first, np.cross(direction, first)]


def box_values(volume, box) -> np.ndarray:
    """The values of a block ``(z0, y0, x0, nz, ny, nx)`` of a volume (voxel indices), as a view.

    Raises
    ------
    FathomInputError
        If the block is empty or reaches outside the volume.
    """
    array = np.asarray(volume)
    box = tuple(int(b) for b in box)
    if array.ndim != 3 or len(box) != 6:
        raise FathomInputError("a box is Z0 Y0 X0 NZ NY NX voxels of a 3D volume")
    for start, size, full in zip(box[:3], box[3:], array.shape, strict=True):
        if start < 0 or size < 1 or start + size > full:
            raise FathomInputError(
                f"the box {box} (Z0 Y0 X0 NZ NY NX) does not fit in the volume {array.shape}: "
                "keep each start ≥ 0 and start + size ≤ the volume's size"
            )
    z0, y0, x0, nz, ny, nx = box
    return array[z0:z0 + nz, y0:y0 + ny, x0:x0 + nx]


def box_profile(volume, box, axis: int):
    """A low-noise edge profile: a block's mean over its two axes other than ``axis``.

    Parameters
    ----------
    volume : 3D array ``[z, y, x]``.
    box : ``(z0, y0, x0, nz, ny, nx)`` in voxels, straddling a flat edge perpendicular to ``axis``.
    axis : 0, 1 or 2 (z, y, x): the direction across the edge.

    Returns
    -------
    positions : voxel indices along ``axis``; values : the mean of each slice of the block.
    """
    if axis not in (0, 1, 2):
        raise FathomInputError(f"axis {axis} must be 0 (z), 1 (y) or 2 (x)")
    block = np.asarray(box_values(volume, box), dtype=np.float64)
    other = tuple(a for a in range(3) if a != axis)
    start = int(box[axis])
    return np.arange(start, start + block.shape[axis], dtype=np.float64), block.mean(axis=other)


def _matched(image, truth) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(image, dtype=np.float64)
    b = np.asarray(truth, dtype=np.float64)
    if a.shape != b.shape:
        raise FathomInputError(
            f"the image {a.shape} and the truth {b.shape} differ in shape: compare on the same grid"
        )
    if a.ndim not in (2, 3):
        raise FathomInputError(f"PSNR and SSIM compare 2D images or 3D volumes, got {a.ndim} dimensions")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise FathomInputError("the image or the truth contains NaN or infinite values")
    return a, b


def _data_range(truth: np.ndarray, data_range: float | None) -> float:
    value = float(np.ptp(truth)) if data_range is None else float(data_range)
    if not value > 0:
        raise FathomInputError("the truth is constant: give data_range (the span of meaningful values)")
    return value


def psnr(image, truth, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio of ``image`` against ``truth``, in dB.

    Parameters
    ----------
    image, truth : 2D or 3D arrays of the same shape (e.g. attenuation in 1/mm).
    data_range : the peak value span; default: ``truth.max() − truth.min()``.

    Returns
    -------
    float
        ``10 · log10(data_range² / MSE)`` (``inf`` for identical arrays).
    """
    from skimage.metrics import peak_signal_noise_ratio

    a, b = _matched(image, truth)
    value_range = _data_range(b, data_range)
    if np.array_equal(a, b):
        return float("inf")
    return float(peak_signal_noise_ratio(b, a, data_range=value_range))


def ssim(image, truth, data_range: float | None = None) -> float:
    """Mean structural similarity of ``image`` to ``truth`` (scikit-image, 7-voxel window).

    Parameters
    ----------
    image, truth : 2D or 3D arrays of the same shape; axes of length 1 are dropped (a one-slice
        volume is compared as an image). Every remaining axis needs at least 7 samples.
    data_range : the value span; default: ``truth.max() − truth.min()``.

    Returns
    -------
    float in [−1, 1]; 1 for identical arrays.
    """
    from skimage.metrics import structural_similarity

    a, b = _matched(image, truth)
    value_range = _data_range(b, data_range)
    a, b = np.squeeze(a), np.squeeze(b)
    if a.ndim < 2 or min(a.shape) < 7:
        raise FathomInputError(f"SSIM needs at least 7 samples along each axis, got {a.shape}")
    return float(structural_similarity(b, a, data_range=value_range))


def defect_cnr(volume_data, mask, surround_mask) -> float:
    """Contrast-to-noise of a defect: :func:`cnr` of the voxels in ``mask`` against ``surround_mask``.

    Parameters
    ----------
    volume_data : 3D array (z, y, x), e.g. attenuation in 1/mm.
    mask, surround_mask : boolean arrays of the same shape (see :func:`defect_regions`).
    """
    data = np.asarray(volume_data)
    mask = np.asarray(mask, dtype=bool)
    surround_mask = np.asarray(surround_mask, dtype=bool)
    if mask.shape != data.shape or surround_mask.shape != data.shape:
        raise FathomInputError(
            f"masks {mask.shape}, {surround_mask.shape} must have the volume's shape {data.shape}"
        )
    if not mask.any() or not surround_mask.any():
        raise FathomInputError("a defect mask or its surround is empty: check the defect's position")
    return cnr(data[mask], data[surround_mask])


def _ellipsoid_mask(geometry: VolumeGeometry, center_xyz, semi_axes_xyz) -> np.ndarray:
    """Voxels whose centres lie inside an axis-aligned ellipsoid (world mm, (x, y, z))."""
    cx, cy, cz = (float(c) for c in center_xyz)
    ax, ay, az = (float(a) for a in semi_axes_xyz)
    z = (geometry.axis_mm(0) - cz) / az
    y = (geometry.axis_mm(1) - cy) / ay
    x = (geometry.axis_mm(2) - cx) / ax
    return (z[:, None, None] ** 2 + y[None, :, None] ** 2 + x[None, None, :] ** 2) <= 1.0 + 1e-9


def _nearest_voxel(geometry: VolumeGeometry, center_xyz) -> tuple[int, int, int] | None:
    index = []
    for axis, c in zip((0, 1, 2), (center_xyz[2], center_xyz[1], center_xyz[0]), strict=True):
        k = int(round((float(c) - geometry.origin_mm[axis]) / geometry.voxel_size_mm[axis]))
        if not 0 <= k < geometry.shape[axis]:
            return None
        index.append(k)
    return tuple(index)


def defect_regions(
    defect: Mapping,
    geometry: VolumeGeometry,
    truth=None,
    *,
    gap_voxels: float = 1.0,
    shell_voxels: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The voxels of a defect and of its surround, from a ``truth.json`` defect entry.

    Parameters
    ----------
    defect : a defect entry: ``center_mm`` (x, y, z) and ``size_mm`` (its diameter) at least;
        optionally ``extent_mm`` (x, y, z semi-axes of the ellipsoid it fills), ``host_mu``
        (attenuation in 1/mm of the material around it) or ``reference_mm`` (x, y, z centre of
        the same region where the part is intact, for a defect that is an absence).
    geometry : the volume's grid.
    truth : optional truth volume (1/mm) on the same grid; with ``host_mu`` it keeps the
        surround inside the host material, one voxel away from any other material.
    gap_voxels, shell_voxels : the surround is the shell from ``gap_voxels`` to
        ``gap_voxels + shell_voxels`` beyond the defect's extent (voxels of the grid).

    Returns
    -------
    mask : the defect's core: voxel centres inside its extent shrunk by half a voxel (so the
        partial-volume rim is left out; at least the voxel nearest its centre).
    surround : the shell around it (in the host material, given ``truth`` and ``host_mu``), or,
        with ``reference_mm``, the same core at the reference position.

    Raises
    ------
    FathomInputError
        If the entry lacks a centre or size, or the defect or its surround falls outside the
        volume or comes out empty.
    """
    try:
        center = [float(c) for c in defect["center_mm"]]
        size = float(defect.get("size_mm", 0.0))
        extent = [float(e) for e in defect.get("extent_mm", [size / 2] * 3)]
    except (KeyError, TypeError, ValueError):
        raise FathomInputError("a defect entry needs center_mm [x, y, z] and size_mm or extent_mm") from None
    if len(center) != 3 or len(extent) != 3 or min(extent) <= 0:
        raise FathomInputError("a defect entry needs center_mm [x, y, z] and a positive size_mm or extent_mm")
    vz, vy, vx = geometry.voxel_size_mm
    voxel_xyz = np.array([vx, vy, vz])
    core_axes = np.maximum(np.asarray(extent) - voxel_xyz / 2, voxel_xyz / 2)

    def core(at) -> np.ndarray:
        mask = _ellipsoid_mask(geometry, at, core_axes)
        nearest = _nearest_voxel(geometry, at)
        if nearest is None:
            raise FathomInputError(
                f"the defect at {tuple(at)} mm (x, y, z) lies outside the volume: measure on a volume "
                "that contains it"
            )
        mask[nearest] = True
        return mask

    mask = core(center)
    if defect.get("reference_mm") is not None:
        surround = core([float(c) for c in defect["reference_mm"]])
    else:
        reach = np.asarray(extent) + gap_voxels * voxel_xyz
        inner = _ellipsoid_mask(geometry, center, reach)
        outer = _ellipsoid_mask(geometry, center, reach + shell_voxels * voxel_xyz)
        surround = outer & ~inner
        if truth is not None and defect.get("host_mu") is not None:
            surround &= _host_interior(np.asarray(truth), float(defect["host_mu"]), geometry.shape)
    if not surround.any():
        raise FathomInputError(
            f"the surround of the {defect.get('kind', 'defect')} at {tuple(center)} mm is empty: "
            "the volume does not hold enough of its host material around it"
        )
    return mask, surround


def _host_interior(truth: np.ndarray, host_mu: float, shape) -> np.ndarray:
    """Voxels of the host material at least one voxel away from any other material."""
    from scipy.ndimage import binary_erosion, generate_binary_structure

    if truth.shape != tuple(shape):
        raise FathomInputError(f"the truth volume {truth.shape} is not on the volume's grid {tuple(shape)}")
    host = np.abs(truth - host_mu) <= 1e-3 * max(abs(host_mu), 1.0)
    structure = generate_binary_structure(3, 1)
    if truth.shape[0] == 1:  # a single slice: erode within it
        structure[0] = structure[2] = False
    return binary_erosion(host, structure, border_value=1)


def truth_on_grid(truth, truth_geometry: VolumeGeometry, geometry: VolumeGeometry) -> np.ndarray:
    """A truth volume on another volume's grid: cropped where the grids line up, else resampled.

    Parameters
    ----------
    truth : array (z, y, x) on ``truth_geometry``.
    truth_geometry, geometry : the grids. When ``geometry`` has the truth's voxel size and its
        voxel centres are voxel centres of the truth (the same grid, or a region of interest of
        it), the truth is cropped, exactly; otherwise it is interpolated (linearly) at the
        voxel centres of ``geometry``, which blurs its edges by up to a voxel.

    Raises
    ------
    FathomInputError
        If ``geometry`` reaches beyond the truth's extent.
    """
    from scipy.ndimage import map_coordinates

    truth = np.asarray(truth)
    if truth.shape != tuple(truth_geometry.shape):
        raise FathomInputError(f"the truth data {truth.shape} does not match its grid {truth_geometry.shape}")
    offsets = [(geometry.origin_mm[a] - truth_geometry.origin_mm[a]) / truth_geometry.voxel_size_mm[a]
               for a in range(3)]
    steps = [geometry.voxel_size_mm[a] / truth_geometry.voxel_size_mm[a] for a in range(3)]
    for a in range(3):
        first, last = offsets[a], offsets[a] + steps[a] * (geometry.shape[a] - 1)
        if first < -0.5 - 1e-6 or last > truth.shape[a] - 0.5 + 1e-6:
            raise FathomInputError(
                f"the volume {tuple(geometry.shape)} reaches beyond its truth {truth.shape}: "
                "measure a volume inside the truth's field of view"
            )
    starts = [int(round(o)) for o in offsets]
    layout = zip(steps, offsets, starts, geometry.shape, truth.shape, strict=True)
    aligned = all(abs(s - 1) < 1e-6 and abs(o - k) < 1e-3 and k >= 0 and k + n <= full
                  for s, o, k, n, full in layout)
    if aligned:
        z, y, x = starts
        nz, ny, nx = geometry.shape
        return truth[z:z + nz, y:y + ny, x:x + nx]
    axes = [offsets[a] + steps[a] * np.arange(geometry.shape[a]) for a in range(3)]
    coords = np.stack(np.meshgrid(*axes, indexing="ij"))
    resampled = map_coordinates(np.asarray(truth, dtype=np.float32), coords, order=1, mode="nearest")
    return resampled.astype(np.float32)
