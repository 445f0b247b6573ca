"""The engine calls the window makes, as plain functions ``job(context, ...)`` for a worker.

Each job takes a :class:`~app.worker.TaskContext` (``progress``, ``cancel``, ``partial``) and
plain values, calls the engine, and returns plain values; none touches Qt, so each is testable
alone. What is shown while a job runs comes back through ``context.partial``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine import __version__
from engine import params as P
from engine.errors import FathomInputError
from engine.fdk import FDKParams, fdk
from engine.geometry import ScanGeometry, VolumeGeometry, default_volume
from engine.io import load_scan, load_volume, save_json, save_volume
from engine.preprocess import PreprocessParams, find_center_of_rotation, offset_px_to_mm, preprocess
from engine.progress import checkpoint, sub_progress
from engine.scan import Scan
from engine.volume import Volume

from .display import robust_levels

try:  # the iterative engine arrives in its own issue; the window works without it
    from engine.iterative import IterativeParams, iterative, prepare_preview

    HAVE_ITERATIVE = True
except ImportError:  # pragma: no cover - depends on the engine version
    IterativeParams = None  # type: ignore[assignment]
    iterative = prepare_preview = None  # type: ignore[assignment]
    HAVE_ITERATIVE = False

MIB = 2**20
GIB = 2**30
# Measured FDK back-projection speed on a 2-core CPU (tests/bench/RESULTS.md), for slab sizing.
_CPU_VOXEL_PROJECTIONS_PER_S = 3e8


# -- memory -----------------------------------------------------------------------------------------
def available_memory() -> int | None:
    """Bytes of memory free now, or None when the system does not say."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


@dataclass(frozen=True)
class MemoryEstimate:
    """What a run needs, in bytes, against what is free."""

    needed: int
    available: int | None
    parts: tuple[tuple[str, int], ...]

    @property
    def fraction(self) -> float:
        return self.needed / self.available if self.available else 0.0

    @property
    def level(self) -> str:
        """"ok", "warning" (over half the free memory) or "error" (over 80 %)."""
        if self.fraction > 0.8:
            return "error"
        return "warning" if self.fraction > 0.5 else "ok"

    def text(self) -> str:
        parts = ", ".join(f"{name} {format_bytes(n)}" for name, n in self.parts)
        free = f" of {format_bytes(self.available)} free" if self.available else ""
        return f"Needs about {format_bytes(self.needed)}{free} ({parts})"


def format_bytes(n: float) -> str:
    if n >= GIB:
        return f"{n / GIB:.1f} GiB"
    if n >= MIB:
        return f"{n / MIB:.0f} MiB"
    return f"{max(n, 0) / 1024:.0f} KiB"


def estimate_memory(scan: Scan, volume: VolumeGeometry, method: str = "fdk") -> MemoryEstimate:
    """Peak memory of preprocessing plus a reconstruction of ``volume`` from ``scan``."""
    projections = int(np.prod(scan.projections.shape)) * 4
    voxels = volume.n_voxels * 4
    parts = [("preprocessed projections", projections), ("volume", voxels)]
    if method == "iterative":
        # image, gradient, momentum, weights and a forward projection: a few volumes + projections
        parts.append(("iterative work arrays", 4 * voxels + 2 * projections))
    else:
        parts.append(("one chunk of projections", min(projections, 256 * MIB)))
    needed = sum(n for _, n in parts)
    return MemoryEstimate(needed, available_memory(), tuple(parts))


def check_memory(estimate: MemoryEstimate) -> None:
    if estimate.level == "error":
        raise FathomInputError(
            f"this run needs about {format_bytes(estimate.needed)} but only "
            f"{format_bytes(estimate.available or 0)} of memory is free: use a larger voxel size "
            "or close other programs"
        )


# -- scans ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScanOverview:
    """What the window shows first of a scan, read in the worker (a large scan is a memory map)."""

    levels: tuple[float, float]  # grey window of the raw values
    row: int  # the detector row with the most structure: the first sinogram shown


