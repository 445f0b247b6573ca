"""``python -m app.viewer.screenshots OUTDIR [VOLUME]``: the viewer's screenshot set, from a real window.

Without VOLUME the demo package is reconstructed first (``fathom recon demo``). The views are
placed from the volume itself: the cursor on the layer with the most metal (the balls), the cut
plane along the longest row of balls found there. Writes, into OUTDIR:

* ``01_orthogonal.png``: all views, crosshairs through a ball;
* ``02_oblique_row_of_balls.png``: the cut plane along a diagonal row of balls, with the top view;
* ``03_slab_mip.png``: the slices as 0.3 mm maximum-intensity slabs;
* ``04_3d.png``: the cut plane and the 3D view, cut open at the plane;
* ``05_side_by_side.png``: the cut plane of the volume beside that of a smoothed copy (a stand-in
  for a second reconstruction), with linked cursor and cameras;
* the cut slice as a 16-bit TIFF (+ JSON) and a PNG with scale bar, and the plane as JSON.

Run it under a display, e.g. ``xvfb-run -a -s "-screen 0 1600x1000x24" python -m app.viewer.screenshots out``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage


def metal_layer(data: np.ndarray) -> tuple[int, np.ndarray]:
    """z index of the slice with the most bright (metal) voxels, and that slice's metal mask."""
    level = np.percentile(data[:: max(1, data.shape[0] // 64)], 99.9)
    counts = (data > 0.5 * level).sum(axis=(1, 2))
    z = int(np.argmax(counts))
    return z, data[z] > 0.5 * level


def blob_centres(mask: np.ndarray) -> np.ndarray:
    """(n, 2) (row, column) centres of the connected blobs of a 2D mask, largest first."""
    labels, count = ndimage.label(mask)
    if count == 0:
        return np.zeros((0, 2))
    sizes = ndimage.sum(mask, labels, range(1, count + 1))
    keep = [i + 1 for i in np.argsort(sizes)[::-1] if sizes[i] >= 0.2 * sizes.max()]
    return np.array(ndimage.center_of_mass(mask, labels, keep))


def _settle(app, seconds: float = 0.6) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    if len(argv) > 1:
        path = Path(argv[1])
    else:
        from engine.cli import main as fathom

        path = out / "demo.h5"
        if not path.exists() and fathom(["recon", "demo", "-o", str(path)]) != 0:
            return 1

    from engine.io import load_volume

    volume = load_volume(path)
    data = np.asarray(volume.data)
    geometry = volume.geometry

    from PySide6.QtWidgets import QApplication

    from .widget import CrossSectionViewer

    app = QApplication.instance() or QApplication(sys.argv[:1])
    viewer = CrossSectionViewer()
    viewer.setWindowTitle("Fathom cross-section viewer")
    viewer.resize(1600, 1000)
    viewer.show()
    viewer.set_volume(data, geometry.voxel_size_mm, geometry.origin_mm, name=path.name)
    grid = viewer.state.grid

    # Cursor on a ball of the metal layer; cut plane along the longest row of balls there.
    z, mask = metal_layer(data)
    centres = blob_centres(mask)
    if len(centres) >= 2:
        points = np.array([grid.world_of((z, r, c)) for r, c in centres])
        pairs = [(np.linalg.norm(points[i] - points[j]), i, j) for i in range(len(points)) for j in range(i)]
        _, i, j = max(pairs)
        first, second = points[i], points[j]
        ball = first
    else:
        ball = grid.world_of((z, data.shape[1] // 2, data.shape[2] // 2))
        first, second = ball - (1, 1, 0), ball + (1, 1, 0)
    viewer.set_cursor(ball[2], ball[1], ball[0])
    along = second - first
    viewer.set_cut_plane(np.cross(along, (0.0, 0.0, 1.0)), point_xyz=(first + second) / 2, up_xyz=(0, 0, 1))
    _settle(app, 1.5)
    shots = [viewer.save_screenshot(out / "01_orthogonal.png")]

    viewer.set_layout("Cut plane + top")
    _settle(app)
    shots.append(viewer.save_screenshot(out / "02_oblique_row_of_balls.png"))
    viewer.export_slice_tiff(out / "cut_slice.tif")
    viewer.export_slice_png(out / "cut_slice.png")
    viewer.export_plane_json(out / "cut_plane.json")

    viewer.set_layout("Slices")
    viewer.set_slab(0.3, "max")
    _settle(app)
    shots.append(viewer.save_screenshot(out / "03_slab_mip.png"))
    viewer.set_slab(0.0)

    viewer.set_layout("Cut plane + 3D")
    _settle(app, 0.5)
    viewer.look_at_cut()
    _settle(app, 1.5)
    shots.append(viewer.save_screenshot(out / "04_3d.png"))

    smooth = ndimage.gaussian_filter(data, 1.2).astype(np.float32)
    viewer.set_comparison(
        smooth, geometry.voxel_size_mm, geometry.origin_mm, name="smoothed copy (σ 1.2 voxels)"
    )
    viewer.set_layout("Cut plane")
    _settle(app, 1.5)
    shots.append(viewer.save_screenshot(out / "05_side_by_side.png"))

    viewer.close()
    viewer.shutdown()
    for shot in shots:
        print(shot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
