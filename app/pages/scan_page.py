"""Step 1, Scan: what the scan holds, its projections and a sinogram, and its geometry.

The geometry editor changes only the session's copy of the geometry (values in mm, checked by
the engine's own validation); the raw files are never modified. "Revert" restores what the
file said.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.errors import FathomInputError
from engine.geometry import ScanGeometry, default_volume

from ..jobs import estimate_memory, row_height_mm, sinogram_job
from ..session import Session
from ..widgets.images import ImagePanel
from ..widgets.panels import note_label, page_splitter, side_column, side_panel
from ..worker import PreviewLane, TaskManager


def _spin(unit: str, decimals: int = 4, low: float = -1e6, high: float = 1e6) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(low, high)
    box.setSuffix(f" {unit}")
    box.setKeyboardTracking(False)
    box.setMinimumWidth(110)
    return box


class GeometryEditor(QGroupBox):
    """Scanner geometry values with units; Apply checks them with the engine."""

    applied = Signal(object)  # a new ScanGeometry

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Geometry", parent)
        self.geometry: ScanGeometry | None = None
        self.original: ScanGeometry | None = None
        form = QFormLayout(self)
        self.beam = note_label()
        form.addRow("Beam", self.beam)
        self.sod = _spin("mm", 3, 0.0, 1e5)
        self.sod.setObjectName("geomSOD")
        self.sod.setToolTip("Distance from the X-ray source to the rotation axis")
        form.addRow("Source–object", self.sod)
        self.sdd = _spin("mm", 3, 0.0, 1e5)
        self.sdd.setObjectName("geomSDD")
        self.sdd.setToolTip("Distance from the X-ray source to the detector")
        form.addRow("Source–detector", self.sdd)
        self.pixel_row = _spin("mm", 5, 0.0, 100)
        self.pixel_col = _spin("mm", 5, 0.0, 100)
        form.addRow("Pixel height", self.pixel_row)
        form.addRow("Pixel width", self.pixel_col)
        self.offset_row = _spin("mm", 4)
        self.offset_col = _spin("mm", 4)
        self.offset_row.setToolTip("Detector centre shift along the rows (downward)")
        self.offset_col.setToolTip("Detector centre shift along the columns")
        form.addRow("Detector offset (row)", self.offset_row)
        form.addRow("Detector offset (column)", self.offset_col)
        self.axis_offset = _spin("mm", 4)
        self.axis_offset.setToolTip("Where the rotation axis lands on the detector, from the central ray, "
                                    "along the columns. Preprocessing can find it.")
        form.addRow("Rotation axis offset", self.axis_offset)
        self.derived = note_label(name="hint")
        form.addRow(self.derived)
        self.error = note_label(name="formError")
        self.error.hide()
        form.addRow(self.error)
        buttons = QHBoxLayout()
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("applyGeometry")
        self.apply_button.clicked.connect(self.apply)
        self.revert_button = QPushButton("Revert to file")
        self.revert_button.clicked.connect(lambda: self.set_geometry(self.original, self.original))
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.revert_button)
        form.addRow(buttons)
        for box in (self.sod, self.sdd, self.pixel_row, self.pixel_col, self.offset_row, self.offset_col,
                    self.axis_offset):
            box.valueChanged.connect(self._preview)

    def set_geometry(self, geometry: ScanGeometry | None, original: ScanGeometry | None = None) -> None:
        self.geometry = geometry
        if original is not None:
            self.original = original
        if geometry is None:
            return
        cone = geometry.beam == "cone"
        widgets = (self.sod, self.sdd, self.pixel_row, self.pixel_col, self.offset_row, self.offset_col,
                   self.axis_offset)
        for box in widgets:
            box.blockSignals(True)
        self.beam.setText(f"{geometry.beam}, {geometry.n_projections} projections over "
                          f"{np.degrees(geometry.angular_range()):.1f}°")
        self.sod.setValue(geometry.source_object_mm or 0.0)
        self.sdd.setValue(geometry.source_detector_mm or 0.0)
        self.sod.setEnabled(cone)
        self.sdd.setEnabled(cone)
        self.pixel_row.setValue(geometry.pixel_size_mm[0])
        self.pixel_col.setValue(geometry.pixel_size_mm[1])
        self.offset_row.setValue(geometry.detector_offset_mm[0])
        self.offset_col.setValue(geometry.detector_offset_mm[1])
        self.axis_offset.setValue(geometry.rotation_axis_offset_mm)
        for box in widgets:
            box.blockSignals(False)
        self._preview()

    def edited_geometry(self) -> ScanGeometry:
        g = self.geometry
        cone = g.beam == "cone"
        return dataclasses.replace(
            g,
            source_object_mm=self.sod.value() if cone else g.source_object_mm,
            source_detector_mm=self.sdd.value() if cone else g.source_detector_mm,
            pixel_size_mm=(self.pixel_row.value(), self.pixel_col.value()),
            detector_offset_mm=(self.offset_row.value(), self.offset_col.value()),
            rotation_axis_offset_mm=self.axis_offset.value(),
        )

    def _preview(self) -> None:
        if self.geometry is None:
            return
        try:
            g = self.edited_geometry()
        except FathomInputError as exc:
            self.error.setText(str(exc)[:1].upper() + str(exc)[1:])
            self.error.show()
            self.apply_button.setEnabled(False)
            return
        self.error.hide()
        self.apply_button.setEnabled(True)
        voxel = g.pixel_size_mm[1] / g.magnification
        self.derived.setText(f"Magnification {g.magnification:.3f} × · voxel {voxel * 1000:.1f} µm "
                             f"({voxel:.4f} mm) at the axis")

    def apply(self) -> None:
        try:
            g = self.edited_geometry()
        except FathomInputError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.applied.emit(g)


class ScanPage(QWidget):
    """Scan summary and geometry on the left; projection and sinogram browsers on the right."""

    def __init__(self, session: Session, tasks: TaskManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.row = 0
        self.sinogram_lane = PreviewLane(tasks, "Reading a sinogram", self)
        splitter = page_splitter(self)

        side, side_layout = side_column()
        summary_box = QGroupBox("Scan")
        summary_layout = QVBoxLayout(summary_box)
        self.summary = note_label("No scan open.", "scanSummary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        summary_layout.addWidget(self.summary)
        side_layout.addWidget(summary_box)
        self.geometry_editor = GeometryEditor()
        self.geometry_editor.applied.connect(self._apply_geometry)
        side_layout.addWidget(self.geometry_editor)
        memory_box = QGroupBox("Default volume")
        memory_layout = QVBoxLayout(memory_box)
        self.memory = note_label(name="memoryEstimate")
        memory_layout.addWidget(self.memory)
        side_layout.addWidget(memory_box)
        side_layout.addStretch(1)
        splitter.addWidget(side_panel(side, 380, 460))

        views = QWidget()
        views_layout = QHBoxLayout(views)
        views_layout.setContentsMargins(0, 0, 0, 0)
        # projection browser
        proj_box = QGroupBox("Projection")
        proj_layout = QVBoxLayout(proj_box)
        self.projection = ImagePanel(h_label="u", v_label="v", value_unit="counts", flip_rows=True)
        self.row_line = pg.InfiniteLine(angle=0, movable=True, pen=pg.mkPen("#4fc3f7", width=1.5),
                                        hoverPen=pg.mkPen("#81d4fa", width=3))
        self.row_line.setToolTip("Drag: the sinogram's detector row")
        self.row_line.sigPositionChangeFinished.connect(self._row_line_moved)
        self.projection.plot.addItem(self.row_line)
        proj_layout.addWidget(self.projection, 1)
        angle_row = QHBoxLayout()
        self.angle_slider = QSlider(Qt.Orientation.Horizontal)
        self.angle_slider.setObjectName("angleSlider")
        self.angle_slider.valueChanged.connect(self._show_projection)
        angle_row.addWidget(self.angle_slider, 1)
        self.angle_label = QLabel()
        self.angle_label.setMinimumWidth(210)
        angle_row.addWidget(self.angle_label)
        proj_layout.addLayout(angle_row)
        views_layout.addWidget(proj_box, 1)
        # sinogram
        sino_box = QGroupBox("Sinogram")
        sino_layout = QVBoxLayout(sino_box)
        self.sinogram = ImagePanel(h_label="u", v_label="angle", v_unit="°", value_unit="counts",
                                   invert_y=True)
        self.sinogram.view.setAspectLocked(False)
        sino_layout.addWidget(self.sinogram, 1)
        row_row = QHBoxLayout()
        self.row_slider = QSlider(Qt.Orientation.Horizontal)
        self.row_slider.setObjectName("rowSlider")
        self.row_slider.valueChanged.connect(self.set_row)
        row_row.addWidget(self.row_slider, 1)
        self.row_label = QLabel()
        self.row_label.setMinimumWidth(210)
        row_row.addWidget(self.row_label)
        sino_layout.addLayout(row_row)
        views_layout.addWidget(sino_box, 1)
        splitter.addWidget(views)
        splitter.setStretchFactor(1, 1)
        session.scanChanged.connect(self.reload)

    # -- content --------------------------------------------------------------------------------
    def reload(self) -> None:
        scan = self.session.scan
        if scan is None:
            return
        unit = "counts" if scan.values == "counts" else "line integral"
        self.projection.value_unit = unit
        self.sinogram.value_unit = unit
        for panel in (self.projection, self.sinogram):
            if panel.hist is not None:
                panel.hist.axis.setLabel(unit)
        lines = scan.describe().splitlines()
        path = str(self.session.path).replace("/", "/\u200b")  # lets a long path wrap
        self.summary.setText(f"<b>{self.session.scan_name}</b><br>{path}<br><br>"
                             + "<br>".join(line.replace("/", "/\u200b") for line in lines))
        self.geometry_editor.set_geometry(scan.geometry, self.session.original_geometry)
        n, rows, _ = scan.projections.shape
        self.angle_slider.blockSignals(True)
        self.angle_slider.setRange(0, n - 1)
        self.angle_slider.blockSignals(False)
        self.row_slider.blockSignals(True)
        self.row_slider.setRange(0, rows - 1)
        self.row_slider.blockSignals(False)
        self._levels = self.session.overview.levels
        self.projection._levels = self._levels
        self.sinogram._levels = self._levels
        self.sinogram.clear()
        self._update_memory()
        self._show_projection(self.angle_slider.value(), reset=True)
        self.row = -1
        self.set_row(self.session.overview.row)

    def _update_memory(self) -> None:
        scan = self.session.scan
        volume = default_volume(scan.geometry, self.session.voxel_size_mm)
        nz, ny, nx = volume.shape
        estimate = estimate_memory(scan, volume)
        self.memory.setText(
            f"{nz} × {ny} × {nx} voxels of {volume.voxel_size_mm[2]:.4f} mm "
            f"({nx * volume.voxel_size_mm[2]:.2f} × {ny * volume.voxel_size_mm[1]:.2f} × "
            f"{nz * volume.voxel_size_mm[0]:.2f} mm).<br>FDK: {estimate.text()}.")
        self.memory.setProperty("level", estimate.level)
        self.memory.style().unpolish(self.memory)
        self.memory.style().polish(self.memory)

    def _detector_axes(self) -> tuple[tuple[float, float], tuple[float, float]]:
        g = self.session.scan.geometry
        rows, cols = g.detector_shape
        du, dv = g.pixel_size_mm[1], g.pixel_size_mm[0]
        u0 = -(cols - 1) / 2 * du + g.detector_offset_mm[1]
        v0 = (rows - 1) / 2 * dv - g.detector_offset_mm[0]  # row 0 is the top
        return (u0, v0), (du, dv)

    def _show_projection(self, index: int, reset: bool = False) -> None:
        scan = self.session.scan
        if scan is None:
            return
        index = int(index)
        (u0, v0), (du, dv) = self._detector_axes()
        self.projection.set_image(np.asarray(scan.projections[index]), (u0, v0), (du, dv), reset_view=reset)
        angle = np.degrees(scan.geometry.angles_rad[index])
        self.angle_label.setText(f"projection {index + 1} of {scan.n_projections} · angle {angle:.2f}°")

    def set_row(self, row: int) -> None:
        scan = self.session.scan
        if scan is None or row == self.row:
            return
        self.row = int(row)
        if self.row_slider.value() != self.row:
            self.row_slider.blockSignals(True)
            self.row_slider.setValue(self.row)
            self.row_slider.blockSignals(False)
        (u0, v0), (du, dv) = self._detector_axes()
        self.row_line.setValue(v0 - self.row * dv)
        # a sinogram touches every projection: read it in a worker, the newest row wins
        self.sinogram_lane.submit(sinogram_job, scan, self.row, on_result=self._show_sinogram)
        z = row_height_mm(scan.geometry, self.row)
        self.row_label.setText(
            f"row {self.row + 1} of {scan.detector_shape[0]} · z ≈ {z:+.3f} mm at the axis")

    def _show_sinogram(self, result: tuple[int, np.ndarray]) -> None:
        row, sino = result
        scan = self.session.scan
        if scan is None or row != self.row or sino.shape[0] != scan.n_projections:
            return
        (u0, _v0), (du, _dv) = self._detector_axes()
        angles = np.degrees(scan.geometry.angles_rad)
        step = float(np.median(np.diff(angles))) if angles.size > 1 else 1.0
        first = self.sinogram.image is None
        self.sinogram.set_image(sino, (u0, float(angles[0])), (du, step), reset_view=first)

    def _row_line_moved(self) -> None:
        scan = self.session.scan
        if scan is None:
            return
        (u0, v0), (du, dv) = self._detector_axes()
        row = int(round((v0 - self.row_line.value()) / dv))
        self.set_row(int(np.clip(row, 0, scan.detector_shape[0] - 1)))

    def _apply_geometry(self, geometry: ScanGeometry) -> None:
        self.session.set_geometry(geometry)
