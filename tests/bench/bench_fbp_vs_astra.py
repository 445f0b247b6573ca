"""Parallel-beam FBP: Fathom vs ASTRA's CPU FBP vs scikit-image's iradon, same sinograms.

Exact (pixel-integrated) sinograms of an ellipse phantom; RMSE against the voxelized truth inside
the reconstruction circle, and wall time of each. ASTRA's 2D parallel angle and scikit-image's
theta are the negative of ours (checked by reconstructing an asymmetric phantom).

    PYTHONPATH=. python tests/bench/bench_fbp_vs_astra.py
"""

from __future__ import annotations

import numpy as np
from common import best_of, machine, table
from skimage.transform import iradon

from engine.fdk import FDKParams, fdk
from engine.geometry import ScanGeometry, VolumeGeometry
from engine.scan import Scan
from engine.simulate.analytic import Ellipsoid, project, voxelize

PHANTOM = [
    Ellipsoid((0, 0, 0), (10.5, 9.0, 1), 0.1),
    Ellipsoid((3, 1.5, 0), (4, 2, 1), 0.3, 30),
    Ellipsoid((-5, -1, 0), (1.5, 1.5, 1.5), 0.5),
    Ellipsoid((-2, 5, 0), (0.8, 2.2, 1), 0.2, -20),
    Ellipsoid((4, -5, 0), (0.6, 0.6, 1), -0.1),
]


def astra_fbp(sinogram: np.ndarray, angles: np.ndarray, n: int, pixel: float) -> tuple[np.ndarray, float]:
    import astra

    vg = astra.create_vol_geom(n, n)
    pg = astra.create_proj_geom("parallel", 1.0, sinogram.shape[1], -angles)
    sid = astra.data2d.create("-sino", pg, sinogram)
    rid = astra.data2d.create("-vol", vg)
    cfg = astra.astra_dict("FBP")
    cfg["ReconstructionDataId"] = rid
    cfg["ProjectionDataId"] = sid
    cfg["ProjectorId"] = astra.create_projector("linear", pg, vg)
    cfg["option"] = {"FilterType": "Ram-Lak"}
    alg = astra.algorithm.create(cfg)
    seconds = best_of(lambda: astra.algorithm.run(alg), 3)
    image = astra.data2d.get(rid) / pixel
    astra.algorithm.delete(alg)
    astra.data2d.delete([sid, rid])
    return image, seconds


def main() -> None:
    rows = []
    for n, n_angles in ((256, 256), (256, 128), (512, 512)):
        pixel = 24.0 / n
        angles = np.arange(n_angles) * np.pi / n_angles
        g = ScanGeometry("parallel", angles, (1, n), (pixel, pixel))
        vol = VolumeGeometry((1, n, n), pixel)
        scan = Scan(project(PHANTOM, g, supersample=(1, 4)), g, "line_integrals")
        truth = voxelize(PHANTOM, vol, supersample=3)[0]
        yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
        inside = np.hypot(yy, xx) < n / 2 - 2
        sinogram = scan.projections[:, 0, :]

        fdk(scan, vol, FDKParams(), device="cpu")  # compile
        ours = fdk(scan, vol, FDKParams(filter="ram-lak"), device="cpu").data[0]
        t_ours = best_of(lambda: fdk(scan, vol, FDKParams(filter="ram-lak"), device="cpu"), 3)
        theta = -np.degrees(angles)
        theirs = iradon(sinogram.T, theta=theta, filter_name="ramp", circle=True, output_size=n) / pixel
        t_iradon = best_of(lambda: iradon(sinogram.T, theta=theta, filter_name="ramp", circle=True,
                                          output_size=n), 3)
        results = [("Fathom fdk (ram-lak)", ours, t_ours), ("scikit-image iradon (ramp)", theirs, t_iradon)]
        try:
            image, t_astra = astra_fbp(sinogram, angles, n, pixel)
            results.append(("ASTRA FBP CPU (Ram-Lak)", image, t_astra))
        except ImportError:
            pass
        for name, image, seconds in results:
            rmse = float(np.sqrt(np.mean((image - truth)[inside] ** 2)))
            rows.append([f"{n}² × {n_angles}", name, rmse, seconds])
    print(f"Machine: {machine()}\n")
    print(table(["slice × angles", "method", "RMSE (1/mm)", "seconds"], rows))


if __name__ == "__main__":
    main()
