"""Test data for the preprocessing tests: analytic sinograms and the real scans in shared/data.

No tests here. The real scans are read directly with tifffile/h5py (the project's readers live
in engine.io); tests skip when shared/data is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.geometry import ScanGeometry
from engine.scan import Scan

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# (x mm, y mm, standard deviation mm, amplitude 1/mm) of Gaussian blobs in a 2-D slice
BLOBS = (
    (0.0, 0.0, 14.0, 0.02),
    (12.0, -5.0, 3.0, 0.15),
    (-20.0, 10.0, 2.0, 0.2),
    (5.0, 22.0, 4.0, -0.05),
    (-8.0, -18.0, 1.5, 0.3),
    (25.0, 8.0, 2.5, 0.1),
)


def analytic_sinogram(
    angles_rad: np.ndarray,
    columns: int,
    offset_px: float = 0.0,
    blobs=BLOBS,
    pixel_mm: float = 1.0,
) -> np.ndarray:
    """Exact parallel projections of Gaussian blobs: (angles, columns) line integrals.

    The rotation axis lands on column ``(columns − 1)/2 + offset_px`` (the engine's
    convention: positive offsets towards higher column indices).
    """
    s = (np.arange(columns) - (columns - 1) / 2 - offset_px) * pixel_mm
    t = np.asarray(angles_rad, dtype=np.float64)[:, None]
    out = np.zeros((t.shape[0], columns))
    for x0, y0, sd, amplitude in blobs:
        s0 = x0 * np.cos(t) + y0 * np.sin(t)
        out += amplitude * sd * np.sqrt(2 * np.pi) * np.exp(-((s - s0) ** 2) / (2 * sd**2))
    return out


def analytic_stack(angles_rad: np.ndarray, rows: int, columns: int, offset_px: float = 0.0):
    """(angles, rows, columns): each row the sinogram of the blobs, scaled row by row."""
    sino = analytic_sinogram(angles_rad, columns, offset_px)
    scale = 0.5 + np.hanning(rows + 2)[1:-1]
    return sino[:, None, :] * scale[None, :, None]


def savu_scan(pixel_mm: float = 1.0) -> Scan:
    """Diamond's savu_tiffs_parallel scan: 91 uint16 projections 135×160, one flat, one dark."""
    import tifffile

    folder = SHARED_DATA / "savu_tiffs_parallel"
    if not folder.is_dir():
        pytest.skip("shared/data/savu_tiffs_parallel is not available")
    files = sorted((folder / "tiffs").glob("*.tif*"))
    projections = np.asarray(tifffile.imread(files))
    flats = np.asarray(tifffile.imread(folder / "flat_00001.tiff"))[None]
    darks = np.asarray(tifffile.imread(folder / "dark_00001.tiff"))[None]
    angles_deg = np.loadtxt(folder / "angles.txt")[10:101]  # lines 11–101 are the projections
    geometry = ScanGeometry(
        "parallel", np.radians(angles_deg), projections.shape[1:], (pixel_mm, pixel_mm)
    )
    for array in (projections, flats, darks):
        array.setflags(write=False)
    return Scan(projections, geometry, "counts", flats, darks, metadata={"source": "savu"})


def tooth_scan(pixel_mm: float = 1.0) -> Scan:
    """APS tooth (Data Exchange HDF5): 181 projections of 2 rows × 640, 10 flats, 10 darks."""
    import h5py

    path = SHARED_DATA / "tooth_dxchange" / "tooth.h5"
    if not path.is_file():
        pytest.skip("shared/data/tooth_dxchange is not available")
    with h5py.File(path, "r") as f:
        projections = f["exchange/data"][()]
        flats = f["exchange/data_white"][()]
        darks = f["exchange/data_dark"][()]
        angles = np.radians(f["exchange/theta"][()])
    geometry = ScanGeometry("parallel", angles, projections.shape[1:], (pixel_mm, pixel_mm))
    for array in (projections, flats, darks):
        array.setflags(write=False)
    return Scan(projections, geometry, "counts", flats, darks, metadata={"source": "tooth"})


def simple_line_integrals(scan: Scan) -> np.ndarray:
    """−log((p − dark)/(flat − dark)), the plainest normalization, for reference values."""
    dark = scan.darks.mean(axis=0)
    open_beam = np.maximum(scan.flats.mean(axis=0) - dark, 1e-3)
    transmission = (scan.projections - dark) / open_beam
    return -np.log(np.clip(transmission, 1e-3, None))
