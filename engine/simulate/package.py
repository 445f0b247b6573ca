"""Simulated package scans: a small BGA with known defects, as a lab micro-CT would record it.

Two presets. ``bga`` is the built-in demo: a flip-chip package on a board, scanned in a cone
beam over a full turn. ``bga2d`` is the classic inspection of one ball plane: a 16 × 16 ball
array with one stray microbead, as a parallel-beam sinogram (one detector row, 363 pixels,
256 angles over 180°). Each phantom is built from analytic shapes (exact line integrals), then
"scanned": photons per pixel, Poisson noise, a dark offset with read noise, averaged flats and
darks. Shapes inside a host carry the difference of attenuation (material − host), since
overlapping shapes add; no two shapes of the same material overlap, so the truth volume holds
only the materials below.

Attenuation table (1/mm) at an effective energy of 80 keV, from NIST XCOM mass attenuation
coefficients times typical densities (rounded; effective-energy values for a ~130 kV tube with
some filtration):

    mold compound (silica-filled epoxy, 1.9 g/cm³)   0.036
    FR-4 board / substrate core (1.85 g/cm³)          0.033
    silicon (2.33 g/cm³)                              0.046
    copper (8.96 g/cm³)                               0.52
    SAC305 solder (7.4 g/cm³, mostly tin)             1.40

What the demo is sized for: every defect is at least two voxels (0.02 mm) across in its
thinnest direction, so FDK from 720 projections shows each with a contrast-to-noise of 3 or
more (``tests/engine/test_demo.py``). Physics puts limits on what a scan can show, and the
preset stays inside them: a defect thinner than a voxel (a closed crack, a head-in-pillow gap
of a few µm) is seen only through partial volume, its contrast scaled by thickness/voxel, and
the detector's pixel blur (about a voxel) halves it again, so a 5 µm crack in solder at 20 µm
voxels is invisible under noise; a void smaller than the blur likewise loses its contrast. The
demo's crack is therefore an opened crack 40 µm thick and its head-in-pillow gap 50 µm. The
die-to-mold contrast (0.010/mm) is real and small: it is where noise reduction shows.

Truth: every preset writes ``truth.json`` (materials, defects with centre and extent in mm,
shapes) and ``truth.tif``, the phantom voxelized (4 × 4 × 4 points per voxel) on the scan's
default volume grid, attenuation in 1/mm. :func:`quality_regions` names the places where the
benchmark and the tests measure SNR and edge width, so they all measure in the same spots.

Units: mm; the package sits at the rotation axis, z up (DESIGN.md). Centres and extents of
shapes and defects are (x, y, z); volume indices are (z, y, x).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FathomInputError
from ..geometry import ScanGeometry, VolumeGeometry, default_volume
from ..progress import CancelToken, ProgressCallback, checkpoint, sub_progress
from ..scan import Scan
from ..volume import Volume
from .analytic import Box, Cylinder, Ellipsoid, Shape, project, voxelize

MU = {"mold": 0.036, "fr4": 0.033, "silicon": 0.046, "copper": 0.52, "solder": 1.40}

# the demo package's stack, bottom to top (z in mm)
BALL_PITCH = 0.5
BALL_RADIUS = 0.16
PAD_TOP = -0.71
BALL_Z = PAD_TOP + BALL_RADIUS  # balls sit on their pads
HEAD_IN_PILLOW_GAP = 0.05
SUBSTRATE_TOP = -0.23
BUMP_RADIUS = 0.06
BUMP_Z = SUBSTRATE_TOP + BUMP_RADIUS
DIE = ((0.0, 0.0, BUMP_Z + BUMP_RADIUS + 0.1), (0.5, 0.5, 0.1))  # centre, half size: bumps carry it
MOLD = ((0.0, 0.0, 0.1), (0.95, 0.95, 0.33))

DEMO_PROJECTIONS = 720
MAX_COUNTS = 60000.0  # photons per pixel in air that a 16-bit detector with its dark offset holds
TRUTH_SUPERSAMPLE = 4


@dataclass(frozen=True)
class Defect:
    """One defect of a phantom and how to measure its visibility.

    ``center_mm`` and ``extent_mm`` (semi-axes of the ellipsoid the defect fills) are (x, y, z);
    ``size_mm`` is its characteristic size (diameter, or thickness of a flat defect). The
    contrast is judged against the ``host_mu`` material around it or, for a defect that is an
    absence (a missing ball, a gap), against the same region at ``reference_mm`` where the part
    is intact (see :func:`engine.metrics.defect_regions`).
    """

    kind: str
    center_mm: tuple[float, float, float]
    size_mm: float
    note: str
    extent_mm: tuple[float, float, float] | None = None
    host_mu: float | None = None
    reference_mm: tuple[float, float, float] | None = None

    def to_dict(self) -> dict:
        extent = self.extent_mm or (self.size_mm / 2,) * 3
        d = {"kind": self.kind, "center_mm": [float(c) for c in self.center_mm],
             "size_mm": self.size_mm, "extent_mm": [float(e) for e in extent], "note": self.note}
        if self.host_mu is not None:
            d["host_mu"] = self.host_mu
        if self.reference_mm is not None:
            d["reference_mm"] = [float(c) for c in self.reference_mm]
        return d


def bga_package() -> tuple[list[Shape], list[Defect]]:
    """Shapes and defect list of the demo package (fits a 3.2 mm field of view, 2.2 mm tall)."""
    shapes: list[Shape] = []
    defects: list[Defect] = []
    solder, copper, mold = MU["solder"], MU["copper"], MU["mold"]
    # board with copper pads
    shapes.append(Box((0, 0, -0.85), (1.05, 1.05, 0.12), MU["fr4"]))
    grid = [-0.75, -0.25, 0.25, 0.75]
    missing = (0.75, 0.75)
    head_in_pillow = (-0.75, -0.25)
    for x in grid:
        for y in grid:
            shapes.append(Cylinder((x, y, PAD_TOP - 0.01), 0.12, 0.01, copper))
            if (x, y) == missing:
                continue
            if (x, y) == head_in_pillow:  # the ball stays on the substrate, short of its pad
                half = HEAD_IN_PILLOW_GAP / 2
                shapes.append(Ellipsoid((x, y, BALL_Z + half), (BALL_RADIUS, BALL_RADIUS, BALL_RADIUS - half),
                                        solder))
            else:
                shapes.append(Ellipsoid((x, y, BALL_Z), (BALL_RADIUS,) * 3, solder))
    defects.append(Defect("missing_ball", (*missing, BALL_Z), 2 * BALL_RADIUS, "no ball on this pad",
                          extent_mm=(0.12, 0.12, 0.12), reference_mm=(0.75, 0.25, BALL_Z)))
    gap_z = PAD_TOP + HEAD_IN_PILLOW_GAP / 2
    defects.append(Defect("head_in_pillow", (*head_in_pillow, gap_z), HEAD_IN_PILLOW_GAP,
                          f"{HEAD_IN_PILLOW_GAP} mm gap between ball and pad",
                          extent_mm=(0.05, 0.05, HEAD_IN_PILLOW_GAP / 2 - 0.005),
                          reference_mm=(-0.75, 0.25, gap_z)))
    # voids in balls
    for center, radius in (((0.29, -0.23, BALL_Z + 0.03), 0.06),
                           ((-0.72, 0.78, BALL_Z - 0.02), 0.045),
                           ((-0.80, 0.70, BALL_Z + 0.05), 0.04)):
        shapes.append(Ellipsoid(center, (radius,) * 3, -solder))
        defects.append(Defect("void", center, 2 * radius, "gas void inside a solder ball", host_mu=solder))
    # a solder bridge between two neighbouring balls: it ends where the balls begin, so no solder
    # is counted twice
    reach = BALL_PITCH / 2 - BALL_RADIUS
    shapes.append(Box((0.0, -0.75, BALL_Z), (reach, 0.05, 0.05), solder))
    defects.append(Defect("bridge", (0.0, -0.75, BALL_Z), 0.1, "solder bridge between two balls",
                          extent_mm=(reach, 0.05, 0.05), host_mu=0.0))
    # a stray solder microbead resting on the board between the balls
    bead = (0.5, 0.02, PAD_TOP - 0.02 + 0.04)
    shapes.append(Ellipsoid(bead, (0.04,) * 3, solder))
    defects.append(Defect("microbead", bead, 0.08, "stray solder ball between the balls", host_mu=0.0))
    # substrate with copper traces and vias
    shapes.append(Box((0, 0, SUBSTRATE_TOP - 0.08), (1.0, 1.0, 0.08), MU["fr4"]))
    for k, y in enumerate((-0.6, -0.1, 0.4)):
        shapes.append(Box((0.05 * k, y, SUBSTRATE_TOP - 0.07), (0.7, 0.025, 0.012),
                          copper - MU["fr4"], 8.0 * k))
    for x, y in ((-0.5, -0.5), (0.5, -0.5), (-0.5, 0.5), (0.0, 0.15)):
        shapes.append(Cylinder((x, y, SUBSTRATE_TOP - 0.08), 0.035, 0.08, copper - MU["fr4"]))
    # flip-chip bumps between substrate and die, one with an opened horizontal crack (air)
    bump_grid = np.linspace(-0.375, 0.375, 6)
    for x in bump_grid:
        for y in bump_grid:
            shapes.append(Ellipsoid((x, y, BUMP_Z), (BUMP_RADIUS,) * 3, solder - mold))
    cracked = (float(bump_grid[4]), float(bump_grid[4]), BUMP_Z)
    crack = (0.05, 0.05, 0.02)  # inside the bump: 0.05² + 0.02² < 0.06²
    shapes.append(Ellipsoid(cracked, crack, -solder))
    defects.append(Defect("cracked_bump", cracked, 2 * crack[2], "horizontal crack through a bump",
                          extent_mm=crack, reference_mm=(float(bump_grid[3]), float(bump_grid[4]), BUMP_Z)))
    # die in a mold cap, pin-1 marker on the mold's top corner
    shapes.append(Box(*MOLD, mold))
    shapes.append(Box(*DIE, MU["silicon"] - mold))
    mold_top = MOLD[0][2] + MOLD[1][2]
    marker = (-0.75, 0.75, mold_top - 0.03)
    shapes.append(Cylinder(marker, 0.07, 0.03, copper - mold))
    defects.append(Defect("pin1_marker", marker, 0.14, "orientation mark (−x, +y, top)",
                          extent_mm=(0.07, 0.07, 0.03), host_mu=mold))
    return shapes, defects


def demo_geometry(n_projections: int = DEMO_PROJECTIONS) -> ScanGeometry:
    """A lab cone beam: 5× magnification, 160 × 120 pixels of 0.1 mm, full rotation."""
    angles = np.arange(n_projections) * (2 * np.pi / n_projections)
    return ScanGeometry("cone", angles, (120, 160), (0.1, 0.1), 20.0, 100.0)


BGA2D_PITCH = 0.5
BGA2D_BALL_RADIUS = 0.15


def bga_plane() -> tuple[list[Shape], list[Defect]]:
    """One ball plane of a 16 × 16 BGA (0.5 mm pitch, 0.3 mm balls) with one stray microbead.

    Upright cylinders, so that every plane near z = 0 is the same 2D slice.
    """
    height = 1.0
    positions = (np.arange(16) - 7.5) * BGA2D_PITCH
    shapes: list[Shape] = [Cylinder((float(x), float(y), 0.0), BGA2D_BALL_RADIUS, height, MU["solder"])
                           for x in positions for y in positions]
    bead = (1.0, -0.5, 0.0)  # between four balls
    shapes.append(Cylinder(bead, 0.05, height, MU["solder"]))
    defects = [Defect("microbead", bead, 0.1, "stray solder ball between the balls",
                      extent_mm=(0.05, 0.05, height), host_mu=0.0)]
    return shapes, defects


def bga2d_geometry(n_projections: int = 256) -> ScanGeometry:
    """Parallel beam, one detector row of 363 pixels of 0.035 mm, angles from −π/2 over π."""
    angles = -np.pi / 2 + np.arange(n_projections) * (np.pi / n_projections)
    return ScanGeometry("parallel", angles, (1, 363), (0.035, 0.035))


@dataclass(frozen=True)
class Preset:
    """A simulated scan recipe: the phantom, the scanner, and the defaults of the exposure."""

    name: str
    description: str
    phantom: Callable[[], tuple[list[Shape], list[Defect]]]
    geometry: Callable[[int], ScanGeometry]
    n_projections: int
    counts: float
    supersample: tuple[int, int] = (2, 2)


PRESETS = {
    "bga": Preset("bga", "flip-chip BGA package with defects, cone beam, full turn",
                  bga_package, demo_geometry, DEMO_PROJECTIONS, 20000),
    "bga2d": Preset("bga2d", "one ball plane of a 16×16 BGA with a stray microbead, parallel-beam sinogram",
                    bga_plane, bga2d_geometry, 256, 50000, supersample=(1, 4)),
}


@dataclass(frozen=True, eq=False)
class SimulatedScan:
    """A simulated raw scan, its truth (JSON-ready dict) and the voxelized truth volume."""

    scan: Scan
    truth: dict
    truth_volume: Volume | None


def acquire(
    line_integrals: np.ndarray,
    counts: float,
    rng: np.random.Generator,
    dark_level: float = 100.0,
    read_noise: float = 3.0,
    n_flats: int = 8,
    n_darks: int = 8,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw detector frames (projections, flats, darks) as uint16 counts with Poisson and read noise."""
    shape = line_integrals.shape[1:]

    def frame(expected):
        signal = rng.poisson(expected).astype(np.float64)
        signal += dark_level + rng.normal(0, read_noise, signal.shape)
        return np.clip(np.rint(signal), 0, 65535).astype(np.uint16)

    projections = np.stack([frame(counts * np.exp(-p)) for p in line_integrals])
    flats = np.stack([frame(np.full(shape, counts)) for _ in range(n_flats)])
    darks = np.stack([frame(np.zeros(shape)) for _ in range(n_darks)])
    return projections, flats, darks


