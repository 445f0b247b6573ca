"""Simulated package scans: small packages with known defects, as a lab micro-CT would record them.

Three presets. ``bga`` is the built-in demo: a flip-chip package on a board, scanned in a cone
beam over a full turn. ``stack`` is a 2.5D package in the same scanner (a logic die and a
three-die memory stack on a silicon interposer with TSVs, microbumps and C4 bumps): other
shapes, other materials (underfill, die-attach film) and other defects than the demo's, to
check that what was tuned on the demo holds on a package it was not tuned on. ``bga2d`` is the
classic inspection of one ball plane: a 16 × 16 ball array with one stray microbead, as a
parallel-beam sinogram (one detector row, 363 pixels, 256 angles over 180°). Each phantom is
built from analytic shapes (exact line integrals), then "scanned": photons per pixel, Poisson
noise, a dark offset with read noise, averaged flats and darks. Shapes inside a host carry the
difference of attenuation (material − host), since overlapping shapes add; no two shapes of
the same material overlap, so the truth volume holds only the materials below.

Attenuation table (1/mm) at an effective energy of 80 keV, from NIST XCOM mass attenuation
coefficients times typical densities (rounded; effective-energy values for a ~130 kV tube with
some filtration):

    mold compound (silica-filled epoxy, 1.9 g/cm³)   0.036
    FR-4 board / substrate core (1.85 g/cm³)          0.033
    silicon (2.33 g/cm³)                              0.046
    copper (8.96 g/cm³)                               0.52
    SAC305 solder (7.4 g/cm³, mostly tin)             1.40
    underfill / die-attach film (less filler, 1.6 g/cm³) 0.030

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

MU = {"mold": 0.036, "fr4": 0.033, "silicon": 0.046, "copper": 0.52, "solder": 1.40, "underfill": 0.030}

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


# the stack package (2.5D): a logic die and a three-die memory stack on a silicon interposer
STACK_SUBSTRATE = ((0.0, 0.0, -0.82), (1.05, 1.05, 0.10))
C4_RADIUS = 0.09
C4_Z = -0.72 + C4_RADIUS  # C4 bumps sit on the substrate and carry the interposer
INTERPOSER = ((0.0, 0.0, -0.44), (0.95, 0.95, 0.10))
TSV_RADIUS = 0.04
MICROBUMP_Z = -0.30  # the underfill layer between the interposer (top −0.34) and the dies (−0.26)
MICROBUMP = (0.035, 0.035, 0.04)
LOGIC_DIE = ((-0.42, 0.0, -0.16), (0.34, 0.55, 0.10))
MEMORY_X, MEMORY_HALF = 0.46, (0.34, 0.50)
MEMORY_DIE_Z = (-0.22, -0.08, 0.06)  # centres of the three 0.08 mm dies, 0.06 mm of die-attach between
MEMORY_DIE_HALF = 0.04
STACK_MOLD = ((0.0, 0.0, -0.07), (0.95, 0.95, 0.27))


def stack_package() -> tuple[list[Shape], list[Defect]]:
    """Shapes and defect list of the 2.5D stack (fits the demo scanner's field of view).

    Bottom to top: an organic substrate; 4 × 4 C4 bumps (0.18 mm); a silicon interposer with a
    copper through-silicon via (TSV, 0.08 mm) above each bump; a 0.08 mm underfill layer with
    microbumps; a logic die beside a memory stack of three thin dies joined by die-attach film
    and solder columns; a mold cap over both. Its defects differ from the demo's: a TSV whose
    copper stops short of the bottom, a void in a C4 bump, a bridge and a non-wet joint among
    the microbumps, a crack opening from the logic die's edge, and a delamination of the
    memory stack's upper die-attach layer. The last two are low-contrast absences (silicon or
    film against air, 0.03–0.05/mm), the kind a regularizer can smooth away.
    """
    shapes: list[Shape] = []
    defects: list[Defect] = []
    solder, copper, silicon, mold, underfill = (MU[k] for k in ("solder", "copper", "silicon", "mold",
                                                                "underfill"))
    shapes.append(Box(*STACK_SUBSTRATE, MU["fr4"]))
    for k, y in enumerate((-0.4, 0.0, 0.4)):
        shapes.append(Box((0.05 * k, y, -0.76), (0.8, 0.02, 0.012), copper - MU["fr4"], 6.0 * k))
    # C4 bumps, each under a TSV of the interposer
    grid = (-0.6, -0.2, 0.2, 0.6)
    short_tsv, intact_tsv = (-0.2, 0.6), (0.2, 0.6)
    short = 0.06  # the missing bottom of the short TSV
    shapes.append(Box(*INTERPOSER, silicon))
    (_, _, iz), (_, _, ihz) = INTERPOSER
    for x in grid:
        for y in grid:
            shapes.append(Ellipsoid((x, y, C4_Z), (C4_RADIUS,) * 3, solder))
            if (x, y) == short_tsv:  # copper from the top down, stopping short of the bottom
                shapes.append(Cylinder((x, y, iz + short / 2), TSV_RADIUS, ihz - short / 2, copper - silicon))
                shapes.append(Cylinder((x, y, iz - ihz + short / 2), TSV_RADIUS, short / 2, -silicon))
            else:
                shapes.append(Cylinder((x, y, iz), TSV_RADIUS, ihz, copper - silicon))
    bottom = iz - ihz + short / 2
    defects.append(Defect("tsv_void", (*short_tsv, bottom), short, "TSV copper stops short of the bottom",
                          extent_mm=(TSV_RADIUS, TSV_RADIUS, short / 2), reference_mm=(*intact_tsv, bottom)))
    center, radius = (0.22, -0.59, C4_Z + 0.02), 0.04  # off the centre of the bump at (0.2, −0.6)
    shapes.append(Ellipsoid(center, (radius,) * 3, -solder))
    defects.append(Defect("void", center, 2 * radius, "gas void inside a C4 bump", host_mu=solder))
    # mold cap over the dies; underfill under each die, a fillet wider than the die
    shapes.append(Box(*STACK_MOLD, mold))
    (lx, _, _), (lhx, lhy, _) = LOGIC_DIE
    underfills = (((lx, 0.0, MICROBUMP_Z), (lhx + 0.06, lhy + 0.05, 0.04)),
                  ((MEMORY_X, 0.0, MICROBUMP_Z), (MEMORY_HALF[0] + 0.04, MEMORY_HALF[1] + 0.05, 0.04)))
    for box in underfills:
        shapes.append(Box(*box, underfill - mold))
    # microbumps: a 5 × 7 array under each die; under the logic die one bridge and one non-wet joint
    rows = np.round(np.arange(-3, 4) * 0.14, 2)
    logic_columns = np.round(lx + np.arange(-2, 3) * 0.14, 2)
    memory_columns = np.round(MEMORY_X + np.arange(-2, 3) * 0.14, 2)
    non_wet, gap = (-0.28, -0.14), 0.04
    for columns in (logic_columns, memory_columns):
        for x in columns:
            for y in rows:
                if (float(x), float(y)) == non_wet:  # the bump hangs from the die, short of its pad
                    half = gap / 2
                    shapes.append(Ellipsoid((x, y, MICROBUMP_Z + half), (*MICROBUMP[:2], MICROBUMP[2] - half),
                                            solder - underfill))
                else:
                    shapes.append(Ellipsoid((x, y, MICROBUMP_Z), MICROBUMP, solder - underfill))
    gap_z = MICROBUMP_Z - MICROBUMP[2] + gap / 2
    defects.append(Defect("non_wet", (*non_wet, gap_z), gap, f"{gap} mm gap under a microbump",
                          extent_mm=(0.025, 0.025, gap / 2 - 0.005), reference_mm=(non_wet[0], 0.0, gap_z)))
    reach = (0.14 - 2 * MICROBUMP[0]) / 2  # the bridge ends where the bumps begin
    bridge = (-0.49, 0.28, MICROBUMP_Z)
    shapes.append(Box(bridge, (reach, 0.02, 0.02), solder - underfill))
    defects.append(Defect("bridge", bridge, 0.04, "solder bridge between two microbumps",
                          extent_mm=(reach, 0.02, 0.02), host_mu=underfill))
    # logic die with a crack opening from its edge that faces the memory stack
    shapes.append(Box(*LOGIC_DIE, silicon - mold))
    crack = ((lx + lhx - 0.05, 0.2, LOGIC_DIE[0][2]), (0.05, 0.02, 0.06))
    shapes.append(Box(*crack, -silicon))
    defects.append(Defect("die_crack", crack[0], 0.04, "crack 0.04 mm wide from the die's edge",
                          extent_mm=crack[1], host_mu=silicon))
    # memory stack: three dies, die-attach film between them crossed by copper TSVs and solder
    # columns; the upper film has come off over a 0.24 mm square
    column_xy = [(x, y) for x in (MEMORY_X - 0.28, MEMORY_X + 0.28) for y in (-0.28, 0.0, 0.28)]
    for z in MEMORY_DIE_Z:
        shapes.append(Box((MEMORY_X, 0.0, z), (*MEMORY_HALF, MEMORY_DIE_HALF), silicon - mold))
        shapes.extend(Cylinder((x, y, z), 0.025, MEMORY_DIE_HALF, copper - silicon) for x, y in column_xy)
    films = [(a + b) / 2 for a, b in zip(MEMORY_DIE_Z[:-1], MEMORY_DIE_Z[1:], strict=True)]
    film_half = (MEMORY_DIE_Z[1] - MEMORY_DIE_Z[0]) / 2 - MEMORY_DIE_HALF
    for z in films:
        shapes.append(Box((MEMORY_X, 0.0, z), (*MEMORY_HALF, film_half), underfill - mold))
        shapes.extend(Cylinder((x, y, z), 0.025, film_half, solder - underfill) for x, y in column_xy)
    delamination = ((MEMORY_X, -0.15, films[1]), (0.12, 0.12, film_half))
    shapes.append(Box(*delamination, -underfill))
    defects.append(Defect("delamination", delamination[0], 2 * film_half,
                          "die-attach film come off between the upper memory dies",
                          extent_mm=delamination[1], reference_mm=(MEMORY_X, 0.15, films[1])))
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


# a box in the world, in mm: (x0, x1), (y0, y1), (z0, z1)
WorldBox = tuple[tuple[float, float], tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class QualitySpec:
    """Where a package preset's image quality is measured (world boxes in mm, see
    :func:`quality_regions`).

    ``materials``: region name → (box, material: a key of :data:`MU` or "air"), each box at least
    two voxels of 20 µm inside its material. ``pairs``: the regions whose SNR is reported, as
    (first, second). ``edges``: edge name → (box, axis, material before, material after): one
    boundary crosses the middle of the box along ``axis`` (0 = z, 1 = y, 2 = x), the first
    material at the box's low end. Each preset's function says how robust its numbers are.
    """

    materials: dict[str, tuple[WorldBox, str]]
    pairs: tuple[tuple[str, str], ...]
    edges: dict[str, tuple[WorldBox, int, str, str]]


def _bga_quality() -> QualitySpec:
    """The demo's regions. The die/mold contrast is only 0.010/mm, and on the die's side face the
    averaging runs along ring artifacts and FDK's in-plane correlated noise, so in FDK of the
    demo die_mold_side came out anywhere from 1.0 to 2.0 voxels on the die's four faces (1.0
    without noise); the horizontal die_mold_top averages across rings and stayed within
    0.9–1.25 voxels (with and without noise, ring removal, 180 to 720 projections), and the
    higher-contrast mold/air edges are as stable. Prefer those for pass/fail tests.
    mold_air_top is wide even without noise (2.6 voxels from 720 noiseless projections): a flat
    face 0.43 mm above the source plane of a circular cone-beam scan is smeared by FDK.
    """
    (dx, dy, dz), (hx, hy, hz) = DIE
    (mx, my, mz), (mhx, mhy, mhz) = MOLD
    die_top, mold_top, mold_side = dz + hz, mz + mhz, mx + mhx
    return QualitySpec(
        materials={
            "die": (((-0.4, 0.4), (-0.4, 0.4), (dz - hz + 0.04, die_top - 0.04)), "silicon"),
            "mold": (((-0.4, 0.4), (-0.4, 0.4), (die_top + 0.06, mold_top - 0.06)), "mold"),
            "air": (((-0.4, 0.4), (-0.4, 0.4), (mold_top + 0.12, mold_top + 0.42)), "air"),
        },
        pairs=(("die", "mold"), ("mold", "air")),
        edges={
            "die_mold_side": (((dx + hx - 0.15, dx + hx + 0.15), (-0.42, 0.42), (dz - 0.07, dz + 0.07)), 2,
                              "silicon", "mold"),
            "die_mold_top": (((-0.3, 0.3), (-0.3, 0.3), (die_top - 0.14, die_top + 0.14)), 0,
                             "silicon", "mold"),
            "mold_air_side": (((mold_side - 0.14, mold_side + 0.14), (-0.3, 0.3), (0.15, 0.35)), 2,
                              "mold", "air"),
            "mold_air_top": (((-0.3, 0.3), (-0.3, 0.3), (mold_top - 0.14, mold_top + 0.14)), 0,
                             "mold", "air"),
        },
    )


def _stack_quality() -> QualitySpec:
    """The stack's regions. The logic die is 0.2 mm thick, so die_mold_side averages only 7
    planes; the mold over the logic die is 0.26 mm thick, so the mold region holds 4 planes
    between die_mold_top and mold_air_top. The die's top face lies on a voxel boundary of the
    default grid, so FDK's fitted die/mold widths (about 0.2 voxels) only say "under a voxel".
    """
    (lx, _, lz), (lhx, _, lhz) = LOGIC_DIE
    (_, _, mz), (_, mhy, mhz) = STACK_MOLD
    die_low, die_top, mold_top, die_side = lz - lhz, lz + lhz, mz + mhz, lx - lhx
    inner = (-0.6, -0.24)  # over the logic die, clear of its crack
    return QualitySpec(
        materials={
            "die": (((die_side + 0.08, lx + lhx - 0.14), (-0.45, 0.45), (die_low + 0.04, die_top - 0.04)),
                    "silicon"),
            "mold": (((die_side + 0.08, lx + lhx - 0.14), (-0.45, 0.45), (die_top + 0.06, mold_top - 0.06)),
                     "mold"),
            "air": (((-0.4, 0.4), (-0.4, 0.4), (mold_top + 0.12, mold_top + 0.42)), "air"),
        },
        pairs=(("die", "mold"), ("mold", "air")),
        edges={
            # the logic die's outer side face (−x): mold first, then silicon
            "die_mold_side": (((die_side - 0.13, die_side + 0.13), (-0.42, 0.42), (lz - 0.07, lz + 0.07)), 2,
                              "mold", "silicon"),
            "die_mold_top": ((inner, (-0.3, 0.3), (die_top - 0.12, die_top + 0.12)), 0, "silicon", "mold"),
            "mold_air_side": (((-0.6, 0.6), (mhy - 0.14, mhy + 0.14), (-0.25, 0.1)), 1, "mold", "air"),
            "mold_air_top": ((inner, (-0.3, 0.3), (mold_top - 0.14, mold_top + 0.14)), 0, "mold", "air"),
        },
    )


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
    quality: QualitySpec | None = None  # where Table 1 measures it (None: not a package volume)


PRESETS = {
    "bga": Preset("bga", "flip-chip BGA package with defects, cone beam, full turn",
                  bga_package, demo_geometry, DEMO_PROJECTIONS, 20000, quality=_bga_quality()),
    "stack": Preset("stack", "2.5D package: logic die and a three-die memory stack on a silicon interposer "
                    "with TSVs, cone beam, full turn", stack_package, demo_geometry, DEMO_PROJECTIONS, 20000,
                    quality=_stack_quality()),
    "bga2d": Preset("bga2d", "one ball plane of a 16×16 BGA with a stray microbead, parallel-beam sinogram",
                    bga_plane, bga2d_geometry, 256, 50000, supersample=(1, 4)),
}
# the presets whose volumes Table 1 measures
PACKAGES = tuple(name for name, preset in PRESETS.items() if preset.quality is not None)


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


def quality_regions(volume: VolumeGeometry, preset: str = "bga") -> dict:
    """Where to measure image quality in a volume of a package preset, in voxel indices.

    Boxes are ``(z0, y0, x0, nz, ny, nx)`` (the form of ``fathom metrics --roi-a``), clipped to
    the volume (see :class:`QualitySpec` for each preset's boxes and how robust they are):

    * ``materials``: region name → box inside one material; for ``bga`` and ``stack``: ``die``
      (the silicon die's interior), ``mold`` (mold compound above the die) and ``air`` (air
      above the package, inside the field of view).
    * ``pairs``: the (first, second) region names whose SNR is reported.
    * ``edges``: name → ``{"box", "axis", "start", "end", "from", "to"}``: an edge crossing the
      middle of ``box`` along ``axis`` (0 = z, 1 = y, 2 = x) from material ``from`` to ``to``;
      average the box over its other two axes for a low-noise profile
      (:func:`engine.metrics.box_profile`), or sample the single line ``start`` → ``end``
      (voxel indices (z, y, x), the box's centre line). ``die_mold_side`` and ``die_mold_top``
      cross a die's side and top faces, ``mold_air_side`` and ``mold_air_top`` the mold cap's.

    Raises
    ------
    FathomInputError
        If the preset has no quality regions, or a region lies wholly outside ``volume``.
    """
    if preset not in PACKAGES:
        raise FathomInputError(
            f"no quality regions for the preset {preset!r}: use one of {', '.join(PACKAGES)}")
    spec = PRESETS[preset].quality
    materials = {name: _voxel_box(volume, name, box) for name, (box, _) in spec.materials.items()}
    out: dict = {"materials": materials, "pairs": list(spec.pairs), "edges": {}}
    for name, (box, axis, first, second) in spec.edges.items():
        voxels = _voxel_box(volume, name, box)
        start = [b + (n - 1) / 2 for b, n in zip(voxels[:3], voxels[3:], strict=True)]
        end = list(start)
        start[axis] = float(voxels[axis])
        end[axis] = float(voxels[axis] + voxels[3 + axis] - 1)
        out["edges"][name] = {"box": voxels, "axis": axis, "start": tuple(start), "end": tuple(end),
                              "from": first, "to": second}
    return out


def measure_package(data: np.ndarray, geometry: VolumeGeometry, preset: str = "bga") -> dict:
    """Image quality of a package volume at :func:`quality_regions`: the numbers of Table 1.

    Parameters
    ----------
    data : the volume (z, y, x), attenuation in 1/mm, on ``geometry``.
    geometry : its grid (any grid that holds the regions: the default volume, or a larger one).
    preset : the package it shows ("bga", the demo, or "stack").

    Returns
    -------
    dict with ``snr``: "first vs second" → ZEISS SNR of each of the preset's region pairs (for
    both 3D presets "die vs mold" and "mold vs air"), and ``edge_width_voxels``: name → 10–90 %
    width of each edge (``nan`` where no edge can be fitted: noise swamped it).
    """
    from ..metrics import box_profile, box_values, fit_edge, snr

    regions = quality_regions(geometry, preset)
    values = {name: box_values(data, box) for name, box in regions["materials"].items()}
    widths = {}
    for name, edge in regions["edges"].items():
        positions, profile = box_profile(data, edge["box"], edge["axis"])
        try:
            widths[name] = fit_edge(profile, positions).width
        except FathomInputError:
            widths[name] = float("nan")
    return {"snr": {f"{a} vs {b}": snr(values[a], values[b]) for a, b in regions["pairs"]},
            "edge_width_voxels": widths}


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
