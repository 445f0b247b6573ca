"""The preprocessing pipeline: a raw Scan in, a Scan of line integrals ready to reconstruct out.

Steps, in this order, each optional: flat/dark normalization and −log (raw counts only),
outlier removal, ring (stripe) removal, beam-hardening linearization, centre of rotation.
Outliers are removed after −log so that values clamped by −log, which are outliers too, are
repaired with the rest. Stripes are removed before the beam-hardening polynomial, while a
detector pixel's error is still a plain offset.

Memory stays at the output plus one chunk: normalization, −log and outliers run over chunks of
projections (with one neighbouring projection on each side for the zinger test), ring removal
and beam hardening over chunks of detector rows of the output, so cancellation is honoured
between chunks of well under a second. The input arrays are only read (they may be read-only
memory maps). What was done, with the numbers a user wants to check (clamped pixels, filled
dead pixels, replaced outliers, the centre of rotation in px and mm), is recorded in
``scan.metadata["preprocess"]``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import FathomInputError
from ..params import param, to_recipe, validate
from ..progress import CancelToken, ProgressCallback, checkpoint, sub_progress
from ..scan import Scan
from .beam_hardening import check_beam_hardening, linearize_beam_hardening
from .center import check_center_finding, find_center_of_rotation, offset_px_to_mm
from .normalize import (
    DEFAULT_TRANSMISSION_FLOOR,
    FlatField,
    check_finite,
    minus_log,
    prepare_flat_field,
)
from .outliers import find_static_defects, remove_outliers
from .rings import RING_METHODS, remove_stripes

__all__ = ["PreprocessParams", "parse_center_of_rotation", "preprocess"]

_CHUNK_PIXELS = 1 << 20  # 4 MB of float32 per chunk: well under a second of work per chunk


def parse_center_of_rotation(value: str | float) -> str | float:
    """``"auto"``, ``"none"`` or an offset in pixels (float) from a parameter value."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip().lower()
        if text in ("auto", "none"):
            return text
        try:
            number = float(text)
        except ValueError:
            number = float("nan")
    if not np.isfinite(number):
        raise FathomInputError(
            f"center of rotation {value!r} is not understood: use 'auto', 'none' or an offset "
            "in pixels from the detector centre (positive towards higher columns)"
        )
    return number


def _parse_coefficients(value) -> tuple[float, ...]:
    if isinstance(value, str):
        parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
    elif np.isscalar(value):
        parts = [value]
    else:
        parts = list(value)
    try:
        coefficients = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        coefficients = ()
    if not coefficients or not all(np.isfinite(coefficients)):
        raise FathomInputError(
            f"beam-hardening coefficients {value!r} are not understood: give numbers c1,c2,… "
            "such as 1.0,0.05 (1.0 alone: no correction)"
        )
    return coefficients


@dataclass(frozen=True)
class PreprocessParams:
    """Parameters of :func:`preprocess` (the CLI options and the GUI panel are built from these)."""

    normalize: bool = param(
        True,
        help="divide raw counts by flat and dark fields; off: the counts are taken as "
        "transmission as they are (already flat-corrected data)",
        label="Flat/dark normalization",
    )
    flat_average: str = param(
        "median",
        help="how several flats or darks are combined: median ignores zingers in single "
        "frames, mean is slightly less noisy",
        choices=("median", "mean"),
    )
    max_bad_flat_fraction: float = param(
        0.01,
        help="largest fraction of pixels whose flat is not brighter than the dark (dead "
        "pixels, filled from neighbours) before the flats are rejected",
        minimum=0.0,
        maximum=1.0,
    )
    transmission_floor: float = param(
        DEFAULT_TRANSMISSION_FLOOR,
        help="transmission values below this are clamped before −log (caps line integrals "
        "at −ln of it)",
        minimum=0.0,
        exclusive_minimum=True,
        maximum=0.5,
    )
    remove_outliers: bool = param(
        True,
        help="replace hot/dead detector pixels and zingers by the median of their neighbours",
        label="Outlier removal",
    )
    outlier_threshold: float = param(
        5.0,
        help="how far a value must stand out from its neighbours to be an outlier",
        unit="noise std",
        minimum=0.0,
        exclusive_minimum=True,
    )
    ring_removal: bool = param(
        True,
        help="remove ring artifacts as stripes in the sinograms",
        label="Ring removal",
    )
    ring_method: str = param(
        "offset",
        help="offset: one offset per detector column, applied only where the column is off by the "
        "same amount at every angle (no streaks beside bumps or balls); sorting: Vo's sorting "
        "method, which also removes stripes present in part of the scan or crossing the sample "
        "but streaks beside dense small features",
        choices=RING_METHODS,
        label="Ring method",
    )
    ring_filter_width: int = param(
        11,
        help="strength of ring removal: width of the median filter across detector columns; "
        "larger removes wider stripes but flattens more genuine detail",
        unit="px",
        minimum=3,
        maximum=201,
    )
    beam_hardening: tuple[float, ...] = param(
        (1.0,),
        help="beam-hardening polynomial coefficients c1,c2,… of c1·p + c2·p² + …; "
        "1.0 alone leaves the data unchanged",
    )
    center_of_rotation: str | float = param(
        "auto",
        help="rotation axis: 'auto' to find it, 'none' to keep the scan's geometry, or its "
        "offset from the detector centre (positive towards higher columns)",
        unit="px",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "beam_hardening", _parse_coefficients(self.beam_hardening))
        object.__setattr__(
            self, "center_of_rotation", parse_center_of_rotation(self.center_of_rotation)
        )


