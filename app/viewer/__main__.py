"""``python -m app.viewer VOLUME.(tif|h5) [--compare OTHER]``: open a volume in the viewer window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.viewer",
        description="Cut a reconstructed volume open along any plane (Fathom's cross-section viewer).",
    )
    parser.add_argument("volume", type=Path, help="a volume file: .tif/.tiff or .h5/.hdf5")
    parser.add_argument("--compare", type=Path, help="a second volume to show side by side")
    parser.add_argument("--layout", help="initial layout, e.g. 'Cut plane + 3D'")
    parser.add_argument(
        "--quit-after",
        type=float,
        metavar="SECONDS",
        help="close the window after this many seconds (for tests)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from engine.errors import FathomInputError
    from engine.io import load_volume

    try:
        volume = load_volume(args.volume)
        other = load_volume(args.compare) if args.compare else None
    except FathomInputError as exc:
        print(f"fathom viewer: {exc}", file=sys.stderr)
        return 2

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .widget import CrossSectionViewer

    app = QApplication.instance() or QApplication(sys.argv[:1])
    viewer = CrossSectionViewer()
    viewer.setWindowTitle(f"Fathom cross-section viewer: {args.volume.name}")
    viewer.resize(1600, 1000)
    viewer.show()
    geometry = volume.geometry
    viewer.set_volume(volume.data, geometry.voxel_size_mm, geometry.origin_mm, name=args.volume.name)
    if other is not None:
        viewer.set_comparison(
            other.data, other.geometry.voxel_size_mm, other.geometry.origin_mm, args.compare.name
        )
    if args.layout:
        viewer.set_layout(args.layout)
    if args.quit_after is not None:
        QTimer.singleShot(int(args.quit_after * 1000), viewer.close)
    app.setQuitOnLastWindowClosed(True)
    status = app.exec()
    viewer.shutdown()
    return status


if __name__ == "__main__":
    sys.exit(main())