def truth_volume(shapes: list[Shape], geometry: ScanGeometry, supersample: int = TRUTH_SUPERSAMPLE) -> Volume:
    """The phantom voxelized on the default volume grid of ``geometry`` (attenuation, 1/mm)."""
    grid = default_volume(geometry)
    data = voxelize(shapes, grid, supersample=supersample)
    recipe = {"truth": "analytic phantom, mean attenuation over each voxel",
              "supersample": [supersample] * 3}
    return Volume(data, grid, recipe)


def simulate_preset(
    name: str = "bga",
    n_projections: int | None = None,
    counts: float | None = None,
    seed: int = 0,
    *,
    with_truth_volume: bool = True,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> SimulatedScan:
    """Scan a preset phantom: raw counts with flats and darks, and its truth.

    Parameters
    ----------
    name : a key of :data:`PRESETS` ("bga", "bga2d").
    n_projections, counts : projections over the preset's angular range, and photons per
        pixel in air; None takes the preset's defaults (bga: 720 and 20000; bga2d: 256 and 50000).
    seed : seed of the noise.
    with_truth_volume : also voxelize the phantom on the scan's default volume grid.
    progress, cancel : see :mod:`engine.progress`.
    """
    if name not in PRESETS:
        raise FathomInputError(f"unknown preset {name!r}: use one of {', '.join(PRESETS)}")
    preset = PRESETS[name]
    n_projections = preset.n_projections if n_projections is None else int(n_projections)
    counts = preset.counts if counts is None else float(counts)
    if n_projections < 2 or not 0 < counts <= MAX_COUNTS:
        raise FathomInputError(
            f"the number of projections must be at least 2 and counts from 1 to {MAX_COUNTS:.0f} "
            "(the simulated detector is 16-bit: more would saturate it)"
        )
    shapes, defects = preset.phantom()
    geometry = preset.geometry(n_projections)
    checkpoint(cancel, progress, 0.0, "simulating projections")
    ideal = project(shapes, geometry, supersample=preset.supersample,
                    progress=sub_progress(progress, 0.0, 0.6))
    checkpoint(cancel, progress, 0.6, "adding noise")
    projections, flats, darks = acquire(ideal, counts, np.random.default_rng(seed))
    volume = None
    if with_truth_volume:
        checkpoint(cancel, progress, 0.9, "voxelizing the truth")
        volume = truth_volume(shapes, geometry)
    grid = default_volume(geometry)
    truth = {
        "preset": name,
        "description": preset.description,
        "coordinates": "center_mm, extent_mm, reference_mm are (x, y, z) in mm, world frame of "
                       "DESIGN.md; center_voxel is (z, y, x) on the truth volume grid",
        "attenuation_per_mm": MU,
        "defects": [_defect_entry(d, grid) for d in defects],
        "counts": counts,
        "seed": seed,
        "projections": n_projections,
        "detector_supersample": list(preset.supersample),
        "shapes": [{"type": type(s).__name__, **vars(s)} for s in shapes],
    }
    scan = Scan(projections, geometry, "counts", flats=flats, darks=darks,
                metadata={"source": f"Fathom simulator, preset {name}"})
    checkpoint(cancel, progress, 1.0, "simulated")
    return SimulatedScan(scan, truth, volume)


def _defect_entry(defect: Defect, grid: VolumeGeometry) -> dict:
    entry = defect.to_dict()
    x, y, z = defect.center_mm
    index = [(c - o) / v for c, o, v in zip((z, y, x), grid.origin_mm, grid.voxel_size_mm, strict=True)]
    entry["center_voxel"] = [round(i, 2) for i in index]
    return entry


def simulate_package(
    n_projections: int = DEMO_PROJECTIONS,
    counts: float = 20000,
    seed: int = 0,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> tuple[Scan, dict]:
    """The demo package scanned: a raw-counts Scan and its truth (materials, defects, shapes)."""
    simulated = simulate_preset("bga", n_projections, counts, seed, with_truth_volume=False,
                                progress=progress, cancel=cancel)
    return simulated.scan, simulated.truth


def write_simulated(folder: Path, scan: Scan, truth: dict, volume: Volume | None = None) -> Path:
    """Write a simulated scan folder with ``truth.json`` (and ``truth.tif``); returns the folder."""
    from ..io import save_json, save_scan_folder, save_volume

    folder = Path(folder)
    save_scan_folder(scan, folder)
    truth = dict(truth)
    if volume is not None:
        save_volume(volume, folder / "truth.tif")
        truth["truth_volume"] = {
            "file": "truth.tif",
            "values": "attenuation in 1/mm, the mean over each voxel "
                      f"({'×'.join(str(s) for s in volume.recipe.get('supersample', []))} points)",
            "grid": volume.geometry.to_dict(),
            "note": "the default volume of the scan (fathom recon SCAN with --center-of-rotation none "
                    "reconstructs on this grid)",
        }
    save_json(truth, folder / "truth.json")
    return folder


def quality_regions(volume: VolumeGeometry) -> dict:
    """Where to measure image quality in a volume of the ``bga`` package, in voxel indices.

    Boxes are ``(z0, y0, x0, nz, ny, nx)`` (the form of ``fathom metrics --roi-a``), clipped to
    the volume; each lies at least two voxels of 20 µm inside its material:

    * ``die``: the silicon die's interior; ``mold``: mold compound above the die; ``air``:
      air above the package (inside the field of view).
    * ``edges``: name → ``{"box", "axis", "start", "end"}``: an edge crossing the middle of
      ``box`` along ``axis`` (0 = z, 1 = y, 2 = x); average the box over its other two axes for
      a low-noise profile (:func:`engine.metrics.box_profile`), or sample the single line
      ``start`` → ``end`` (voxel indices (z, y, x), the box's centre line). ``die_mold_side`` and
      ``die_mold_top`` cross the die's side and top faces (silicon → mold); ``mold_air_side``
      and ``mold_air_top`` cross the mold cap's side and top faces (mold → air).

    How robust each edge is: the die/mold contrast is only 0.010/mm, and on the die's side
    face the averaging runs along ring artifacts and FDK's in-plane correlated noise, so in
    FDK of the demo ``die_mold_side`` came out anywhere from 1.0 to 2.0 voxels on the die's
    four faces (1.0 without noise); the horizontal ``die_mold_top`` averages across rings and
    stayed within 0.9–1.25 voxels (with and without noise, ring removal, 180 to 720
    projections), and the higher-contrast mold/air edges are as stable. Prefer those for
    pass/fail tests. ``mold_air_top`` is wide even without noise (2.6 voxels from 720
    noiseless projections): a flat face 0.43 mm above the source plane of a circular cone-beam
    scan is smeared by FDK.

    Raises
    ------
    FathomInputError
        If a region lies wholly outside ``volume``.
    """
    (dx, dy, dz), (hx, hy, hz) = DIE
    (mx, my, mz), (mhx, mhy, mhz) = MOLD
    die_top, mold_top, mold_side = dz + hz, mz + mhz, mx + mhx
    # world boxes as ((x0, x1), (y0, y1), (z0, z1)) in mm
    regions = {
        "die": ((-0.4, 0.4), (-0.4, 0.4), (dz - hz + 0.04, die_top - 0.04)),
        "mold": ((-0.4, 0.4), (-0.4, 0.4), (die_top + 0.06, mold_top - 0.06)),
        "air": ((-0.4, 0.4), (-0.4, 0.4), (mold_top + 0.12, mold_top + 0.42)),
    }
    edges = {
        "die_mold_side": (((dx + hx - 0.15, dx + hx + 0.15), (-0.42, 0.42), (dz - 0.07, dz + 0.07)), 2),
        "die_mold_top": (((-0.3, 0.3), (-0.3, 0.3), (die_top - 0.14, die_top + 0.14)), 0),
        "mold_air_side": (((mold_side - 0.14, mold_side + 0.14), (-0.3, 0.3), (0.15, 0.35)), 2),
        "mold_air_top": (((-0.3, 0.3), (-0.3, 0.3), (mold_top - 0.14, mold_top + 0.14)), 0),
    }
    out: dict = {name: _voxel_box(volume, name, box) for name, box in regions.items()}
    out["edges"] = {}
    for name, (box, axis) in edges.items():
        voxels = _voxel_box(volume, name, box)
        start = [b + (n - 1) / 2 for b, n in zip(voxels[:3], voxels[3:], strict=True)]
        end = list(start)
        start[axis] = float(voxels[axis])
        end[axis] = float(voxels[axis] + voxels[3 + axis] - 1)
        out["edges"][name] = {"box": voxels, "axis": axis, "start": tuple(start), "end": tuple(end)}
    return out


def measure_package(data: np.ndarray, geometry: VolumeGeometry) -> dict:
    """Image quality of a ``bga`` volume at :func:`quality_regions`: the numbers of Table 1.

    Parameters
    ----------
    data : the volume (z, y, x), attenuation in 1/mm, on ``geometry``.
    geometry : its grid (any grid that holds the regions: the default volume, or a larger one).

    Returns
    -------
    dict with ``snr_die_mold`` and ``snr_mold_air`` (ZEISS SNR of the die against the mold and
    of the mold against air) and ``edge_width_voxels``: name → 10–90 % width of each edge of
    :func:`quality_regions` (``nan`` where no edge can be fitted: noise swamped it).
    """
    from ..metrics import box_profile, box_values, fit_edge, snr

    regions = quality_regions(geometry)
    die, mold, air = (box_values(data, regions[name]) for name in ("die", "mold", "air"))
    widths = {}
    for name, edge in regions["edges"].items():
        positions, values = box_profile(data, edge["box"], edge["axis"])
        try:
            widths[name] = fit_edge(values, positions).width
        except FathomInputError:
            widths[name] = float("nan")
    return {"snr_die_mold": snr(die, mold), "snr_mold_air": snr(mold, air), "edge_width_voxels": widths}


def _voxel_box(volume: VolumeGeometry, name: str, box_xyz) -> tuple[int, int, int, int, int, int]:
    """Voxel block (z0, y0, x0, nz, ny, nx) of the voxel centres inside a world box, clipped."""
    start, size = [], []
    for axis, (low, high) in zip((0, 1, 2), (box_xyz[2], box_xyz[1], box_xyz[0]), strict=True):
        origin, pitch, n = volume.origin_mm[axis], volume.voxel_size_mm[axis], volume.shape[axis]
        first = max(int(np.ceil((low - origin) / pitch - 1e-9)), 0)
        last = min(int(np.floor((high - origin) / pitch + 1e-9)), n - 1)
        if last < first:
            raise FathomInputError(
                f"the quality region {name!r} of the package lies outside the volume {volume.shape}: "
                "measure on the full default volume of the package scan"
            )
        start.append(first)
        size.append(last - first + 1)
    return (*start, *size)


DEMO_VERSION = "demo-bga-v2"


def demo_cache_folder() -> Path:
    base = os.environ.get("FATHOM_CACHE") or os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "fathom" / DEMO_VERSION


def ensure_demo_scan(progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> Path:
    """The demo scan folder, simulated on first use and cached (a complete folder or none).

    The folder holds the scan (720 projections), ``truth.json`` and ``truth.tif``.
    """
    folder = demo_cache_folder()
    if (folder / "scan.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    simulated = simulate_preset("bga", progress=progress, cancel=cancel)
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=folder.parent))
    try:
        write_simulated(staging / "scan", simulated.scan, simulated.truth, simulated.truth_volume)
        if not (folder / "scan.json").is_file():  # another process may have won the race
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(staging / "scan", folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