def _chunks(total: int, per_item: int) -> list[tuple[int, int]]:
    size = max(1, _CHUNK_PIXELS // max(per_item, 1))
    return [(start, min(start + size, total)) for start in range(0, total, size)]


class _ToLineIntegrals:
    """Raw chunk → line integrals, per the parameters (normalization and −log, or a copy)."""

    def __init__(self, scan: Scan, params: PreprocessParams, record: dict) -> None:
        self.projections = scan.projections
        self.floor = params.transmission_floor
        self.flat_field: FlatField | None = None
        self.log = scan.values == "counts"
        if self.log and params.normalize:
            self.flat_field = prepare_flat_field(
                scan.flats,
                scan.darks,
                flat_positions=scan.flat_positions,
                average=params.flat_average,
                max_bad_flat_fraction=params.max_bad_flat_fraction,
            )
            record["normalization"] = {
                "flats": int(np.asarray(scan.flats).shape[0]),
                "darks": 0 if scan.darks is None else int(np.asarray(scan.darks).shape[0]),
                "average": params.flat_average,
                "interpolated_flats": self.flat_field.positions is not None,
                "dead_pixels_filled": self.flat_field.n_dead_pixels,
            }
        elif self.log:
            record["normalization"] = "off: counts taken as transmission"
        else:
            record["normalization"] = "skipped: the scan holds line integrals already"

    def __call__(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Line integrals of projections[start:stop] and which of them −log clamped."""
        raw = np.asarray(self.projections[start:stop])
        check_finite(raw, "projections", first_index=start)
        if self.flat_field is not None:
            data = self.flat_field.normalize(raw, np.arange(start, stop))
        else:
            data = np.array(raw, dtype=np.float32, copy=True)  # never a view of the input
        if not self.log:
            return data, None
        clamped = ~(data >= self.floor)
        minus_log(data, self.floor, out=data)
        return data, clamped


def preprocess(
    scan: Scan,
    params: PreprocessParams | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Scan:
    """Turn a scan into float32 line integrals ready for reconstruction.

    Parameters
    ----------
    scan : raw counts (with flats, optionally darks and ``flat_positions``) or line integrals.
        Its arrays are only read.
    params : what to do; defaults to :class:`PreprocessParams`'s defaults.
    progress, cancel : see :mod:`engine.progress`.

    Returns
    -------
    Scan
        ``values="line_integrals"``, float32 projections of the same shape, no flats or darks,
        the rotation axis offset set in the geometry when ``center_of_rotation`` is "auto" or a
        number, and ``metadata["preprocess"]`` recording what was done.

    Raises
    ------
    FathomInputError
        Bad parameters; missing flats for raw counts; flats not brighter than darks; NaN or
        infinite values; a centre of rotation that cannot be found automatically.
    engine.progress.Cancelled
        When ``cancel`` was cancelled; the input is untouched.
    """
    params = params if params is not None else PreprocessParams()
    validate(params)
    n, rows, cols = scan.projections.shape
    record: dict = {"params": to_recipe(params), "steps": []}
    center = params.center_of_rotation
    finding_center = center == "auto"
    rings = params.ring_removal
    bh = params.beam_hardening != (1.0,)
    # progress budget: projection pass, row pass, centre of rotation
    weights = np.array([1.0, 1.0 if (rings or bh) else 0.0, 0.3 if finding_center else 0.0])
    edges = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    checkpoint(cancel, progress, 0.0, "preprocessing")
    if finding_center:  # before the work, not after it
        check_center_finding(scan.geometry.angles_rad, cols)

    to_line_integrals = _ToLineIntegrals(scan, params, record)
    if to_line_integrals.flat_field is not None:
        record["steps"].append("normalize")
    if to_line_integrals.log:
        record["steps"].append("minus_log")
        record["transmission_floor"] = params.transmission_floor

    static = None
    if params.remove_outliers:
        sample = np.unique(np.linspace(0, n - 1, min(n, 24)).astype(int))
        sample_data = np.concatenate([to_line_integrals(i, i + 1)[0] for i in sample])
        static = find_static_defects(sample_data, params.outlier_threshold)
        del sample_data
        record["steps"].append("remove_outliers")

    out = np.empty((n, rows, cols), dtype=np.float32)
    clamped = zingers = 0
    chunks = _chunks(n, rows * cols)
    max_value = -np.inf
    for count, (start, stop) in enumerate(chunks):
        checkpoint(cancel, progress, edges[0] + (edges[1] - edges[0]) * count / len(chunks),
                   "normalizing projections" if to_line_integrals.log else "reading projections")
        if params.remove_outliers:
            lo, hi = max(start - 1, 0), min(stop + 1, n)  # neighbours for the zinger test
            data, clamp_mask = to_line_integrals(lo, hi)
            data, replaced = remove_outliers(data, params.outlier_threshold, static_defects=static)
            inner = slice(start - lo, start - lo + (stop - start))
            zingers += int(replaced[inner].sum()) - int(static.sum()) * (stop - start)
            data = data[inner]
            clamp_mask = None if clamp_mask is None else clamp_mask[inner]
        else:
            data, clamp_mask = to_line_integrals(start, stop)
        if clamp_mask is not None:
            clamped += int(clamp_mask.sum())
        out[start:stop] = data
        max_value = max(max_value, float(data.max()))
    if to_line_integrals.log:
        record["clamped_pixels"] = clamped
    if params.remove_outliers:
        record["static_defects"] = int(static.sum())
        record["zingers_replaced"] = zingers

    if rings or bh:
        if bh:
            check_beam_hardening(params.beam_hardening, max_value)
        row_chunks = _chunks(rows, n * cols)
        parts = np.linspace(edges[1], edges[2], len(row_chunks) + 1)
        for count, (r0, r1) in enumerate(row_chunks):
            part = parts[count]
            checkpoint(cancel, progress, part, "removing rings" if rings else "beam hardening")
            block = out[:, r0:r1, :]
            if rings:
                block = remove_stripes(
                    block, params.ring_filter_width, params.ring_method, cancel=cancel,
                    progress=sub_progress(progress, part, parts[count + 1]),
                )
            if bh:
                block = linearize_beam_hardening(block, params.beam_hardening, out=block)
            out[:, r0:r1, :] = block
        if rings:
            record["steps"].append("ring_removal")
        if bh:
            record["steps"].append("beam_hardening")

    geometry = scan.geometry
    if center != "none":
        if finding_center:
            found = find_center_of_rotation(
                out, geometry.angles_rad, beam=geometry.beam, cancel=cancel,
                progress=sub_progress(progress, edges[2], edges[3]),
            )
            offset_px = found.offset_px
            cor = found.to_dict()
        else:
            offset_px = float(center)
            cor = {"offset_px": offset_px, "method": "given"}
        offset_mm = offset_px_to_mm(offset_px, geometry)
        cor["offset_mm"] = offset_px * geometry.pixel_size_mm[1]
        cor["rotation_axis_offset_mm"] = offset_mm
        record["center_of_rotation"] = cor
        record["steps"].append("center_of_rotation")
        if geometry.vectors_override is None:
            geometry = geometry.with_rotation_axis_offset(offset_mm)
        else:  # per-projection vectors say everything themselves; keep them as given
            cor["applied"] = False
            cor["note"] = "the geometry is given as vectors, so it was left unchanged"

    checkpoint(cancel, progress, 1.0, "preprocessing done")
    metadata = dict(scan.metadata)
    metadata["preprocess"] = record
    return dataclasses.replace(
        scan,
        projections=out,
        values="line_integrals",
        geometry=geometry,
        flats=None,
        darks=None,
        flat_positions=None,
        metadata=metadata,
    )
