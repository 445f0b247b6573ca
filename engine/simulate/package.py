"""A simulated package scan: a small BGA with known defects, as a lab micro-CT would record it.

The phantom is built from analytic shapes (exact line integrals), then "scanned": photons per
pixel, Poisson noise, a dark offset with read noise, averaged flats and darks. Shapes inside a
host carry the difference of attenuation (material − host), since overlapping shapes add.

Attenuation table (1/mm) at an effective energy of 80 keV, from NIST XCOM mass attenuation
coefficients times typical densities (rounded; effective-energy values for a ~130 kV tube with
some filtration):

    mold compound (silica-filled epoxy, 1.9 g/cm³)   0.036
    FR-4 board / substrate core (1.85 g/cm³)          0.033
    silicon (2.33 g/cm³)                              0.046
    copper (8.96 g/cm³)                               0.52
    SAC305 solder (7.4 g/cm³, mostly tin)             1.40

Units: mm; the package sits at the rotation axis, z up (DESIGN.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..geometry import ScanGeometry
from ..progress import CancelToken, ProgressCallback, checkpoint, sub_progress
from ..scan import Scan
from .analytic import Box, Cylinder, Ellipsoid, Shape, project

MU = {"mold": 0.036, "fr4": 0.033, "silicon": 0.046, "copper": 0.52, "solder": 1.40}

BALL_PITCH = 0.5
BALL_RADIUS = 0.16
BALL_Z = -0.55
BUMP_RADIUS = 0.04
BUMP_Z = -0.2


@dataclass(frozen=True)
class Defect:
    kind: str
    center_mm: tuple[float, float, float]
    size_mm: float
    note: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "center_mm": list(self.center_mm), "size_mm": self.size_mm,
                "note": self.note}


def bga_package() -> tuple[list[Shape], list[Defect]]:
    """Shapes and defect list of the demo package (fits a 3.2 mm field of view, 2.2 mm tall)."""
    shapes: list[Shape] = []
    defects: list[Defect] = []
    # board with copper pads
    shapes.append(Box((0, 0, -0.85), (1.05, 1.05, 0.12), MU["fr4"]))
    grid = [-0.75, -0.25, 0.25, 0.75]
    missing = (0.75, 0.75)
    head_in_pillow = (-0.75, -0.25)
    for x in grid:
        for y in grid:
            shapes.append(Cylinder((x, y, -0.715), 0.12, 0.015, MU["copper"]))
            if (x, y) == missing:
                continue
            z = BALL_Z + (0.04 if (x, y) == head_in_pillow else 0.0)
            shapes.append(Ellipsoid((x, y, z), (BALL_RADIUS,) * 3, MU["solder"]))
    defects.append(Defect("missing_ball", (missing[0], missing[1], BALL_Z), 2 * BALL_RADIUS,
                          "no ball on this pad"))
    defects.append(Defect("head_in_pillow", (head_in_pillow[0], head_in_pillow[1], -0.70), 0.04,
                          "0.04 mm gap between ball and pad"))
    # voids in balls
    for center, radius in (((0.29, -0.23, -0.52), 0.06), ((-0.72, 0.78, -0.57), 0.045),
                           ((-0.80, 0.70, -0.50), 0.04)):
        shapes.append(Ellipsoid(center, (radius,) * 3, -MU["solder"]))
        defects.append(Defect("void", center, 2 * radius, "gas void inside a solder ball"))
    # a bridge of solder between two neighbouring balls
    shapes.append(Box((0.0, -0.75, BALL_Z), (0.12, 0.05, 0.05), MU["solder"]))
    defects.append(Defect("bridge", (0.0, -0.75, BALL_Z), 0.1, "solder bridge between two balls"))
    # a stray solder microbead on the board between balls
    bead = (0.5, 0.02, -0.66)
    shapes.append(Ellipsoid(bead, (0.04,) * 3, MU["solder"]))
    defects.append(Defect("microbead", bead, 0.08, "stray solder ball between the balls"))
    # substrate with copper traces and vias
    shapes.append(Box((0, 0, -0.31), (1.0, 1.0, 0.08), MU["fr4"]))
    for k, y in enumerate((-0.6, -0.1, 0.4)):
        shapes.append(Box((0.05 * k, y, -0.30), (0.7, 0.025, 0.012), MU["copper"] - MU["fr4"], 8.0 * k))
    for x, y in ((-0.5, -0.5), (0.5, -0.5), (-0.5, 0.5), (0.0, 0.15)):
        shapes.append(Cylinder((x, y, -0.31), 0.035, 0.08, MU["copper"] - MU["fr4"]))
    # flip-chip bumps between substrate and die, one cracked
    bump_grid = np.linspace(-0.375, 0.375, 6)
    for x in bump_grid:
        for y in bump_grid:
            shapes.append(Ellipsoid((x, y, BUMP_Z), (BUMP_RADIUS,) * 3, MU["solder"] - MU["mold"]))
    cracked = (bump_grid[4], bump_grid[4], BUMP_Z)
    shapes.append(Box(cracked, (0.05, 0.05, 0.012), -(MU["solder"] - MU["mold"])))
    defects.append(Defect("cracked_bump", cracked, 0.024, "horizontal crack through a bump"))
    # die in a mold cap, pin-1 marker on the mold's top corner
    shapes.append(Box((0, 0, 0.1), (0.95, 0.95, 0.33), MU["mold"]))
    shapes.append(Box((0, 0, -0.07), (0.5, 0.5, 0.1), MU["silicon"] - MU["mold"]))
    shapes.append(Cylinder((-0.75, 0.75, 0.40), 0.07, 0.03, MU["copper"] - MU["mold"]))
    defects.append(Defect("pin1_marker", (-0.75, 0.75, 0.40), 0.14, "orientation mark (−x, +y, top)"))
    return shapes, defects


def demo_geometry(n_projections: int = 360) -> ScanGeometry:
    """A lab cone beam: 5× magnification, 160 × 120 pixels of 0.1 mm, full rotation."""
    angles = np.arange(n_projections) * (2 * np.pi / n_projections)
    return ScanGeometry("cone", angles, (120, 160), (0.1, 0.1), 20.0, 100.0)


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


def simulate_package(
    n_projections: int = 360,
    counts: float = 20000,
    seed: int = 0,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> tuple[Scan, dict]:
    """The demo package scanned: a raw-counts Scan and its truth (materials, defects, shapes)."""
    shapes, defects = bga_package()
    geometry = demo_geometry(n_projections)
    checkpoint(cancel, progress, 0.0, "simulating projections")
    ideal = project(shapes, geometry, supersample=(2, 2), progress=sub_progress(progress, 0.0, 0.9))
    checkpoint(cancel, progress, 0.9, "adding noise")
    projections, flats, darks = acquire(ideal, counts, np.random.default_rng(seed))
    truth = {
        "preset": "bga",
        "attenuation_per_mm": MU,
        "defects": [d.to_dict() for d in defects],
        "counts": counts,
        "seed": seed,
        "shapes": [{"type": type(s).__name__, **{k: v for k, v in vars(s).items()}} for s in shapes],
    }
    scan = Scan(projections, geometry, "counts", flats=flats, darks=darks,
                metadata={"source": "Fathom simulator, preset bga"})
    checkpoint(cancel, progress, 1.0, "simulated")
    return scan, truth


def write_simulated(folder: Path, scan: Scan, truth: dict) -> Path:
    """Write a simulated scan folder with its ``truth.json``; returns the scan folder."""
    from ..io import save_json, save_scan_folder

    save_scan_folder(scan, folder)
    save_json(truth, folder / "truth.json")
    return folder


DEMO_VERSION = "demo-bga-v1"


def demo_cache_folder() -> Path:
    base = os.environ.get("FATHOM_CACHE") or os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "fathom" / DEMO_VERSION


def ensure_demo_scan(progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> Path:
    """The demo scan folder, simulated on first use and cached (a complete folder or none)."""
    folder = demo_cache_folder()
    if (folder / "scan.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    scan, truth = simulate_package(progress=progress, cancel=cancel)
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=folder.parent))
    try:
        write_simulated(staging / "scan", scan, truth)
        if not (folder / "scan.json").is_file():  # another process may have won the race
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(staging / "scan", folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
