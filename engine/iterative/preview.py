"""The preview ROI: iterate on a small block of voxels only, to tune the two knobs in seconds.

A ray through the ROI also crosses the rest of the sample. The rest is taken from a full FDK
reconstruction (the background): its forward projection is subtracted from the measured data,
so what is left is, to within FDK's errors outside, the ROI's own share of every line integral.
Only the detector window that the ROI's shadow covers is kept, so a preview costs
(ROI voxels × projections) per pass however large the scan. The penalty has a free boundary at
the ROI's faces, which the full reconstruction does not; the difference stays near the faces
(see the tests for how close the two are inside).

Tuning (the rules are stated in :meth:`PreviewProblem.suggest_edge_preservation` and
:meth:`PreviewProblem.smoothing_strip`):

- δ from an unconstrained reconstruction of the ROI: FDK of the odd and of the even projections
  gives the noise σ (half their difference), a two-class (Otsu) split of the FDK gives the
  material contrast;
- β from a strip of previews at several values, the suggestion being the largest β whose data
  residual grows by at most 10 % over the least smoothed preview's (a relative discrepancy
  principle).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import ndimage

from ..backend import resolve_device
from ..errors import FathomInputError
from ..fdk import fdk
from ..geometry import ScanGeometry, VolumeGeometry
from ..progress import CancelToken, ProgressCallback, checkpoint, sub_progress
from ..projectors import footprint, forward_project, projection_matrices
from ..scan import Scan
from ..volume import Volume
from .guide import GUIDE_SCALE, GUIDES, EdgeGuide, edge_guide
from .solver import IterationRecord, WeightedLeastSquares, solve
from .weights import noise_model

# The documented rules' constants (see the methods that use them).
EDGE_NOISE_FACTOR = 2.0       # δ = this × the FDK noise σ of the ROI ...
EDGE_CONTRAST_FRACTION = 0.25  # ... but at most this fraction of the material contrast
RESIDUAL_GROWTH = 0.10        # the suggested β may raise the data residual by this fraction
STRIP_CENTRE = 20.0           # β at the centre of a default strip (the best on the test packages)
STRIP_FACTOR = 2.0            # ratio between neighbouring β in a default strip
PREVIEW_SHAPE = (16, 128, 128)
BACKGROUND_SMOOTHING = 0.7    # Gaussian σ (voxels) applied to the background before projecting it


def central_roi(volume: VolumeGeometry, shape: tuple[int, int, int] = PREVIEW_SHAPE):
    """(start, shape) of a preview block at the centre of ``volume`` (clipped to it)."""
    shape = tuple(min(s, n) for s, n in zip(shape, volume.shape, strict=True))
    start = tuple((n - s) // 2 for s, n in zip(shape, volume.shape, strict=True))
    return start, shape


@dataclass(frozen=True)
class EdgeSuggestion:
    """The proposed edge preservation and what it was made from."""

    delta: float
    noise_sigma: float
    contrast: float
    rule: str

    def to_dict(self) -> dict:
        return {"delta": self.delta, "noise_sigma": self.noise_sigma, "contrast": self.contrast,
                "rule": self.rule}


@dataclass(frozen=True)
class StripPreview:
    """One preview of a strip while the strip is computed: its image after ``iteration`` of
    ``iterations``, and its metrics once it is done (``None`` until then)."""

    index: int
    smoothing: float
    iteration: int
    iterations: int
    image: np.ndarray
    metrics: dict[str, float] | None = None

    @property
    def done(self) -> bool:
        return self.metrics is not None


@dataclass
class SmoothingStrip:
    """Previews of one ROI at several smoothing values, with their metrics and a suggestion."""

    edge_preservation: float
    smoothings: list[float]
    images: list[np.ndarray]
    metrics: list[dict[str, float]]
    suggested: int
    rule: str
    histories: list[list[IterationRecord]] = field(default_factory=list)

    def summary(self) -> dict:
        """Everything but the images (for recipes and JSON)."""
        return {
            "edge_preservation": self.edge_preservation,
            "smoothings": self.smoothings,
            "metrics": self.metrics,
            "suggested": self.suggested,
            "suggested_smoothing": self.smoothings[self.suggested],
            "rule": self.rule,
        }


def _slices_reaching(geometry: ScanGeometry, volume: VolumeGeometry, first_row: int, rows: int):
    """The range [z0, z1) of the volume's slices whose shadow touches detector rows
    [first_row, first_row + rows) in some projection."""
    mats = projection_matrices(geometry, volume)
    nz, ny, nx = volume.shape
    reaching = []
    for z in range(nz):
        corners = np.array([[x, y, zz, 1.0] for zz in (z - 0.5, z + 0.5)
                            for y in (-0.5, ny - 0.5) for x in (-0.5, nx - 0.5)])
        image = mats @ corners.T
        r = image[:, 1] / image[:, 2]
        if r.max() + 2 >= first_row and r.min() - 2 <= first_row + rows - 1:
            reaching.append(z)
    if not reaching:
        return 0, 0
    return reaching[0], reaching[-1] + 1


class PreviewProblem:
    """One preview ROI of one scan, ready to reconstruct at any knobs (see module doc)."""

    def __init__(self, problem: WeightedLeastSquares, initial: np.ndarray, own_data: np.ndarray,
                 window: ScanGeometry, surroundings: tuple[np.ndarray, tuple[int, int, int]] | None = None):
        self.problem = problem
        self.roi_geometry = problem.volume
        self.initial = initial
        self._own_data = own_data
        self._window = window
        # the background around the ROI (a margin for the guide's filter) and where the ROI is in it
        self._surroundings = surroundings or (initial, (0, 0, 0))
        self._classes: tuple[np.ndarray, np.ndarray] | None = None
        self._guide: EdgeGuide | None = None

    def edge_guide(self, edge_preservation: float) -> EdgeGuide:
        """The ROI's edge guide (:mod:`.guide`) for the penalty's δ, from the background around
        it. Its noise level comes from this neighbourhood only, so a full run's guide (noise
        level of the whole volume) can differ a little: :func:`engine.iterative.iterative` hands
        its own to the strip."""
        if self._guide is None or self._guide.edge_preservation != float(edge_preservation):
            around, offset = self._surroundings
            self._guide = edge_guide(around, float(edge_preservation)).crop(offset, self.initial.shape)
        return self._guide

    def _guide_for(self, guide: str | EdgeGuide | None, edge_preservation: float) -> EdgeGuide | None:
        if guide is None or isinstance(guide, EdgeGuide):
            return guide
        if guide == "fdk":
            return self.edge_guide(edge_preservation)
        if guide == "none":
            return None
        raise FathomInputError(f"edge guidance {guide!r} is not one of {', '.join(GUIDES)}")

    # -- knob proposals -----------------------------------------------------------------------
    def suggest_edge_preservation(self, progress: ProgressCallback | None = None,
                                  cancel: CancelToken | None = None) -> EdgeSuggestion:
        """δ = min(2 σ, contrast / 4), with σ the FDK noise and the contrast between the ROI's
        two main materials.

        Neighbour differences of pure noise have a spread of about √2 σ, so 2 σ smooths nearly
        all of them; capping at a quarter of the contrast keeps every real material step well in
        the linear (edge-preserving) part of the potential even in very noisy scans.
        """
        halves = []
        for k, part in enumerate((slice(0, None, 2), slice(1, None, 2))):
            scan = Scan(self._own_data[part], self._window.subset(part), values="line_integrals")
            halves.append(fdk(scan, self.roi_geometry, device=self.problem.device,
                              progress=sub_progress(progress, k / 2, (k + 1) / 2), cancel=cancel).data)
        difference = _interior(halves[0] - halves[1])
        sigma = float(1.4826 * np.median(np.abs(difference - np.median(difference))) / 2.0)
        low, high = self._material_classes()
        smooth = ndimage.gaussian_filter(self.initial, 1.0)
        contrast = float(abs(smooth[high].mean() - smooth[low].mean())) if low.any() and high.any() else 0.0
        candidates = [EDGE_NOISE_FACTOR * sigma]
        if contrast > 0:
            candidates.append(EDGE_CONTRAST_FRACTION * contrast)
        delta = max(min(candidates), 1e-6)
        rule = (f"δ = min({EDGE_NOISE_FACTOR:g} σ, {EDGE_CONTRAST_FRACTION:g} × contrast) with the FDK "
                f"noise σ = {sigma:.3g} 1/mm (odd/even projections) and the material contrast "
                f"{contrast:.3g} 1/mm (two-class split)")
        return EdgeSuggestion(delta=delta, noise_sigma=sigma, contrast=contrast, rule=rule)

    # -- reconstruction -----------------------------------------------------------------------
    def reconstruct(self, params, progress: ProgressCallback | None = None,
                    cancel: CancelToken | None = None,
                    on_iteration: Callable[[IterationRecord, np.ndarray], None] | None = None) -> Volume:
        """The ROI reconstructed with ``params`` (an IterativeParams; "auto" knobs are proposed
        on this ROI first)."""
        from ..params import to_recipe
        from . import resolve_knobs

        params = resolve_knobs(params)
        auto: dict = {}
        if params.edge_preservation == "auto":
            suggestion = self.suggest_edge_preservation(cancel=cancel)
            params = replace(params, edge_preservation=suggestion.delta)
            auto["edge_preservation"] = suggestion.to_dict()
        if params.smoothing == "auto":
            strip = self.smoothing_strip(params.edge_preservation, iterations=params.iterations,
                                         potential=params.potential, guide=params.guide, cancel=cancel)
            params = replace(params, smoothing=strip.smoothings[strip.suggested])
            auto["smoothing"] = strip.summary()
        guide = self._guide_for(params.guide, params.edge_preservation)
        image, history = solve(self.problem, self.initial, smoothing=params.smoothing,
                               edge_preservation=params.edge_preservation, potential=params.potential,
                               iterations=params.iterations, subsets=params.subsets,
                               tolerance=params.tolerance, guide=guide,
                               progress=progress, cancel=cancel, on_iteration=on_iteration)
        data = image.get() if hasattr(image, "get") else image
        recipe = {"method": "iterative", "preview": True, "iterative": to_recipe(params), "auto": auto,
                  "guide": guide.to_dict() if guide is not None else None,
                  "history": [r.to_dict() for r in history], "metrics": self.measure(image),
                  "device": self.problem.device, "volume": self.roi_geometry.to_dict()}
        return Volume(np.asarray(data, dtype=np.float32), self.roi_geometry, recipe)

    def smoothing_strip(self, edge_preservation: float, smoothings: Sequence[float] | None = None,
                        count: int = 5, *, iterations: int = 20, potential: str = "huber",
                        guide: str | EdgeGuide | None = None,
                        progress: ProgressCallback | None = None,
                        cancel: CancelToken | None = None,
                        on_preview: Callable[[StripPreview], None] | None = None) -> SmoothingStrip:
        """Previews at several β (default: ``count`` values a factor 2 apart around 20).

        ``on_preview`` sees every preview as it is computed, after each of its iterations and
        once more, with its metrics, when it is done (so a viewer can show the strip filling in
        rather than nothing until the last preview ends).

        The suggestion is a relative discrepancy principle: the largest β whose data residual
        Σ w r² / rays is at most 10 % above that of the least smoothed preview — smoothing the
        data can barely notice. (The absolute principle, residual ≤ 1 in noise units, fails on
        real scans: the projector's discretization and the preview's FDK background leave a
        residual well above the noise level whatever β; on the demo it is about 14.)
        """
        if not (isinstance(edge_preservation, (int, float)) and edge_preservation > 0):
            raise FathomInputError(f"edge preservation {edge_preservation!r} must be a number > 0")
        if smoothings is None:
            if count < 1:
                raise FathomInputError(f"a strip needs at least one smoothing value, not {count}")
            half = (count - 1) / 2
            smoothings = [STRIP_CENTRE * STRIP_FACTOR ** (k - half) for k in range(count)]
        smoothings = [float(b) for b in smoothings]
        if not smoothings or any(not np.isfinite(b) or b < 0 for b in smoothings):
            raise FathomInputError(f"smoothing values {smoothings} must be numbers ≥ 0")
        guide = self._guide_for(guide, float(edge_preservation))
        images, metrics, histories = [], [], []
        for k, beta in enumerate(smoothings):
            running = None
            if on_preview is not None:
                def running(record, image, k=k, beta=beta):
                    on_preview(StripPreview(k, beta, record.iteration, iterations, image))
            image, history = solve(self.problem, self.initial, smoothing=beta,
                                   edge_preservation=float(edge_preservation), potential=potential,
                                   iterations=iterations, guide=guide,
                                   progress=sub_progress(progress, k / len(smoothings),
                                                         (k + 1) / len(smoothings)),
                                   cancel=cancel, on_iteration=running)
            host = image.get() if hasattr(image, "get") else image
            images.append(np.asarray(host, dtype=np.float32))
            metrics.append({"smoothing": beta, **self.measure(image)})
            histories.append(history)
            if on_preview is not None:
                on_preview(StripPreview(k, beta, len(history), iterations, images[-1], metrics[-1]))
        least = int(np.argmin(smoothings))
        limit = (1.0 + RESIDUAL_GROWTH) * metrics[least]["discrepancy"]
        within = [k for k, m in enumerate(metrics) if m["discrepancy"] <= limit]
        suggested = max(within, key=lambda k: smoothings[k]) if within else least
        rule = (f"largest β whose data residual Σ w r²/rays is within {RESIDUAL_GROWTH:.0%} of the least "
                f"smoothed preview's ({limit:.3g}): the smoothest preview the data can barely tell apart")
        checkpoint(cancel, progress, 1.0, "strip done")
        return SmoothingStrip(float(edge_preservation), smoothings, images, metrics, suggested, rule,
                              histories)

    # -- metrics ------------------------------------------------------------------------------
    def _material_classes(self) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the interiors (2 voxels from any boundary) of the ROI's two main materials,
        split by Otsu's threshold on the smoothed FDK."""
        if self._classes is None:
            from skimage.filters import threshold_otsu

            smooth = ndimage.gaussian_filter(self.initial, 1.0)
            try:
                level = threshold_otsu(smooth)
            except ValueError:  # a flat image
                level = float(smooth.max()) + 1.0
            structure = ndimage.generate_binary_structure(3, 1)
            inner = np.zeros(smooth.shape, dtype=bool)
            inner[_interior_slices(smooth.shape)] = True
            high = ndimage.binary_erosion(smooth > level, structure, iterations=2) & inner
            low = ndimage.binary_erosion(smooth <= level, structure, iterations=2) & inner
            self._classes = (low, high)
        return self._classes

    def measure(self, image) -> dict[str, float]:
        """SNR between the two main materials (ZEISS definition), the noise σ inside them, the
        10–90 % edge width across their boundary (voxels) and the data residual."""
        host = np.asarray(image.get() if hasattr(image, "get") else image, dtype=np.float32)
        low, high = self._material_classes()
        result = {"snr": float("nan"), "noise_sigma": float("nan")}
        if low.sum() > 8 and high.sum() > 8:
            a, b = host[high], host[low]
            spread = (a.std() + b.std()) / 2
            result["snr"] = float(abs(a.mean() - b.mean()) / spread) if spread > 0 else float("inf")
            result["noise_sigma"] = float(spread)
        result["edge_width"] = _edge_width(host, self.initial)
        result["discrepancy"] = self.problem.discrepancy(image)
        return result


