"""Statistical iterative reconstruction: penalized weighted least squares with two knobs.

The image minimizes ½ Σ w (A x − y)² + β R(x) over x ≥ 0 (:mod:`.solver`), with weights from the
photon statistics (:mod:`.weights`) and an edge-preserving penalty over the 26-neighbourhood
(:mod:`.penalty`). A user sets two knobs:

- edge preservation δ (1/mm, CLI ``--delta``): grey-value steps between neighbours smaller than
  δ are treated as noise and smoothed, larger ones are kept as edges;
- smoothing β (CLI ``--beta``), dimensionless: 1 makes the penalty as stiff as the data's typical
  curvature, whatever the photon count, projection count or voxel size (see :func:`.solver.solve`).

Both may be "auto": they are then tuned on a preview ROI at the centre of the volume
(:mod:`.preview`): δ from the ROI's noise and material contrast, β by a relative discrepancy rule
over a strip of previews. The run starts from FDK, which also serves as the preview's background.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..backend import resolve_device
from ..errors import FathomInputError
from ..fdk import fdk
from ..geometry import VolumeGeometry, default_volume
from ..params import param, to_recipe, validate
from ..progress import CancelToken, ProgressCallback, checkpoint, sub_progress
from ..scan import Scan
from ..volume import Volume
from .guide import GUIDES, EdgeGuide, edge_guide
from .penalty import POTENTIALS
from .preview import (
    EdgeSuggestion,
    PreviewProblem,
    SmoothingStrip,
    StripPreview,
    central_roi,
    prepare_preview,
)
from .solver import IterationRecord, WeightedLeastSquares, solve
from .weights import noise_model

__all__ = [
    "IterativeParams",
    "IterationRecord",
    "EdgeGuide",
    "EdgeSuggestion",
    "PreviewProblem",
    "SmoothingStrip",
    "StripPreview",
    "edge_guide",
    "iterative",
    "prepare_preview",
    "resolve_knobs",
]


@dataclass(frozen=True)
class IterativeParams:
    """Parameters of penalized weighted least squares."""

    edge_preservation: str | float = param(
        "auto",
        help="edge preservation δ: neighbour differences below it are smoothed as noise, above "
        "it kept as edges; 'auto' proposes it from a preview region's noise and contrast",
        unit="1/mm",
        cli="--delta",
        label="Edge preservation δ",
    )
    smoothing: str | float = param(
        "auto",
        help="smoothing β relative to the data's curvature (1: equal stiffness); 'auto' picks it "
        "on a strip of previews (the smoothest the data can barely tell apart)",
        cli="--beta",
        label="Smoothing β",
    )
    iterations: int = param(20, help="passes over all projections", minimum=1, maximum=1000)
    subsets: int = param(
        0, help="ordered subsets per pass (0: about 30 projections per subset, at most 12)",
        minimum=0, maximum=256,
    )
    potential: str = param("huber", help="edge-preserving potential", choices=POTENTIALS)
    guide: str = param(
        "none", help="edge guidance: 'fdk' smooths along the faint edges the FDK shows, not across "
        "them (faces as sharp as the data allow, a little more noise beside them; for full scans, "
        "the FDK of a sparse one is too noisy to guide); 'none': the potential alone",
        choices=GUIDES, label="Edge guidance",
    )
    tolerance: float = param(
        0.0, help="stop early when a pass changes the image by less than this (relative RMS; 0: "
        "run every pass)", minimum=0.0, maximum=1.0,
    )


def _knob(value, name: str, *, allow_zero: bool) -> float | str:
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "auto":
            return "auto"
        try:
            value = float(text)
        except ValueError:
            raise FathomInputError(f"{name} {value!r} is not a number or 'auto'") from None
    number = float(value)
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = "at least 0" if allow_zero else "greater than 0"
        raise FathomInputError(f"{name} is {number}; it must be {bound} (or 'auto')")
    return number


def resolve_knobs(params: IterativeParams) -> IterativeParams:
    """``params`` checked, with δ and β as numbers or "auto" (parsing CLI text)."""
    validate(params)
    delta = _knob(params.edge_preservation, "delta (edge preservation)", allow_zero=False)
    beta = _knob(params.smoothing, "beta (smoothing)", allow_zero=True)
    return replace(params, edge_preservation=delta, smoothing=beta)


def iterative(
    scan: Scan,
    volume: VolumeGeometry | None = None,
    params: IterativeParams | None = None,
    *,
    device: str = "auto",
    initial: Volume | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_iteration: Callable[[IterationRecord, np.ndarray], None] | None = None,
) -> Volume:
    """Reconstruct ``scan`` (line integrals) by penalized weighted least squares.

    Parameters
    ----------
    scan : a preprocessed Scan ("line_integrals").
    volume : the voxels to reconstruct (default: the full field of view).
    params : the knobs and the solver's settings; "auto" knobs are tuned on a central preview.
    device : "auto", "cpu" or "gpu".
    initial : a start image on ``volume``'s grid (default: FDK of the scan).
    progress, cancel : see :mod:`engine.progress`.
    on_iteration : called after each pass with its :class:`IterationRecord` and the image.

    Returns
    -------
    Volume in 1/mm; its recipe holds the resolved knobs (``recipe["iterative"]``), the automatic
    choices made (``recipe["auto"]``) and the convergence record (``recipe["history"]``).
    """
    params = resolve_knobs(params or IterativeParams())
    if scan.values != "line_integrals":
        raise FathomInputError(
            "iterative reconstruction needs line integrals but the scan holds raw counts: run "
            "preprocessing (flat/dark correction and -log) first"
        )
    volume = volume or default_volume(scan.geometry)
    device = resolve_device(device)
    started = time.perf_counter()
    auto_knobs = "auto" in (params.edge_preservation, params.smoothing)
    solve_from = 0.35 if auto_knobs else 0.1

    if initial is None:
        initial = fdk(scan, volume, device=device, progress=sub_progress(progress, 0.0, 0.1), cancel=cancel)
    elif tuple(initial.data.shape) != tuple(volume.shape):
        raise FathomInputError(
            f"the start image is {initial.data.shape} voxels but the volume is {volume.shape}: "
            "give a start image on the same grid, or none (FDK)"
        )

    auto: dict = {}
    if auto_knobs:
        start, shape = central_roi(volume)
        preview = prepare_preview(scan, volume, start, shape, background=initial, device=device,
                                  progress=sub_progress(progress, 0.1, 0.2), cancel=cancel)
        auto["preview_roi"] = {"start": list(start), "shape": list(shape)}
        if params.edge_preservation == "auto":
            suggestion = preview.suggest_edge_preservation(
                progress=sub_progress(progress, 0.2, 0.22), cancel=cancel)
            params = replace(params, edge_preservation=suggestion.delta)
            auto["edge_preservation"] = suggestion.to_dict()
    # the guide leaves steps far above δ to the potential, so it needs δ resolved
    guide = edge_guide(initial.data, params.edge_preservation) if params.guide == "fdk" else None
    if params.smoothing == "auto":
        strip = preview.smoothing_strip(
            params.edge_preservation, iterations=params.iterations, potential=params.potential,
            guide=guide.crop(start, shape) if guide is not None else None,
            progress=sub_progress(progress, 0.22, solve_from), cancel=cancel)
        params = replace(params, smoothing=strip.smoothings[strip.suggested])
        auto["smoothing"] = strip.summary()

    checkpoint(cancel, progress, solve_from, "statistical weights")
    noise = noise_model(scan.projections)
    problem = WeightedLeastSquares(scan.projections, noise.weights(scan.projections), scan.geometry, volume,
                                   device, noise.smoothing_unit(scan.n_projections, volume.voxel_size_mm[2]))
    image, history = solve(
        problem,
        initial.data,
        smoothing=params.smoothing,
        edge_preservation=params.edge_preservation,
        potential=params.potential,
        iterations=params.iterations,
        subsets=params.subsets,
        tolerance=params.tolerance,
        guide=guide,
        progress=sub_progress(progress, solve_from, 1.0),
        cancel=cancel,
        on_iteration=on_iteration,
    )
    data = image.get() if hasattr(image, "get") else image
    recipe = {
        "method": "iterative",
        "iterative": to_recipe(params),
        "auto": auto,
        "guide": guide.to_dict() if guide is not None else None,
        "photon_scale": noise.photon_scale,
        "history": [record.to_dict() for record in history],
        "device": device,
        "volume": volume.to_dict(),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return Volume(np.asarray(data, dtype=np.float32), volume, recipe)
