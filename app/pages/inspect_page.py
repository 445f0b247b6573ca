"""Step 4, Inspect: cut the volume open, compare two volumes, save the result.

The 3D virtual cross-section viewer (:class:`app.viewer.CrossSectionViewer`) is used when it can
be imported (VTK with OpenGL); otherwise a plain orthogonal-slice view (pyqtgraph) stands in.
Volumes come from this session's runs or from a volume file (Open volume…).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.volume import Volume

from ..jobs import load_volume_job, save_volume_job
from ..session import Session
from ..widgets.images import ImagePanel, robust_levels
from ..worker import TaskManager

log = logging.getLogger("fathom.app.inspect")


def load_viewer_class():
    """The 3D viewer class, or None when it cannot be used here (``FATHOM_VIEWER=basic`` forces that)."""
    if os.environ.get("FATHOM_VIEWER", "").lower() == "basic":
        return None
    try:
        from ..viewer import CrossSectionViewer
    except Exception as exc:  # noqa: BLE001 - no VTK, no OpenGL: fall back, say why in the log
        log.info("3D viewer unavailable (%s): using the orthogonal-slice view", exc)
        return None
    return CrossSectionViewer


class OrthoView(QWidget):
    """Axial, coronal and sagittal slices through one point, linked by clicking (pyqtgraph)."""

    cursorMoved = Signal(float, float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.panels = [ImagePanel("Axial (z)", "x", "y", histogram=(k == 2)) for k in range(3)]
        self.panels[1] = ImagePanel("Coronal (y)", "x", "z", histogram=False)
        self.panels[2] = ImagePanel("Sagittal (x)", "y", "z", histogram=True)
        self.lines = []
        for panel in self.panels:
            layout.addWidget(panel, 1)
            h = pg.InfiniteLine(angle=90, pen=pg.mkPen("#f2b134", width=1))
            v = pg.InfiniteLine(angle=0, pen=pg.mkPen("#f2b134", width=1))
            panel.plot.addItem(h)
            panel.plot.addItem(v)
            self.lines.append((h, v))
            panel.graphics.scene().sigMouseClicked.connect(lambda ev, p=panel: self._clicked(p, ev))
        self.panels[2].levelsChanged.connect(self._sync_levels)
        self.data = None
        self.voxel = (1.0, 1.0, 1.0)
        self.origin = (0.0, 0.0, 0.0)
        self.cursor = [0, 0, 0]

    def set_volume(self, data, voxel_size_mm, origin_mm=(0.0, 0.0, 0.0), name: str = "") -> None:
        self.data = np.asarray(data)
        self.voxel = tuple(float(v) for v in voxel_size_mm)
        self.origin = tuple(float(o) for o in origin_mm)
        self.cursor = [s // 2 for s in self.data.shape]
        levels = robust_levels(self.data)
        for panel in self.panels:
            panel._levels = levels
        self._show(reset=True)

    def set_comparison(self, *args, **kwargs) -> None:  # the basic view shows one volume
        pass

    def set_window(self, low: float, high: float) -> None:
        for panel in self.panels:
            panel.set_levels(low, high)

    def set_cursor(self, z: float, y: float, x: float) -> None:
        if self.data is None:
            return
        for axis, value in enumerate((z, y, x)):
            k = int(round((value - self.origin[axis]) / self.voxel[axis]))
            self.cursor[axis] = int(np.clip(k, 0, self.data.shape[axis] - 1))
        self._show()

    def shutdown(self) -> None:
        pass

    def _sync_levels(self, low: float, high: float) -> None:
        for panel in self.panels[:2]:
            panel.set_levels(low, high)

    def _show(self, reset: bool = False) -> None:
        d, (vz, vy, vx), (oz, oy, ox) = self.data, self.voxel, self.origin
        k, j, i = self.cursor
        images = ((d[k], (ox, oy), (vx, vy)), (d[:, j, :], (ox, oz), (vx, vz)),
                  (d[:, :, i], (oy, oz), (vy, vz)))
        point = (oz + k * vz, oy + j * vy, ox + i * vx)
        for panel, (image, origin, spacing), lines, (hv, vv) in zip(
                self.panels, images, self.lines, ((2, 1), (2, 0), (1, 0)), strict=True):
            panel.set_image(image, origin, spacing, levels=panel._levels, reset_view=reset)
            lines[0].setValue(point[hv])
            lines[1].setValue(point[vv])
        self.cursorMoved.emit(*point)

    def _clicked(self, panel: ImagePanel, event) -> None:
        if self.data is None:
            return
        pos = panel.view.mapSceneToView(event.scenePos())
        info = panel.value_at(pos.x(), pos.y())
        if info is None:
            return
        index = self.panels.index(panel)
        if index == 0:
            self.cursor[1], self.cursor[2] = info["row"], info["col"]
        elif index == 1:
            self.cursor[0], self.cursor[2] = info["row"], info["col"]
        else:
            self.cursor[0], self.cursor[1] = info["row"], info["col"]
        self._show()


class InspectPage(QWidget):
    def __init__(self, session: Session, tasks: TaskManager, parent: QWidget | None = None,
                 use_3d: bool = True) -> None:
        super().__init__(parent)
        self.session = session
        self.tasks = tasks
        self.files: dict[str, tuple[Volume, tuple[float, float]]] = {}
        self.cursor_hint: tuple[float, float, float] | None = None  # (z, y, x) mm to open at
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Volume"))
        self.volume_combo = QComboBox()
        self.volume_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.volume_combo.setObjectName("inspectVolume")
        self.volume_combo.setMinimumWidth(320)
        self.volume_combo.currentIndexChanged.connect(self._show_selected)
        bar.addWidget(self.volume_combo)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Compare with"))
        self.compare_combo = QComboBox()
        self.compare_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.compare_combo.setObjectName("inspectCompare")
        self.compare_combo.setMinimumWidth(260)
        self.compare_combo.currentIndexChanged.connect(self._show_selected)
        bar.addWidget(self.compare_combo)
        bar.addStretch(1)
        self.open_button = QPushButton("Open volume…")
        self.open_button.setToolTip("Load a .tif or .h5 volume file to inspect")
        self.open_button.clicked.connect(self.open_volume_dialog)
        bar.addWidget(self.open_button)
        self.save_button = QPushButton("Save volume…")
        self.save_button.setObjectName("saveVolume")
        self.save_button.setToolTip("Write the shown volume (.tif or .h5) with its recipe, atomically")
        self.save_button.clicked.connect(self.save_volume_dialog)
        bar.addWidget(self.save_button)
        layout.addLayout(bar)
        self.cursor_label = QLabel(" ")
        self.cursor_label.setObjectName("readout")
        viewer_class = load_viewer_class() if use_3d else None
        self.is_3d = viewer_class is not None
        if self.is_3d:
            try:
                self.viewer = viewer_class()
            except Exception as exc:  # noqa: BLE001 - an OpenGL failure must not stop the app
                log.warning("3D viewer failed to start (%s): using the orthogonal-slice view", exc)
                self.viewer = OrthoView()
                self.is_3d = False
        else:
            self.viewer = OrthoView()
        self.viewer.setObjectName("inspectViewer")
        self.viewer.cursorMoved.connect(self._cursor)
        layout.addWidget(self.viewer, 1)
        layout.addWidget(self.cursor_label)
        self.placeholder = QLabel("Reconstruct a volume (step 3) or open a volume file to inspect it here.")
        self.placeholder.setObjectName("hint")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.placeholder)
        self._shown: tuple[str, str] = ("", "")
        session.volumesChanged.connect(self.refresh_choices)
        self.refresh_choices()

    def _cursor(self, z: float, y: float, x: float) -> None:
        self.cursor_label.setText(f"cursor z {z:+.3f} mm · y {y:+.3f} mm · x {x:+.3f} mm")

    def available(self) -> dict[str, tuple[str, Volume, tuple[float, float] | None]]:
        items = {key: (item.label, item.volume, item.levels) for key, item in self.session.volumes.items()}
        for path, (volume, levels) in self.files.items():
            items[f"file:{path}"] = (f"File: {Path(path).name}", volume, levels)
        return items

    def refresh_choices(self, newest: str = "") -> None:
        """Offer every volume; a volume just made (``newest``) becomes the one shown."""
        items = self.available()
        current = self.volume_combo.currentData()
        compare = self.compare_combo.currentData()
        for combo in (self.volume_combo, self.compare_combo):
            combo.blockSignals(True)
            combo.clear()
        self.compare_combo.addItem("(none)", "")
        for key, (label, _volume, _levels) in items.items():
            self.volume_combo.addItem(label, key)
            self.compare_combo.addItem(label, key)
        if newest in items:
            preferred = newest
        else:
            preferred = current if current in items else ("iterative" if "iterative" in items else "fdk")
        index = self.volume_combo.findData(preferred)
        self.volume_combo.setCurrentIndex(max(index, 0))
        self.compare_combo.setCurrentIndex(max(self.compare_combo.findData(compare or ""), 0))
        for combo in (self.volume_combo, self.compare_combo):
            combo.blockSignals(False)
        has = bool(items)
        self.placeholder.setVisible(not has)
        self.save_button.setEnabled(has)
        self.compare_combo.setEnabled(has and self.is_3d)
        self._shown = ("", "")  # data may have been replaced
        if self.isVisible():
            self._show_selected()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt naming
        super().showEvent(event)
        self._show_selected()

    def _show_selected(self, *_args) -> None:
        items = self.available()
        key = self.volume_combo.currentData()
        other = self.compare_combo.currentData() or ""
        if key not in items or (key, other) == self._shown:
            return
        label, volume, levels = items[key]
        g = volume.geometry
        self.viewer.set_volume(np.asarray(volume.data, dtype=np.float32), g.voxel_size_mm, g.origin_mm, label)
        if levels is not None and hasattr(self.viewer, "set_window"):
            self.viewer.set_window(*levels)  # the same default window as the other steps
        if self.cursor_hint is not None and hasattr(self.viewer, "set_cursor"):
            self.viewer.set_cursor(*self.cursor_hint)
        if self.is_3d:
            if other and other in items and other != key:
                olabel, ovolume, _levels = items[other]
                og = ovolume.geometry
                self.viewer.set_comparison(np.asarray(ovolume.data, dtype=np.float32), og.voxel_size_mm,
                                           og.origin_mm, olabel)
            else:
                self.viewer.set_comparison(None)
        self._shown = (key, other)

    def current_volume(self) -> Volume | None:
        items = self.available()
        key = self.volume_combo.currentData()
        return items[key][1] if key in items else None

    def set_cursor_hint(self, z: float, y: float, x: float) -> None:
        """Open the next volume shown at this point (e.g. the slice being looked at in Reconstruct)."""
        self.cursor_hint = (z, y, x)
        if hasattr(self.viewer, "set_cursor") and self.viewer.isVisible() and self._shown[0]:
            self.viewer.set_cursor(z, y, x)

    # -- files ------------------------------------------------------------------------------------
    def save_volume(self, path: str):
        volume = self.current_volume()
        if volume is None:
            return None
        task = self.tasks.run("Saving the volume", save_volume_job, volume, path)
        task.succeeded.connect(lambda written: self._report(f"Saved {written} and its recipe.", "success"))
        task.failed.connect(self._report)
        return task

    def save_volume_dialog(self) -> None:
        if self.current_volume() is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save volume", str(Path.home() / "volume.tif"),
                                              "Volume (*.tif *.tiff *.h5 *.hdf5)")
        if path:
            self.save_volume(path)

    def open_volume(self, path: str):
        task = self.tasks.run("Opening a volume", load_volume_job, path)
        task.succeeded.connect(lambda result, p=path: self._volume_loaded(p, *result))
        task.failed.connect(self._report)
        return task

    def open_volume_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open volume", str(Path.home()),
                                              "Volume (*.tif *.tiff *.h5 *.hdf5)")
        if path:
            self.open_volume(path)

    def _volume_loaded(self, path: str, volume: Volume, levels: tuple[float, float]) -> None:
        self.files[path] = (volume, levels)
        self.refresh_choices()
        self.volume_combo.setCurrentIndex(self.volume_combo.findData(f"file:{path}"))

    def _report(self, text: str, level: str = "error") -> None:
        window = self.window()
        if hasattr(window, "show_message"):
            window.show_message(text, level)

    def shutdown(self) -> None:
        self.viewer.shutdown()
