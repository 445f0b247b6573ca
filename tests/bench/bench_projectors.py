"""Projector throughput in GUPS (voxels × projections per second), CPU and (if present) GPU.

    PYTHONPATH=. python tests/bench/bench_projectors.py [--size 256] [--projections 64]
"""

from __future__ import annotations

import argparse

import numpy as np
from common import best_of, machine, table

from engine.backend import gpu_status
from engine.geometry import ScanGeometry, VolumeGeometry
from engine.projectors import back_project, backproject_weighted, forward_project


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--projections", type=int, default=64)
    args = parser.parse_args()
    n, p = args.size, args.projections
    devices = ["cpu"] + (["gpu"] if gpu_status()[0] else [])
    rows = []
    for beam in ("cone", "parallel"):
        # magnified pixel = voxel, a detector 1.5 × wider than the volume
        g = ScanGeometry(beam, np.linspace(0, 2 * np.pi, p, endpoint=False), (n, int(1.5 * n)),
                         (0.1, 0.1), 100.0, 400.0)
        voxel = 0.1 / g.magnification
        vol = VolumeGeometry((n, n, n), voxel)
        proj = np.random.default_rng(0).random((p, n, int(1.5 * n)), dtype=np.float32)
        x = np.random.default_rng(1).random((n, n, n), dtype=np.float32)
        for device in devices:
            if device == "gpu":
                import cupy as cp

                sync = cp.cuda.Device().synchronize
                proj_d, x_d = cp.asarray(proj), cp.asarray(x)
                out = cp.zeros(vol.shape, cp.float32)
            else:
                def sync():
                    return None

                proj_d, x_d = proj, x
                out = np.zeros(vol.shape, np.float32)

            def bp_raw():
                backproject_weighted(proj_d, g, vol, out, device)
                sync()

            def bp():
                back_project(proj_d, g, vol, device=device)
                sync()

            def fp():
                forward_project(x_d, vol, g, device=device)
                sync()

            work = n**3 * p
            for name, fn in (("back-projection kernel (FDK)", bp_raw), ("back-projection Aᵀ", bp),
                             ("forward projection A", fp)):
                fn()  # compile / warm up
                seconds = best_of(fn, 2)
                rows.append([beam, device, name, f"{n}³ × {p}", seconds, work / seconds / 1e9])
    print(f"Machine: {machine()}\n")
    print(table(["beam", "device", "operation", "size", "seconds", "GUPS"], rows))


if __name__ == "__main__":
    main()
