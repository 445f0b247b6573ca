"""Step 2, Preprocess: flat/dark, outliers, rings, beam hardening and the centre of rotation.

The form is built from :class:`~engine.preprocess.PreprocessParams`. Every edit refreshes, after
a short pause (debounced), a preview computed in a worker on a band of detector rows: the raw
and corrected sinogram of the chosen row, and the slice that row sees reconstructed at three
centres of rotation (less, current, more) to compare; click one to take its centre. A newer
request cancels a stale one. "Run preprocessing" does the whole scan (Reconstruct does it too
when needed).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import qdebounced

from engine.errors import FathomInputError
from engine.preprocess import PreprocessParams

from ..jobs import (
    CentreComparison,
    centre_comparison_job,
    preprocess_job,
    row_height_mm,
    sinogram_preview_job,
)
from ..session import Session
from ..widgets.images import ImagePanel, Thumbnail, robust_levels
from ..widgets.panels import note_label, page_splitter, side_column, side_panel
from ..widgets.param_form import ParamForm
from ..worker import PreviewLane, TaskManager


def describe_record(record: dict) -> str:
    """What preprocessing did, in a few words with units."""
    parts = []
    steps = record.get("steps", [])
    if steps:
        parts.append("Steps: " + ", ".join(s.replace("_", " ") for s in steps) + ".")
    if "clamped_pixels" in record:
        parts.append(f"{record['clamped_pixels']} pixels clamped before −log.")
    if "static_defects" in record:
        parts.append(f"{record['static_defects']} defective detector pixels, "
                     f"{record.get('zingers_replaced', 0)} zingers replaced.")
    cor = record.get("center_of_rotation")
    if cor:
        parts.append(f"Centre of rotation {cor['offset_px']:+.2f} px ({cor.get('offset_mm', 0.0):+.4f} mm) "
                     f"from the detector centre ({cor.get('method', 'given')}).")
    return " ".join(parts)


class PreprocessPage(QWidget):
    preparedRequested = Signal()

    def __init__(self, session: Session, tasks: TaskManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.tasks = tasks
        self.row = 0
        self.comparison: CentreComparison | None = None
        self.sinogram_lane = PreviewLane(tasks, "Sinogram preview", self)
        self.centre_lane = PreviewLane(tasks, "Centre of rotation comparison", self)
        self.run_task = None

        splitter = page_splitter(self)

        side, side_layout = side_column()
        box = QGroupBox("Preprocessing")
        box_layout = QVBoxLayout(box)
        self.form = ParamForm(PreprocessParams)
        self.form.changed.connect(self._on_form_changed)
        box_layout.addWidget(self.form)
        side_layout.addWidget(box)
        run_box = QGroupBox("Whole scan")
        run_layout = QVBoxLayout(run_box)
        self.run_button = QPushButton("Run preprocessing")
        self.run_button.setObjectName("runPreprocess")
        self.run_button.setToolTip("Preprocess every projection now (Reconstruct does it when needed)")
        self.run_button.clicked.connect(self.run_preprocessing)
        run_layout.addWidget(self.run_button)
        self.status = note_label("Not run yet: Reconstruct runs it with these settings.", "hint")
        run_layout.addWidget(self.status)
        side_layout.addWidget(run_box)
        side_layout.addStretch(1)
        splitter.addWidget(side_panel(side, 380, 480))

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        row_bar = QHBoxLayout()
        row_bar.addWidget(QLabel("Detector row"))
        self.row_slider = QSlider(Qt.Orientation.Horizontal)
        self.row_slider.setObjectName("previewRow")
        self.row_slider.valueChanged.connect(self._on_row)
        row_bar.addWidget(self.row_slider, 1)
        self.row_label = QLabel()
        self.row_label.setMinimumWidth(260)
        row_bar.addWidget(self.row_label)
        right_layout.addLayout(row_bar)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("previewTabs")
        # sinogram before / after
        sino = QWidget()
        sino_layout = QHBoxLayout(sino)
        self.raw_view = ImagePanel("Raw", h_label="u", v_label="angle", v_unit="°", value_unit="counts",
                                   invert_y=True)
        self.corrected_view = ImagePanel("Preprocessed (line integrals)", h_label="u", v_label="angle",
                                         v_unit="°", value_unit="", invert_y=True)
        for view in (self.raw_view, self.corrected_view):
            view.view.setAspectLocked(False)
            sino_layout.addWidget(view, 1)
        self.tabs.addTab(sino, "Sinogram: before / after")
        # centre of rotation
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Step"))
        self.step = QDoubleSpinBox()
        self.step.setObjectName("centreStep")
        self.step.setRange(0.1, 20.0)
        self.step.setSingleStep(0.5)
        self.step.setValue(2.0)
        self.step.setSuffix(" px")
        self.step.setToolTip("How far the 'less' and 'more' centres are from the current one")
        self.step.valueChanged.connect(self._schedule_centre)
        controls.addWidget(self.step)
        self.centre_note = note_label(name="hint")
        controls.addWidget(self.centre_note, 1)
        centre_layout.addLayout(controls)
        thumbs = QHBoxLayout()
        self.thumbnails = []
        for k in range(3):
            thumb = Thumbnail(k)
            thumb.setObjectName(f"centreThumb{k}")
            thumb.clicked.connect(self.choose_centre)
            thumbs.addWidget(thumb, 1)
            self.thumbnails.append(thumb)
        centre_layout.addLayout(thumbs, 1)
        hint = QLabel("Sharp edges and no arcs or doubled outlines mean the right centre. Click a slice to "
                      "use its centre.")
        hint.setObjectName("hint")
        centre_layout.addWidget(hint)
        self.tabs.addTab(centre, "Centre of rotation: less / current / more")
        self.tabs.currentChanged.connect(lambda _i: self._schedule_centre())
        right_layout.addWidget(self.tabs, 1)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)

        session.scanChanged.connect(self.reload)
        session.preparedChanged.connect(self._update_status)

    # -- state ----------------------------------------------------------------------------------
    def reload(self) -> None:
        self.sinogram_lane.cancel()  # previews of the previous scan are of no use now
        self.centre_lane.cancel()
        scan = self.session.scan
        if scan is None:
            return
        self.form.set_params(self.session.preprocess_params)
        rows = scan.detector_shape[0]
        self.row_slider.blockSignals(True)
        self.row_slider.setRange(0, rows - 1)
        self.row = self.session.overview.row
        self.row_slider.setValue(self.row)
        self.row_slider.blockSignals(False)
        self._update_row_label()
        self.comparison = None
        for thumb in self.thumbnails:
            thumb.image_item.clear()
            thumb.title.setText("")
            thumb.caption.setText("")
        self._update_status()
        if self.isVisible():
            self.refresh_previews()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt naming
        super().showEvent(event)
        self.refresh_previews()

    def refresh_previews(self) -> None:
        self._schedule_sinogram()
        self._schedule_centre()

    def _update_row_label(self) -> None:
        scan = self.session.scan
        if scan is not None:
            z = row_height_mm(scan.geometry, self.row)
            self.row_label.setText(f"row {self.row + 1} of {scan.detector_shape[0]} · slice z ≈ {z:+.3f} mm")

    def _on_row(self, row: int) -> None:
        self.row = int(row)
        self._update_row_label()
        self.refresh_previews()

    def _on_form_changed(self) -> None:
        try:
            params = self.form.params()
        except FathomInputError:
            return
        self.session.set_preprocess_params(params)
        self.refresh_previews()

    def _update_status(self) -> None:
        prepared = self.session.cached_prepared()
        if prepared is not None:
            record = prepared.metadata.get("preprocess", {})
            self.status.setText("Done. " + describe_record(record))
        else:
            self.status.setText("Not run with these settings yet: Reconstruct runs it when needed.")

    # -- previews (debounced, latest wins) --------------------------------------------------------
    @qdebounced(timeout=350)
    def _schedule_sinogram(self) -> None:
        scan = self.session.scan
        if scan is None or not self.isVisible() or not self.form.is_valid():
            return
        self.sinogram_lane.submit(sinogram_preview_job, scan, self.form.params(), self.row,
                                  on_result=self._show_sinogram, on_error=self._preview_error)

    def _show_sinogram(self, result: dict) -> None:
        scan = self.session.scan
        if scan is None:
            return
        g = scan.geometry
        cols = g.detector_shape[1]
        du = g.pixel_size_mm[1]
        u0 = -(cols - 1) / 2 * du + g.detector_offset_mm[1]
        angles = np.degrees(g.angles_rad)
        step = float(np.median(np.diff(angles))) if angles.size > 1 else 1.0
        first = self.raw_view.image is None
        self.raw_view.set_image(result["raw"], (u0, float(angles[0])), (du, step),
                                levels=robust_levels(result["raw"]), reset_view=first)
        self.corrected_view.set_image(result["corrected"], (u0, float(angles[0])), (du, step),
                                      levels=robust_levels(result["corrected"]), reset_view=first)
        self.corrected_view.plot.setTitle(f"Preprocessed, row {result['row'] + 1} (line integrals)",
                                          size="10pt")

    @qdebounced(timeout=450)
    def _schedule_centre(self) -> None:
        scan = self.session.scan
        if scan is None or not self.isVisible() or self.tabs.currentIndex() != 1 or not self.form.is_valid():
            return
        self.centre_note.setText("Reconstructing the slice at three centres…")
        self.centre_lane.submit(centre_comparison_job, scan, self.form.params(), self.row, self.step.value(),
                                self.session.voxel_size_mm, on_result=self._show_centre,
                                on_error=self._preview_error)

    def _show_centre(self, comparison: CentreComparison) -> None:
        self.comparison = comparison
        levels = robust_levels(np.stack(comparison.images))
        names = ("less", "current", "more")
        for k, thumb in enumerate(self.thumbnails):
            px, mm = comparison.offsets_px[k], comparison.offsets_mm[k]
            thumb.set_content(comparison.images[k], levels, f"{names[k]}: {px:+.2f} px",
                              f"axis {mm:+.3f} mm from the detector centre (on the detector)",
                              (comparison.voxel_size_mm, comparison.voxel_size_mm))
            thumb.set_selected(k == 1)
        found = ""
        if comparison.found:
            found = f"Found automatically: {comparison.found['offset_px']:+.2f} px. "
        self.centre_note.setText(f"{found}Slice at z = {comparison.z_mm:+.3f} mm, "
                                 f"voxel {comparison.voxel_size_mm * 1000:.1f} µm.")

    def choose_centre(self, index: int) -> None:
        if self.comparison is None:
            return
        value = round(self.comparison.offsets_px[index], 3)
        for k, thumb in enumerate(self.thumbnails):
            thumb.set_selected(k == index)
        self.form.set_value("center_of_rotation", value)
        self.centre_note.setText(f"Centre of rotation set to {value:+.3f} px; recomputing the comparison…")

    def _preview_error(self, message: str) -> None:
        self.centre_note.setText(message)
        window = self.window()
        if hasattr(window, "show_error"):
            window.show_error(message)

    # -- the whole scan ---------------------------------------------------------------------------
    def run_preprocessing(self) -> None:
        scan = self.session.scan
        if scan is None:
            return
        try:
            params = self.form.params()
        except FathomInputError as exc:
            self.window().show_error(str(exc))
            return
        self.session.set_preprocess_params(params)
        key = self.session.current_prepare_key()
        self.run_button.setEnabled(False)
        task = self.tasks.run("Preprocessing", preprocess_job, scan, params, key)
        task.succeeded.connect(lambda result: self.session.set_prepared(*result))
        task.failed.connect(self.window().show_error)
        task.finished.connect(lambda: self.run_button.setEnabled(True))
        self.run_task = task
