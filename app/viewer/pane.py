"""All the views of one volume: three orthogonal slices, the cut plane, 3D; and their layouts.

The viewer shows one pane, or two side by side to compare volumes; both panes share one
:class:`~.state.ViewerState`, so cursor, cut plane, slab and display are the same in both.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from .reslice import PlaneSampler
from .slice_view import SliceView
from .state import ViewerState
from .volume_view import VolumeView

SLICE_KINDS = ("axial", "coronal", "sagittal", "oblique")
#: layout name → rows of view names (a name repeated across a row spans those columns).
LAYOUTS: dict[str, list[list[str]]] = {
    "All views": [["axial", "coronal", "sagittal"], ["oblique", "oblique", "3d"]],
    "Slices": [["axial", "coronal"], ["sagittal", "oblique"]],
    "Cut plane + 3D": [["oblique", "3d"]],
    "Cut plane + top": [["axial", "oblique"]],
    "Cut plane": [["oblique"]],
    "Axial": [["axial"]],
    "Coronal": [["coronal"]],
    "Sagittal": [["sagittal"]],
    "3D": [["3d"]],
}
DEFAULT_LAYOUT = "All views"


class VolumePane(QWidget):
    """The views of one volume. ``cameraChanged(kind)`` reports a user's zoom, pan or 3D turn."""

    cameraChanged = Signal(str)
    maximizeRequested = Signal(str)

    def __init__(self, state: ViewerState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.data: np.ndarray | None = None
        self.name = ""
        self.header = QLabel()
        self.header.setStyleSheet("font-weight: bold; padding: 2px 4px;")
        self.header.hide()
        self.views: dict[str, QWidget] = {kind: SliceView(kind, state, self) for kind in SLICE_KINDS}
        self.views["3d"] = VolumeView(state, self)
        for kind, view in self.views.items():
            if kind == "3d":
                view.cameraChanged.connect(self._camera_3d)
            else:
                view.cameraChanged.connect(self.cameraChanged)
                view.maximizeRequested.connect(self.maximizeRequested)
        self.grid_layout = QGridLayout()
        self.grid_layout.setContentsMargins(0, 0, 0, 0)
        self.grid_layout.setSpacing(3)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        outer.addWidget(self.header)
        outer.addLayout(self.grid_layout, 1)
        self.layout_name = ""
        self.set_layout(DEFAULT_LAYOUT)

    def _camera_3d(self) -> None:
        self.cameraChanged.emit("3d")

    @property
    def slice_views(self) -> dict[str, SliceView]:
        return {k: v for k, v in self.views.items() if k in SLICE_KINDS}

    @property
    def volume_view(self) -> VolumeView:
        return self.views["3d"]

    def set_volume(self, data: np.ndarray, voxel_size_mm, origin_mm, name: str = "") -> None:
        """Show ``data[z, y, x]`` (float32, shared not copied) in every view."""
        base = PlaneSampler(data, voxel_size_mm, origin_mm)
        self.data, self.name = base.data, name
        for view in self.slice_views.values():
            view.volume_name = name
            view.attach(PlaneSampler.sharing(base))
        self.volume_view.set_volume(base.data, base.grid, name)
        self.volume_view.attach_cut_face(self.views["oblique"])
        self.header.setText(name)

    def reset_cameras(self) -> None:
        for view in self.slice_views.values():
            view.reset_camera()
        self.volume_view.reset_camera()

    def clear(self) -> None:
        self.data = None
        for view in self.slice_views.values():
            view.attach(None)
        self.volume_view.set_volume(None, None)

    def show_header(self, visible: bool) -> None:
        self.header.setVisible(visible and bool(self.name))

    def set_layout(self, name: str) -> None:
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}: use one of {', '.join(LAYOUTS)}")
        while self.grid_layout.count():
            self.grid_layout.takeAt(0)
        rows = LAYOUTS[name]
        shown = set()
        for r, row in enumerate(rows):
            c = 0
            while c < len(row):
                kind, span = row[c], 1
                while c + span < len(row) and row[c + span] == kind:
                    span += 1
                self.grid_layout.addWidget(self.views[kind], r, c, 1, span)
                shown.add(kind)
                c += span
        for r in range(3):
            self.grid_layout.setRowStretch(r, 1 if r < len(rows) else 0)
        for c in range(3):
            self.grid_layout.setColumnStretch(c, 1 if c < max(len(row) for row in rows) else 0)
        for kind, view in self.views.items():
            view.setVisible(kind in shown)
            if kind in shown:
                view.request_render()
        self.layout_name = name

    def visible_views(self) -> list[QWidget]:
        return [v for v in self.views.values() if v.isVisible()]

    def shutdown(self) -> None:
        for view in self.views.values():
            view.shutdown()
