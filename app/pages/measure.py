"""Measurements on the shown slice, in physical units: edge profile, two-ROI SNR, window/level.

* Line profile: draw a line across an edge; the grey values along it (1/mm against mm) with the
  logistic fit of :func:`engine.metrics.fit_edge` and its 10–90 % width in mm and voxels.
* SNR: draw ROI A on one material and ROI B on another; SNR (ZEISS: |m₁ − m₂| / mean std) and
  CNR of A against B, with each ROI's mean and spread in 1/mm.
* Window/level: low/high of the grey scale in 1/mm, with Auto (0.5–99.8 %) and Full range.

The numbers are cheap (a profile and two small regions) and are recomputed, throttled, when a
ROI moves, the slice changes or the volume updates.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import qthrottled

from engine.errors import FathomInputError

from ..widgets.images import ROI_COLORS, SliceView, robust_levels
from ..widgets.panels import note_label

try:
    from engine import metrics
except ImportError:  # pragma: no cover - depends on the engine version
    metrics = None


class MeasurePanel(QWidget):
    """Measurement tools bound to one :class:`SliceView`."""

    def __init__(self, view: SliceView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.fit = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        # -- profile ---------------------------------------------------------------------------
        profile_box = QGroupBox("Line profile and edge width")
        profile_layout = QVBoxLayout(profile_box)
        buttons = QHBoxLayout()
        self.line_button = QPushButton("Draw line")
        self.line_button.setObjectName("drawLine")
        self.line_button.setToolTip("Drag across an edge on the slice")
        self.line_button.clicked.connect(lambda: self.view.set_draw_mode("line"))
        buttons.addWidget(self.line_button)
        clear_line = QPushButton("Remove")
        clear_line.clicked.connect(lambda: (self.view.remove_roi("line"), self.update_measurements()))
        buttons.addWidget(clear_line)
        buttons.addStretch(1)
        profile_layout.addLayout(buttons)
        self.profile_plot = pg.PlotWidget()
        self.profile_plot.setObjectName("profilePlot")
        self.profile_plot.setFixedHeight(220)
        self.profile_plot.setMenuEnabled(False)
        for side, text in (("bottom", "distance (mm)"), ("left", "μ (1/mm)")):
            self.profile_plot.getPlotItem().getAxis(side).enableAutoSIPrefix(False)
            self.profile_plot.setLabel(side, text)
        self.profile_curve = self.profile_plot.plot([], [], pen=None, symbol="o", symbolSize=4,
                                                    symbolBrush=ROI_COLORS["line"], symbolPen=None)
        self.fit_curve = self.profile_plot.plot([], [], pen=pg.mkPen("#ffffff", width=1.5,
                                                                     style=pg.QtCore.Qt.PenStyle.DashLine))
        profile_layout.addWidget(self.profile_plot)
        self.profile_result = note_label("Draw a line across an edge.", "profileResult")
        profile_layout.addWidget(self.profile_result)
        layout.addWidget(profile_box)

        # -- SNR -------------------------------------------------------------------------------
        snr_box = QGroupBox("Signal-to-noise between two regions")
        snr_layout = QVBoxLayout(snr_box)
        buttons = QHBoxLayout()
        self.roi_a_button = QPushButton("Draw A")
        self.roi_a_button.setObjectName("drawRoiA")
        self.roi_a_button.setToolTip("Drag a rectangle on one material (ROI A)")
        self.roi_a_button.clicked.connect(lambda: self.view.set_draw_mode("A"))
        self.roi_b_button = QPushButton("Draw B")
        self.roi_b_button.setObjectName("drawRoiB")
        self.roi_b_button.setToolTip("Drag a rectangle on the other material or the background (ROI B)")
        self.roi_b_button.clicked.connect(lambda: self.view.set_draw_mode("B"))
        clear_rois = QPushButton("Remove")
        clear_rois.clicked.connect(self._clear_rois)
        for b in (self.roi_a_button, self.roi_b_button, clear_rois):
            buttons.addWidget(b)
        buttons.addStretch(1)
        snr_layout.addLayout(buttons)
        self.snr_result = note_label("Draw ROI A on one material and ROI B on another.", "snrResult")
        snr_layout.addWidget(self.snr_result)
        layout.addWidget(snr_box)

        # -- window / level --------------------------------------------------------------------
        wl_box = QGroupBox("Window / level")
        grid = QGridLayout(wl_box)
        self.low = QDoubleSpinBox()
        self.high = QDoubleSpinBox()
        for box, name in ((self.low, "windowLow"), (self.high, "windowHigh")):
            box.setObjectName(name)
            box.setDecimals(4)
            box.setRange(-100.0, 100.0)
            box.setSingleStep(0.01)
            box.setSuffix(" 1/mm")
            box.setKeyboardTracking(False)
            box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            box.valueChanged.connect(self._levels_edited)
        grid.addWidget(QLabel("Low"), 0, 0)
        grid.addWidget(self.low, 0, 1)
        grid.addWidget(QLabel("High"), 0, 2)
        grid.addWidget(self.high, 0, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.wl_label = note_label(name="hint")
        grid.addWidget(self.wl_label, 1, 0, 1, 4)
        auto = QPushButton("Auto (0.5–99.8 %)")
        auto.setObjectName("autoLevels")
        auto.clicked.connect(self.auto_levels)
        full = QPushButton("Full range")
        full.clicked.connect(self.full_range)
        buttons = QHBoxLayout()
        buttons.addWidget(auto)
        buttons.addWidget(full)
        grid.addLayout(buttons, 2, 0, 1, 4)
        layout.addWidget(wl_box)
        layout.addStretch(1)

        if metrics is None:
            self.profile_result.setText("Measurements need engine.metrics, which this version lacks.")
        view.roiChanged.connect(lambda _name: self.update_measurements())
        view.sliceChanged.connect(lambda *_a: self.update_measurements())
        view.panel.levelsChanged.connect(self._show_levels)

    # -- computations ---------------------------------------------------------------------------
    @qthrottled(timeout=80, leading=True)
    def update_measurements(self) -> None:
        self._update_profile()
        self._update_snr()

    def _update_profile(self) -> None:
        ends = self.view.line_pixels()
        image = self.view.current_image()
        if ends is None or image is None or metrics is None:
            self.profile_curve.setData([], [])
            self.fit_curve.setData([], [])
            self.fit = None
            if metrics is not None:
                self.profile_result.setText("Draw a line across an edge.")
            return
        (r0, c0), (r1, c1) = ends
        rows, cols = image.shape
        r0, r1 = (float(np.clip(r, 0, rows - 1)) for r in (r0, r1))
        c0, c1 = (float(np.clip(c, 0, cols - 1)) for c in (c0, c1))
        dh, dv = self.view.pixel_size_mm()
        length_mm = math.hypot((c1 - c0) * dh, (r1 - r0) * dv)
        try:
            distances, values = metrics.line_profile(image, (r0, c0), (r1, c1))
        except FathomInputError as exc:
            self.profile_result.setText(str(exc)[:1].upper() + str(exc)[1:])
            return
        length_px = float(distances[-1]) if len(distances) else 0.0
        mm_per_px = length_mm / length_px if length_px > 0 else dh
        positions = np.asarray(distances) * mm_per_px
        self.profile_curve.setData(positions, values)
        try:
            fit = metrics.fit_edge(values, positions)
        except FathomInputError as exc:
            self.fit = None
            self.fit_curve.setData([], [])
            self.profile_result.setText(f"Profile {length_mm:.3f} mm long. No edge fit: {exc}.")
            return
        self.fit = fit
        fine = np.linspace(positions[0], positions[-1], 200)
        self.fit_curve.setData(fine, fit.curve(fine))
        voxel = mm_per_px
        self.profile_result.setText(
            f"<b>Edge width (10–90 %): {fit.width:.4f} mm</b> = {fit.width / voxel:.2f} voxels<br>"
            f"edge at {fit.center:.3f} mm along the line · levels {fit.low:.4f} → {fit.high:.4f} 1/mm · "
            f"fit RMS {fit.rms:.4f} 1/mm · line {length_mm:.3f} mm")

    def _update_snr(self) -> None:
        a, b = self.view.region("A"), self.view.region("B")
        if metrics is None:
            return
        if a is None or b is None:
            if a is None and b is None:
                self.snr_result.setText("Draw ROI A on one material and ROI B on another.")
            else:
                self.snr_result.setText("Draw the other ROI too.")
            return
        dh, dv = self.view.pixel_size_mm()
        try:
            snr = metrics.snr(a, b)
            cnr = metrics.cnr(a, b)
        except FathomInputError as exc:
            self.snr_result.setText(str(exc)[:1].upper() + str(exc)[1:])
            return

        def stats(region):
            return (f"{region.mean():.4f} ± {region.std(ddof=1):.4f} 1/mm "
                    f"({region.shape[1] * dh:.3f} × {region.shape[0] * dv:.3f} mm, {region.size} px)")

        self.snr = snr
        self.snr_result.setText(
            f"<b>SNR {snr:.2f}</b> · CNR (A vs B) {cnr:.2f}<br>"
            f"<span style='color:{ROI_COLORS['A']}'>A</span>: {stats(a)}<br>"
            f"<span style='color:{ROI_COLORS['B']}'>B</span>: {stats(b)}<br>"
            "SNR = |m<sub>A</sub> − m<sub>B</sub>| / ((s<sub>A</sub> + s<sub>B</sub>)/2); "
            "CNR = |m<sub>A</sub> − m<sub>B</sub>| / s<sub>B</sub>")

    def _clear_rois(self) -> None:
        self.view.remove_roi("A")
        self.view.remove_roi("B")
        self.update_measurements()

    # -- window / level -------------------------------------------------------------------------
    def _show_levels(self, low: float, high: float) -> None:
        for box, value in ((self.low, low), (self.high, high)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.wl_label.setText(f"Window {high - low:.4f} 1/mm · level {(high + low) / 2:.4f} 1/mm")

    def _levels_edited(self) -> None:
        self.view.panel.set_levels(self.low.value(), self.high.value())

    def auto_levels(self) -> None:
        if self.view.data is not None:
            self.view.panel.set_levels(*robust_levels(self.view.data))

    def full_range(self) -> None:
        if self.view.data is not None:
            data = self.view.data
            self.view.panel.set_levels(float(np.nanmin(data)), float(np.nanmax(data)))