def structured_row(projections: np.ndarray) -> int:
    """The detector row with the most structure (a good default sinogram)."""
    n, rows, _ = projections.shape
    sample = np.asarray(projections[np.linspace(0, n - 1, min(n, 8)).astype(int)], dtype=np.float32)
    strength = sample.std(axis=(0, 2))
    return int(np.argmax(strength)) if np.isfinite(strength).all() else rows // 2


def scan_overview(scan: Scan) -> ScanOverview:
    n = scan.n_projections
    levels = robust_levels(np.asarray(scan.projections[:: max(1, n // 16)]))
    return ScanOverview(levels, structured_row(scan.projections))


def load_scan_job(context, path: str) -> tuple[str, Scan, ScanOverview]:
    """Load a scan ("demo" simulates the built-in one the first time) and its overview."""
    if path == "demo":
        from engine.simulate.package import ensure_demo_scan

        path = str(ensure_demo_scan(sub_progress(context.progress, 0.0, 0.9), context.cancel))
    scan = load_scan(path, progress=sub_progress(context.progress, 0.0, 0.95), cancel=context.cancel)
    checkpoint(context.cancel, context.progress, 0.95, "reading an overview")
    overview = scan_overview(scan)
    checkpoint(context.cancel, context.progress, 1.0, "scan loaded")
    return path, scan, overview


def sinogram_job(context, scan: Scan, row: int) -> tuple[int, np.ndarray]:
    """One detector row of every projection (from a memory map: one read per projection)."""
    checkpoint(context.cancel, context.progress, 0.0, "reading the sinogram")
    return row, np.asarray(scan.projections[:, row, :], dtype=np.float32)


def detector_band(geometry: ScanGeometry, z_mm: float, radius_mm: float, margin: int = 3) -> tuple[int, int]:
    """Detector rows [first, stop) that see the slice at height ``z_mm`` within ``radius_mm``."""
    rows = geometry.detector_shape[0]
    pitch = geometry.pixel_size_mm[0]
    off_row = geometry.detector_offset_mm[0]
    if geometry.beam == "cone":
        sod, sdd = float(geometry.source_object_mm), float(geometry.source_detector_mm)
        near = max(sod - radius_mm, 0.1 * sod)
        heights = [-z_mm * sdd / near, -z_mm * sdd / (sod + radius_mm)]
    else:
        heights = [-z_mm, -z_mm]
    index = [(h - off_row) / pitch + (rows - 1) / 2 for h in heights]
    first = max(0, int(math.floor(min(index))) - margin)
    stop = min(rows, int(math.ceil(max(index))) + margin + 1)
    if stop - first < 2 * margin + 1:  # keep a few rows for outlier and ring filters
        centre = (first + stop) // 2
        first, stop = max(0, centre - margin), min(rows, centre + margin + 1)
    return first, stop


def row_height_mm(geometry: ScanGeometry, row: float) -> float:
    """Height z (mm, at the rotation axis) that detector row ``row`` looks at."""
    rows = geometry.detector_shape[0]
    down = (row - (rows - 1) / 2) * geometry.pixel_size_mm[0] + geometry.detector_offset_mm[0]
    return -down / geometry.magnification


def crop_rows(scan: Scan, first: int, stop: int) -> Scan:
    """The scan restricted to detector rows [first, stop), with the geometry moved to match."""
    g = scan.geometry
    if g.vectors_override is not None:
        raise FathomInputError("a scan given as per-projection vectors cannot be previewed by rows")
    rows = g.detector_shape[0]
    shift = ((first + (stop - first - 1) / 2) - (rows - 1) / 2) * g.pixel_size_mm[0]
    geometry = dataclasses.replace(
        g, detector_shape=(stop - first, g.detector_shape[1]),
        detector_offset_mm=(g.detector_offset_mm[0] + shift, g.detector_offset_mm[1]),
    )

    def rows_of(stack):
        return None if stack is None else np.asarray(stack[:, first:stop, :])

    return dataclasses.replace(
        scan, projections=rows_of(scan.projections), flats=rows_of(scan.flats),
        darks=rows_of(scan.darks), geometry=geometry,
    )


def sinogram_preview_job(context, scan: Scan, params: PreprocessParams, row: int) -> dict:
    """Raw and preprocessed sinogram of one detector row (a band of rows is preprocessed)."""
    first, stop = max(0, row - 4), min(scan.detector_shape[0], row + 5)
    band = crop_rows(scan, first, stop)
    prepared = preprocess(band, dataclasses.replace(params, center_of_rotation="none"),
                          progress=context.progress, cancel=context.cancel)
    return {
        "row": row,
        "raw": np.asarray(scan.projections[:, row, :], dtype=np.float32),
        "corrected": prepared.projections[:, row - first, :].copy(),
        "record": prepared.metadata.get("preprocess", {}),
    }


@dataclass
class CentreComparison:
    """Slices reconstructed at a few rotation-axis offsets around the current one."""

    offsets_px: list[float]
    offsets_mm: list[float]
    images: list[np.ndarray]
    z_mm: float
    voxel_size_mm: float
    origin_mm: tuple[float, float]  # (y, x) of pixel (0, 0)
    found: dict = field(default_factory=dict)


def centre_comparison_job(context, scan: Scan, params: PreprocessParams, row: int,
                          step_px: float, voxel_size_mm: float | None = None) -> CentreComparison:
    """Reconstruct the slice that detector row ``row`` sees at centre −step, centre, +step.

    The centre is the form's value: found automatically on the preprocessed band of rows when
    "auto", the scan's own when "none", or the number given (pixels from the detector centre).
    """
    geometry = scan.geometry
    full = default_volume(geometry, voxel_size_mm)
    z_mm = row_height_mm(geometry, row)
    radius = math.hypot(full.shape[1] * full.voxel_size_mm[1], full.shape[2] * full.voxel_size_mm[2]) / 2
    first, stop = detector_band(geometry, z_mm, radius)
    band = crop_rows(scan, first, stop)
    prepared = preprocess(band, dataclasses.replace(params, center_of_rotation="none"),
                          progress=sub_progress(context.progress, 0.0, 0.4), cancel=context.cancel)
    centre = params.center_of_rotation
    found: dict = {}
    if centre == "auto":
        result = find_center_of_rotation(prepared.projections, prepared.geometry.angles_rad,
                                         beam=geometry.beam, cancel=context.cancel,
                                         progress=sub_progress(context.progress, 0.4, 0.6))
        centre_px = result.offset_px
        found = result.to_dict()
    elif centre == "none":
        axis_mm = geometry.rotation_axis_offset_mm - geometry.detector_offset_mm[1]
        centre_px = axis_mm / geometry.pixel_size_mm[1]
    else:
        centre_px = float(centre)
    offsets = [centre_px - step_px, centre_px, centre_px + step_px]
    slice_geometry = VolumeGeometry((1, full.shape[1], full.shape[2]), full.voxel_size_mm,
                                    (z_mm, full.center_mm[1], full.center_mm[2]))
    images, offsets_mm = [], []
    for k, offset in enumerate(offsets):
        mm = offset_px_to_mm(offset, band.geometry)
        trial = dataclasses.replace(prepared, geometry=prepared.geometry.with_rotation_axis_offset(mm))
        volume = fdk(trial, slice_geometry, FDKParams(filter="hann"), cancel=context.cancel,
                     progress=sub_progress(context.progress, 0.6 + 0.4 * k / 3, 0.6 + 0.4 * (k + 1) / 3))
        images.append(np.asarray(volume.data[0]))
        offsets_mm.append(offset * geometry.pixel_size_mm[1])
    origin = slice_geometry.origin_mm
    return CentreComparison(offsets, offsets_mm, images, z_mm, full.voxel_size_mm[2],
                            (origin[1], origin[2]), found)


# -- reconstruction -----------------------------------------------------------------------------------
def prepare_key(scan_id: int, params: PreprocessParams, geometry: ScanGeometry) -> str:
    """What a preprocessed scan depends on: the raw scan, the parameters and the geometry."""
    return json.dumps([scan_id, P.to_recipe(params), geometry.to_dict()], sort_keys=True, default=str)


@dataclass
class RunResult:
    """A finished reconstruction: the volume, the preprocessed scan it came from, the file written."""

    volume: Volume
    prepared: Scan
    prepared_key: str
    output: str | None = None
    levels: tuple[float, float] | None = None  # the default grey window, computed here, not in the GUI


def _slab_order(nz: int, slab: int, first_slice: int | None) -> list[tuple[int, int]]:
    slabs = [(z0, min(z0 + slab, nz)) for z0 in range(0, nz, slab)]
    if first_slice is None:
        return slabs
    k = min(max(first_slice, 0), nz - 1) // slab
    ordered = [slabs[k]]
    for d in range(1, len(slabs)):
        for j in (k + d, k - d):
            if 0 <= j < len(slabs):
                ordered.append(slabs[j])
    return ordered


def _prepare(context, scan: Scan, params: PreprocessParams, prepared: Scan | None, stop: float) -> Scan:
    if prepared is not None:
        return prepared
    return preprocess(scan, params, progress=sub_progress(context.progress, 0.0, stop), cancel=context.cancel)


def base_recipe(scan_path: str, pre_params: PreprocessParams, prepared: Scan, volume: Volume) -> dict:
    """The recipe every output carries, in the layout ``fathom recon`` writes."""
    return {
        "fathom": __version__,
        "scan": str(Path(scan_path).resolve()) if scan_path and scan_path != "memory" else scan_path,
        "method": volume.recipe.get("method"),
        "device": volume.recipe.get("device"),
        "preprocess": P.to_recipe(pre_params),
        "preprocess_result": prepared.metadata.get("preprocess", {}),
        "geometry": prepared.geometry.to_dict(),
        "volume": volume.geometry.to_dict(),
    }


def check_output(output: str | None) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    if not output:
        return
    path = Path(output).expanduser()
    if path.suffix.lower() not in (".tif", ".tiff", ".h5", ".hdf5"):
        raise FathomInputError(f"output {path.name} must end in .tif, .tiff, .h5 or .hdf5")
    if not path.parent.is_dir():
        raise FathomInputError(f"the output folder {path.parent} does not exist: create it or choose another")


def write_output(volume: Volume, output: str, context=None) -> str:
    """Write the volume and OUT.recipe.json beside it, each atomically.

    With a task ``context``, the task commits first: a run cancelled before this point writes
    nothing, and once writing has begun it completes (volume and recipe together).
    """
    check_output(output)
    path = Path(output).expanduser()
    if context is not None:
        context.commit()
    save_volume(volume, path)
    save_json(volume.recipe, path.with_name(path.name + ".recipe.json"))
    return str(path)


def fdk_job(context, scan: Scan, scan_path: str, pre_params: PreprocessParams, fdk_params: FDKParams,
            voxel_size_mm: float | None, prepared: Scan | None, prepared_key: str,
            first_slice: int | None = None, output: str | None = None, device: str = "auto") -> RunResult:
    """Preprocess (unless already done with these parameters), then FDK slab by slab.

    Each finished slab is sent as ``("slab", z0, z1, data, volume_geometry)`` so the window shows
    the volume filling in, starting with the slab of ``first_slice``. The output file, if any,
    is written only once the whole volume is done.
    """
    started = time.perf_counter()
    check_output(output)
    prep_share = 0.0 if prepared is not None else 0.35
    prepared = _prepare(context, scan, pre_params, prepared, prep_share)
    geometry = default_volume(prepared.geometry, voxel_size_mm)
    check_memory(estimate_memory(scan, geometry))
    nz, ny, nx = geometry.shape
    data = np.zeros(geometry.shape, dtype=np.float32)
    context.partial(("start", geometry, prepared))
    seconds = geometry.n_voxels * prepared.n_projections / _CPU_VOXEL_PROJECTIONS_PER_S
    n_slabs = int(np.clip(round(seconds / 0.75), 1, 8))
    slab = max(1, math.ceil(nz / n_slabs))
    order = _slab_order(nz, slab, first_slice)
    done = 0
    recipe: dict = {}
    levels = None
    for z0, z1 in order:
        part = geometry.sub_volume((z0, 0, 0), (z1 - z0, ny, nx))
        lo = prep_share + (1 - prep_share) * 0.97 * done / nz
        hi = prep_share + (1 - prep_share) * 0.97 * (done + z1 - z0) / nz

        def report(fraction: float, message: str, lo=lo, hi=hi, done=done) -> None:
            context.progress(lo + (hi - lo) * fraction, f"FDK: slices {done}/{nz} done; {message}")

        volume = fdk(prepared, part, fdk_params, device=device, progress=report, cancel=context.cancel)
        recipe = volume.recipe
        data[z0:z1] = volume.data
        done += z1 - z0
        if levels is None:
            levels = robust_levels(volume.data)
        context.partial(("slab", z0, z1, data, geometry, levels))
    result = Volume(data, geometry, {"method": recipe.get("method", "fdk"), "device": recipe.get("device")})
    result.recipe = base_recipe(scan_path, pre_params, prepared, result)
    result.recipe.update({"fdk": P.to_recipe(fdk_params), "redundancy": recipe.get("redundancy"),
                          "seconds": round(time.perf_counter() - started, 2)})
    written = None
    if output:
        context.progress(0.98, "writing the volume")
        written = write_output(result, output, context)
    context.progress(1.0, "FDK done")
    return RunResult(result, prepared, prepared_key, written, robust_levels(data))


def iterative_job(context, scan: Scan, scan_path: str, pre_params: PreprocessParams, fdk_params: FDKParams,
                  it_params, voxel_size_mm: float | None, prepared: Scan | None, prepared_key: str,
                  initial: Volume | None = None, output: str | None = None, device: str = "auto",
                  image_interval_s: float = 0.3) -> RunResult:
    """Preprocess if needed, then the iterative engine, sending each iteration as it comes.

    Partial results: ``("start", geometry, prepared)``, then ``("iteration", record, image | None)``
    for every iteration (the image at most every ``image_interval_s``, copied in this thread).
    """
    if not HAVE_ITERATIVE:
        raise FathomInputError("the iterative engine is not part of this version: use FDK")
    started = time.perf_counter()
    check_output(output)
    prep_share = 0.0 if prepared is not None else 0.3
    prepared = _prepare(context, scan, pre_params, prepared, prep_share)
    geometry = default_volume(prepared.geometry, voxel_size_mm)
    if initial is not None and tuple(initial.geometry.shape) != tuple(geometry.shape):
        initial = None
    check_memory(estimate_memory(scan, geometry, "iterative"))
    context.partial(("start", geometry, prepared))
    last_image = [0.0]

    def on_iteration(record, image) -> None:
        now = time.perf_counter()
        picture = None
        if now - last_image[0] >= image_interval_s:
            last_image[0] = now
            picture = np.array(image, dtype=np.float32, copy=True)
        context.partial(("iteration", record, picture))

    volume = iterative(prepared, geometry, it_params, device=device, initial=initial,
                       progress=sub_progress(context.progress, prep_share, 0.97), cancel=context.cancel,
                       on_iteration=on_iteration)
    engine_recipe = dict(volume.recipe)
    volume.recipe = base_recipe(scan_path, pre_params, prepared, volume)
    volume.recipe["method"] = engine_recipe.get("method", "iterative")
    volume.recipe["fdk"] = P.to_recipe(fdk_params)
    for key, value in engine_recipe.items():
        volume.recipe.setdefault(key, value)
    volume.recipe["iterative"] = engine_recipe.get("iterative", P.to_recipe(it_params))
    volume.recipe["seconds"] = round(time.perf_counter() - started, 2)
    written = None
    if output:
        context.progress(0.98, "writing the volume")
        written = write_output(volume, output, context)
    context.progress(1.0, "iterative reconstruction done")
    return RunResult(volume, prepared, prepared_key, written, robust_levels(volume.data))


# -- the two-parameter tuner -------------------------------------------------------------------------
@dataclass
class TunerState:
    """A prepared preview problem and what was computed on it."""

    problem: object
    roi_start: tuple[int, int, int]
    roi_shape: tuple[int, int, int]
    suggestion: object | None = None


def roi_block(volume_shape: Sequence[int], centre_slice: int, rect_px: tuple[int, int, int, int],
              depth: int = 16, max_side: int = 128) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """ROI start and shape (z, y, x) for a rectangle (y0, x0, ny, nx) on axial slice ``centre_slice``."""
    nz, ny, nx = (int(s) for s in volume_shape)
    y0, x0, h, w = (int(round(v)) for v in rect_px)
    y0, x0 = max(0, min(y0, ny - 1)), max(0, min(x0, nx - 1))
    h = max(4, min(h, max_side, ny - y0))
    w = max(4, min(w, max_side, nx - x0))
    y0, x0 = min(y0, ny - h), min(x0, nx - w)
    d = min(depth, nz)
    z0 = int(np.clip(centre_slice - d // 2, 0, nz - d))
    return (z0, max(0, y0), max(0, x0)), (d, h, w)


def tuner_job(context, prepared: Scan, volume: VolumeGeometry, background: Volume | None,
              roi_start: tuple[int, int, int], roi_shape: tuple[int, int, int], state: TunerState | None,
              edge_preservation: float | None, smoothings: Sequence[float] | None = None,
              count: int = 5, iterations: int | None = None, potential: str | None = None,
              guide: str | None = None, image_interval_s: float = 0.3) -> dict:
    """Prepare the ROI problem (if new), propose δ (if ``edge_preservation`` is None), run the strip.

    Sends ``("prepared", state)`` and ``("delta", suggestion)`` as soon as each is known, then
    ``("preview", StripPreview)`` as the strip fills in, its image the ROI's middle slice: each
    preview's first iterate and its result, and the iterates between at most every
    ``image_interval_s``.
    """
    if not HAVE_ITERATIVE:
        raise FathomInputError("the iterative engine is not part of this version: the tuner needs it")
    if state is None or state.roi_start != tuple(roi_start) or state.roi_shape != tuple(roi_shape):
        problem = prepare_preview(prepared, volume, tuple(roi_start), tuple(roi_shape), background=background,
                                  progress=sub_progress(context.progress, 0.0, 0.3), cancel=context.cancel)
        state = TunerState(problem, tuple(roi_start), tuple(roi_shape))
        context.partial(("prepared", state))
    if edge_preservation is None:
        state.suggestion = state.problem.suggest_edge_preservation(
            progress=sub_progress(context.progress, 0.3, 0.45), cancel=context.cancel)
        edge_preservation = float(state.suggestion.delta)
        context.partial(("delta", state.suggestion))
    options = {}
    if iterations is not None:
        options["iterations"] = int(iterations)
    if potential is not None:
        options["potential"] = potential
    if guide is not None:
        options["guide"] = guide
    last_image = [0.0]

    def on_preview(preview) -> None:
        now = time.perf_counter()
        if not (preview.done or preview.iteration == 1) and now - last_image[0] < image_interval_s:
            return
        last_image[0] = now
        middle = np.array(preview.image[preview.image.shape[0] // 2], dtype=np.float32, copy=True)
        context.partial(("preview", dataclasses.replace(preview, image=middle)))

    strip = state.problem.smoothing_strip(float(edge_preservation), smoothings, count,
                                          progress=sub_progress(context.progress, 0.45, 1.0),
                                          cancel=context.cancel, on_preview=on_preview, **options)
    return {"state": state, "strip": strip, "edge_preservation": float(edge_preservation)}


# -- files ------------------------------------------------------------------------------------------------
def save_volume_job(context, volume: Volume, output: str) -> str:
    context.progress(0.0, "writing the volume")
    path = write_output(volume, output, context)
    context.progress(1.0, "written")
    return path


def load_volume_job(context, path: str) -> tuple[Volume, tuple[float, float]]:
    volume = load_volume(path, progress=context.progress, cancel=context.cancel)
    data = np.asarray(volume.data)
    return volume, robust_levels(data)


def recipe_for(method: str, pre_params: PreprocessParams, fdk_params: FDKParams, it_params=None) -> dict:
    """A recipe file's content: what ``fathom recon --recipe`` reads (same keys as it writes)."""
    recipe = {"fathom": __version__, "method": method, "preprocess": P.to_recipe(pre_params),
              "fdk": P.to_recipe(fdk_params)}
    if it_params is not None:
        recipe["iterative"] = P.to_recipe(it_params)
    return recipe


def preprocess_job(context, scan: Scan, params: PreprocessParams, key: str) -> tuple[Scan, str]:
    """The whole scan preprocessed (kept by the session for every reconstruction after it)."""
    prepared = preprocess(scan, params, progress=context.progress, cancel=context.cancel)
    return prepared, key
