"""``python -m app.viewer.benchmark [--size N]``: how long a cut-plane update takes on an N³ volume.

Measures, on a synthetic package-like volume (balls in a grid, noise):

* the resampling alone (``vtkImageReslice``: thin oblique slice, and 0.1 mm / 10-voxel MIP slab);
* a whole plane update in the real viewer window: the cut plane turned by 1°, every visible view
  re-sliced and rendered (the 2D views; the 3D view renders its quick preview, throttled);

and prints milliseconds (median of the repeats). Needs a display for the second part (run under
``xvfb-run -a -s "-screen 0 1600x1000x24"`` on a machine without one).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def package_like(size: int, seed: int = 0) -> np.ndarray:
    """A float32 (size³) volume: mold block, a grid of bright balls, noise (1/mm)."""
    rng = np.random.default_rng(seed)
    data = np.empty((size, size, size), dtype=np.float32)
    for k in range(size):  # slice by slice: no size³ float64 temporaries
        data[k] = rng.normal(0.0, 0.02, (size, size)).astype(np.float32)
    block = slice(size // 8, size - size // 8)
    data[size // 4 : size // 2, block, block] += 0.036
    axis = np.arange(size, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    radius = size / 20
    z0 = size // 3
    for cy in np.linspace(size * 0.2, size * 0.8, 5):
        for cx in np.linspace(size * 0.2, size * 0.8, 5):
            for k in range(int(z0 - radius), int(z0 + radius) + 1):
                inside = (yy - cy) ** 2 + (xx - cx) ** 2 + (k - z0) ** 2 <= radius**2
                data[k][inside] += 1.4
    return data


def time_resampling(data: np.ndarray, voxel_mm: float, repeats: int = 7) -> dict[str, float]:
    from .planes import plane_from_normal
    from .reslice import PlaneSampler

    sampler = PlaneSampler(data, (voxel_mm,) * 3)
    plane = plane_from_normal(sampler.grid.centre(), (1.0, 2.0, 0.5))
    results = {}
    for label, slab in (("thin oblique slice", 0.0), (f"MIP slab of {10 * voxel_mm:g} mm", 10 * voxel_mm)):
        times = []
        for i in range(repeats):
            turned = plane.rotated((0, 0, 1), np.radians(i + 1), sampler.grid.centre())
            layout = sampler.layout_for(turned, slab_mm=slab, slab_mode="max")
            start = time.perf_counter()
            sampler.configure(turned, layout)
            sampler.output_pixels()
            times.append(time.perf_counter() - start)
        results[f"{label} ({layout.columns}×{layout.rows} px)"] = 1000 * float(np.median(times))
    return results


def time_viewer_update(data: np.ndarray, voxel_mm: float, repeats: int = 7) -> dict[str, float]:
    from PySide6.QtWidgets import QApplication

    from .widget import CrossSectionViewer

    app = QApplication.instance() or QApplication(sys.argv[:1])
    viewer = CrossSectionViewer()
    viewer.resize(1600, 1000)
    viewer.show()
    start = time.perf_counter()
    viewer.set_volume(data, (voxel_mm,) * 3, name="benchmark")
    loaded = time.perf_counter() - start
    for _ in range(20):
        app.processEvents()
    results = {"set_volume (incl. 3D copy)": 1000 * loaded}
    oblique = viewer.pane.slice_views["oblique"]
    for layout in ("All views", "Cut plane"):
        viewer.set_layout(layout)
        for _ in range(10):
            app.processEvents()
        times = []
        for i in range(repeats):
            plane = viewer.cut_plane()
            start = time.perf_counter()
            viewer.state.set_oblique(plane.rotated(plane.v, np.radians(1.0 if i % 2 else -1.0)))
            # One event-loop turn: coalesced render requests of every visible view run now.
            app.processEvents()
            oblique.render_now()
            times.append(time.perf_counter() - start)
        results[f"cut plane turned 1°, layout {layout!r}"] = 1000 * float(np.median(times))
    viewer.close()
    viewer.shutdown()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.viewer.benchmark", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--size", type=int, default=512, help="edge of the cubic test volume (voxels)")
    parser.add_argument("--no-window", action="store_true", help="resampling only (no display needed)")
    args = parser.parse_args(argv)
    voxel = 0.01
    start = time.perf_counter()
    data = package_like(args.size)
    made = time.perf_counter() - start
    print(f"volume {args.size}³ float32 ({data.nbytes / 2**20:.0f} MiB) made in {made:.1f} s")
    for label, ms in time_resampling(data, voxel).items():
        print(f"  resample {label}: {ms:.1f} ms")
    if not args.no_window:
        for label, ms in time_viewer_update(data, voxel).items():
            print(f"  viewer {label}: {ms:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
