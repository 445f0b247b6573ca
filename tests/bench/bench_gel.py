"""Real sparse-angle data: the FIPS gel phantom fan-beam scan (shared/data/gel_fanbeam_nexus).

Fathom's FDK and iterative engine (both knobs automatic, 20 iterations) against ASTRA's CPU
SIRT (non-negative) and CGLS on the same sinograms, at 72 and at 36 angles over 360°. There
is no truth: the yardstick is CIL's FBP of the same gel from its pre-scan (``FBP_pre_scan.nxs``,
itself a reconstruction with its own noise), on its grid (256², 0.1333 mm). Reported: RMSE
inside the gel, PSNR and SSIM against it, and the correlation of band-passed images (the
inclusions and their walls).

    PYTHONPATH=. python tests/bench/bench_gel.py
"""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import numpy as np
from common import machine, table
from scipy import ndimage

from engine.fdk import fdk
from engine.geometry import VolumeGeometry
from engine.io import load_scan
from engine.iterative import IterativeParams, iterative
from engine.metrics import psnr, ssim

GEL = Path(__file__).resolve().parents[3] / "shared" / "data" / "gel_fanbeam_nexus"
N = 256
VOXEL = 0.4 / 3
GRID = VolumeGeometry((1, N, N), VOXEL)
SIRT_ITERATIONS = 100
CGLS_ITERATIONS = 15


def astra(name: str, path: Path, iterations: int) -> np.ndarray:
    """ASTRA's CPU algorithm on the file's sinogram, in CIL's own frame (CIL reconstructs with
    ASTRA; this frame matches CIL's reference image, checked by correlation)."""
    import astra as a

    with h5py.File(path, "r") as file:
        sinogram = file["entry1/tomo_entry/data/data"][0].astype(np.float32)
        angles = file["entry1/tomo_entry/config/angles"][()]
    half = N / 2 * VOXEL
    vg = a.create_vol_geom(N, N, -half, half, -half, half)
    pg = a.create_proj_geom("fanflat", 0.4, sinogram.shape[1], angles, 100.0, 200.0)
    projector = a.create_projector("line_fanflat", pg, vg)
    sid = a.data2d.create("-sino", pg, sinogram)
    rid = a.data2d.create("-vol", vg, 0)
    cfg = a.astra_dict(name)
    cfg.update(ReconstructionDataId=rid, ProjectionDataId=sid, ProjectorId=projector)
    if name == "SIRT":
        cfg["option"] = {"MinConstraint": 0}
    algorithm = a.algorithm.create(cfg)
    a.algorithm.run(algorithm, iterations)
    image = a.data2d.get(rid)
    a.algorithm.delete(algorithm)
    a.data2d.delete([sid, rid])
    a.projector.delete(projector)
    return image


def band(image: np.ndarray) -> np.ndarray:
    return (ndimage.gaussian_filter(image, 1.5) - ndimage.gaussian_filter(image, 6))[60:200, 60:200]


def main() -> None:
    with h5py.File(GEL / "FBP_pre_scan.nxs", "r") as file:
        reference = file["entry1/tomo_entry/data/data"][()]
    yy, xx = np.mgrid[:N, :N] - (N - 1) / 2
    gel = np.hypot(yy, xx) < 90  # inside the gel, clear of the container wall

    def row(name, angles, image, seconds):
        rmse = float(np.sqrt(np.mean((image - reference)[gel] ** 2)))
        detail = float(np.corrcoef(band(image).ravel(), band(reference).ravel())[0, 1])
        return [name, angles, rmse, psnr(image[None], reference[None]), ssim(image[None], reference[None]),
                detail, seconds]

    rows = []
    for n in (72, 36):
        path = GEL / f"data_{n}.nxs"
        scan = load_scan(path)
        fdk(scan, GRID)  # compile
        t = time.perf_counter()
        start = fdk(scan, GRID)
        rows.append(row("Fathom FDK", n, start.data[0], time.perf_counter() - t))
        t = time.perf_counter()
        result = iterative(scan, GRID, IterativeParams(edge_preservation="auto", smoothing="auto"), initial=start)
        knobs = result.recipe["iterative"]
        rows.append(row(f"Fathom iterative (auto: δ {knobs['edge_preservation']:.3g}, β {knobs['smoothing']:.3g})",
                        n, result.data[0], time.perf_counter() - t))
        for name, iterations in (("SIRT", SIRT_ITERATIONS), ("CGLS", CGLS_ITERATIONS)):
            t = time.perf_counter()
            image = astra(name, path, iterations)
            rows.append(row(f"ASTRA {name} CPU, {iterations} iterations", n, image, time.perf_counter() - t))
    print(f"Machine: {machine()}\n")
    print(table(["method", "angles", "RMSE in gel (1/mm)", "PSNR (dB)", "SSIM", "detail corr.", "seconds"], rows))


if __name__ == "__main__":
    main()