def _interior_slices(shape, border: int = 2):
    return tuple(slice(min(border, n // 4), n - min(border, n // 4)) for n in shape)


def _interior(a: np.ndarray) -> np.ndarray:
    return a[_interior_slices(a.shape)]


def _smooth_outside(background: np.ndarray, inside: tuple[slice, ...]) -> np.ndarray:
    """The background with the ROI block ``inside`` zeroed, lightly smoothed outside it only:
    a normalized convolution (smoothed values ÷ smoothed mask), so a voxel next to the ROI's
    face averages only its outside neighbours. Smoothing first and zeroing after would carry
    the ROI's own material across its faces into the background, and its projection would be
    taken from the ROI's data: where the material changes across a face (the tops of the demo's
    balls), the face slice came out 25 % too dark (17 % now: the rest is the FDK's own blur
    across the face)."""
    mask = np.ones(background.shape, dtype=np.float32)
    mask[inside] = 0
    values = ndimage.gaussian_filter(background * mask, BACKGROUND_SMOOTHING)
    weight = ndimage.gaussian_filter(mask, BACKGROUND_SMOOTHING)
    outside = np.divide(values, weight, out=np.zeros_like(values), where=weight > 1e-3)
    outside[inside] = 0
    return outside


def _edge_width(image: np.ndarray, reference: np.ndarray, profiles: int = 24) -> float:
    """Median 10–90 % width (voxels) of logistic fits across the strongest edges of the middle
    slice (found on the smoothed ``reference``, so every image is measured at the same places)."""
    from ..metrics import fit_edge

    k = image.shape[0] // 2
    smooth = ndimage.gaussian_filter(reference[k].astype(np.float64), 1.0)
    gy, gx = np.gradient(smooth)
    magnitude = np.hypot(gy, gx)
    half = 6
    ny, nx = magnitude.shape
    magnitude[: half + 1], magnitude[-half - 1:] = 0, 0
    magnitude[:, : half + 1], magnitude[:, -half - 1:] = 0, 0
    widths = []
    taken = np.zeros_like(magnitude, dtype=bool)
    for flat in np.argsort(magnitude, axis=None)[::-1]:
        if len(widths) >= profiles or magnitude.flat[flat] <= 0:
            break
        y, x = np.unravel_index(flat, magnitude.shape)
        if taken[max(0, y - 3): y + 4, max(0, x - 3): x + 4].any():
            continue
        taken[y, x] = True
        direction = np.array([gy[y, x], gx[y, x]]) / magnitude[y, x]
        steps = np.linspace(-half, half, 4 * half + 1)
        coords = np.array([y + steps * direction[0], x + steps * direction[1]])
        values = ndimage.map_coordinates(image[k].astype(np.float64), coords, order=1)
        try:
            fit = fit_edge(values, steps)
        except (FathomInputError, ValueError, RuntimeError):
            continue
        if np.isfinite(fit.width) and 0 < fit.width < 2 * half:
            widths.append(fit.width)
    return float(np.median(widths)) if widths else float("nan")


def prepare_preview(
    scan: Scan,
    volume: VolumeGeometry,
    roi_start: tuple[int, int, int],
    roi_shape: tuple[int, int, int],
    *,
    background: Volume | None = None,
    device: str = "auto",
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> PreviewProblem:
    """Set up the preview of the voxel block ``[roi_start, roi_start + roi_shape)`` of ``volume``.

    ``background`` is an FDK (or any) reconstruction of the whole ``volume``; without it one is
    computed first. The ROI must lie inside the volume.
    """
    if scan.values != "line_integrals":
        raise FathomInputError(
            "the preview needs line integrals but the scan holds raw counts: run preprocessing first"
        )
    roi = volume.sub_volume(roi_start, roi_shape)
    device = resolve_device(device)
    if background is None:
        background = fdk(scan, volume, device=device, progress=sub_progress(progress, 0.0, 0.6),
                         cancel=cancel)
    if tuple(background.data.shape) != tuple(volume.shape):
        raise FathomInputError(
            f"the background volume is {background.data.shape} voxels but the volume is "
            f"{volume.shape}: reconstruct the background on the same grid"
        )
    checkpoint(cancel, progress, 0.6, "removing the rest of the sample from the data")
    first_row, first_col, rows, cols = footprint(scan.geometry, roi)
    window = scan.geometry.detector_window(first_row, first_col, rows, cols)
    measured = np.array(
        scan.projections[:, first_row:first_row + rows, first_col:first_col + cols], dtype=np.float32
    )
    block = tuple(slice(int(s), int(s) + int(n)) for s, n in zip(roi_start, roi_shape, strict=True))
    # Only slices whose shadow reaches the window contribute to it.
    z0, z1 = _slices_reaching(window, volume, 0, rows)
    own = measured.copy()
    if z1 > z0:
        # Lightly smoothed: the background's own noise would otherwise be projected into the
        # ROI's data (it halves the preview's distance to the full reconstruction in the tests).
        inside = (slice(max(block[0].start - z0, 0), max(min(block[0].stop - z0, z1 - z0), 0)),
                  block[1], block[2])
        outside = _smooth_outside(np.asarray(background.data[z0:z1], dtype=np.float32), inside)
        part = volume.sub_volume((z0, 0, 0), (z1 - z0, volume.shape[1], volume.shape[2]))
        own -= forward_project(outside, part, window, device=device, to_host=True)
    checkpoint(cancel, progress, 0.9, "weights")
    noise = noise_model(scan.projections)
    problem = WeightedLeastSquares(own, noise.weights(measured), window, roi, device,
                                   noise.smoothing_unit(scan.n_projections, roi.voxel_size_mm[2]))
    problem.denominator()
    initial = np.maximum(np.array(background.data[block], dtype=np.float32), 0)
    margin = int(np.ceil(4 * GUIDE_SCALE))
    around = tuple(slice(max(b.start - margin, 0), min(b.stop + margin, n))
                   for b, n in zip(block, volume.shape, strict=True))
    surroundings = (np.maximum(np.array(background.data[around], dtype=np.float32), 0),
                    tuple(b.start - a.start for b, a in zip(block, around, strict=True)))
    checkpoint(cancel, progress, 1.0, "preview ready")
    return PreviewProblem(problem, initial, own, window, surroundings)
