"""FDK end to end: 256³ from 360 projections of 384×256 on the CPU (and 1024³ from 1600×1024² on
a GPU), with the peak memory of the call against the volume and one chunk.

    PYTHONPATH=. python tests/bench/bench_fdk.py [--gpu-size 1024 --gpu-projections 1600]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from common import machine, table

from engine.backend import gpu_status
from engine.fdk import FDKParams, _chunk_size, fdk
from engine.geometry import ScanGeometry, VolumeGeometry
from engine.scan import Scan


def run(n: int, n_proj: int, rows: int, cols: int, device: str) -> list:
    g = ScanGeometry("cone", np.linspace(0, 2 * np.pi, n_proj, endpoint=False), (rows, cols),
                     (0.1, 0.1), 100.0, 400.0)
    vol = VolumeGeometry((n, n, n), 0.1 / g.magnification)
    proj = np.random.default_rng(0).random((n_proj, rows, cols), dtype=np.float32)
    scan = Scan(proj, g, "line_integrals")
    fdk(scan.subset(slice(0, 4)), VolumeGeometry((8, 8, 8), vol.voxel_size_mm), device=device)  # compile
    tracemalloc.start()
    t = time.perf_counter()
    if device == "gpu":
        import cupy as cp

        fdk(scan, vol, device=device)
        cp.cuda.Device().synchronize()
    else:
        fdk(scan, vol, device=device)
    seconds = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    chunk = _chunk_size(FDKParams(), vol, (rows, cols), device, n_proj)
    volume_mib = n**3 * 4 / 2**20
    return [device, f"{n}³", f"{n_proj} × {cols}×{rows}", seconds, n**3 * n_proj / seconds / 1e9,
            peak / 2**20, volume_mib, chunk]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpu-size", type=int, default=1024)
    parser.add_argument("--gpu-projections", type=int, default=1600)
    args = parser.parse_args()
    rows = [run(256, 360, 256, 384, "cpu")]
    if gpu_status()[0]:
        rows.append(run(args.gpu_size, args.gpu_projections, args.gpu_size, args.gpu_size, "gpu"))
    print(f"Machine: {machine()}\n")
    print(table(["device", "volume", "projections", "seconds", "GUPS", "peak host MiB",
                 "volume MiB", "chunk"], rows))
    print("\npeak host MiB: NumPy allocations during the call (tracemalloc), projections excluded "
          "(they are the input, memory-mapped for real scans).")


if __name__ == "__main__":
    main()
