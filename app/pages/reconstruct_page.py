"""Step 3, Reconstruct: FDK or iterative, the result as it comes, measurements and the tuner.

Left: the method's parameters (forms built from :class:`~engine.fdk.FDKParams` and
:class:`~engine.iterative.IterativeParams`), the volume's voxel size with a memory estimate, an
optional output file, Reconstruct; then the two-parameter tuner. Centre: the slice view of the
result, filled in slab by slab (FDK) or iteration by iteration (iterative); below it the tuner's
strip and the convergence plot. Right: measurements.

A run writes its output file only when complete (atomically, with its recipe); a cancelled or
failed run leaves the previous result on screen and nothing on disk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTabBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import qdebounced

from engine import params as P
from engine.errors import FathomInputError
from engine.fdk import FDKParams
from engine.io import save_json
from engine.volume import Volume

from ..jobs import (
    HAVE_ITERATIVE,
    IterativeParams,
    TunerState,
    estimate_memory,
    fdk_job,
    iterative_job,
    recipe_for,
    roi_block,
    tuner_job,
)
from ..session import Session
from ..widgets.images import SliceView
from ..widgets.panels import note_label, page_splitter, side_column, side_panel
from ..widgets.param_form import ParamForm
from ..worker import PreviewLane, Task, TaskManager
from .convergence import ConvergencePlot
from .measure import MeasurePanel
from .tuner import SmoothingStripView, TunerControls

METHOD_LABELS = {"fdk": "FDK", "iterative": "Iterative"}
STRIP_HINT = "Draw a preview ROI on an FDK slice to see previews at several smoothing values β."


class MethodTabs(QWidget):
    """Tabs whose height follows the page shown (a QTabWidget keeps the tallest page's height)."""

    currentChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.bar = QTabBar()
        self.bar.setExpanding(False)
        self.stack = QStackedWidget()
        layout.addWidget(self.bar)
        layout.addWidget(self.stack)
        self.bar.currentChanged.connect(self._show)

    def addTab(self, widget: QWidget, label: str) -> int:  # noqa: N802 - Qt naming
        self.stack.addWidget(widget)
        index = self.bar.addTab(label)
        self._show(self.bar.currentIndex())
        return index

    def setTabEnabled(self, index: int, enabled: bool) -> None:  # noqa: N802 - Qt naming
        self.bar.setTabEnabled(index, enabled)

    def currentIndex(self) -> int:  # noqa: N802 - Qt naming
        return self.bar.currentIndex()

    def setCurrentIndex(self, index: int) -> None:  # noqa: N802 - Qt naming
        self.bar.setCurrentIndex(index)

    def count(self) -> int:
        return self.stack.count()

    def widget(self, index: int) -> QWidget:
        return self.stack.widget(index)

    def _show(self, index: int) -> None:
        for k in range(self.stack.count()):
            page = self.stack.widget(k)
            policy = QSizePolicy.Policy.Preferred if k == index else QSizePolicy.Policy.Ignored
            page.setSizePolicy(policy, policy)
        if 0 <= index < self.stack.count():
            self.stack.setCurrentIndex(index)
        self.stack.updateGeometry()
        self.currentChanged.emit(index)


class ReconstructPage(QWidget):
    finishedRun = Signal(str)  # method key of a completed run

    def __init__(self, session: Session, tasks: TaskManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.tasks = tasks
        self.run_task: Task | None = None
        self.run_method = ""
        self.shown_key = ""
        self.tuner_state: TunerState | None = None
        self.tuner_lane = PreviewLane(tasks, "Tuner preview", self)
        self.chosen_smoothing: float | None = None
        self._planned_iterations = 0
        # while a run is going: its grid and grey window, and what was shown before it (restored
        # if the run is cancelled or fails)
        self._live_geometry = None
        self._live_levels: tuple[float, float] | None = None
        self._previous: tuple = (None, "", None, None, "")

        self.splitter = splitter = page_splitter(self)

        # -- left: controls ------------------------------------------------------------------
        side, side_layout = side_column()
        method_box = QGroupBox("Method")
        method_layout = QVBoxLayout(method_box)
        self.method_tabs = MethodTabs()
        self.method_tabs.setObjectName("methodTabs")
        self.fdk_form = ParamForm(FDKParams)
        self.fdk_form.changed.connect(self._update_estimate)
        self.method_tabs.addTab(self.fdk_form, "FDK")
        if HAVE_ITERATIVE:
            self.it_form = ParamForm(IterativeParams)
            self.it_form.changed.connect(self._update_estimate)
            self.method_tabs.addTab(self.it_form, "Iterative")
        else:
            self.it_form = None
            note = note_label("The iterative engine is not part of this version.")
            self.method_tabs.addTab(note, "Iterative")
            self.method_tabs.setTabEnabled(1, False)
        self.method_tabs.addTab(QLabel("Deep-learning reconstruction joins in a later version."), "Deep")
        self.method_tabs.setTabEnabled(2, False)
        self.method_tabs.currentChanged.connect(self._update_estimate)
        method_layout.addWidget(self.method_tabs)
        side_layout.addWidget(method_box)

        volume_box = QGroupBox("Volume")
        volume_form = QFormLayout(volume_box)
        self.voxel = QDoubleSpinBox()
        self.voxel.setObjectName("voxelSize")
        self.voxel.setDecimals(4)
        self.voxel.setRange(0.0, 100.0)
        self.voxel.setSingleStep(0.005)
        self.voxel.setSuffix(" mm")
        self.voxel.setSpecialValueText("automatic (pixel ÷ magnification)")
        self.voxel.setKeyboardTracking(False)
        self.voxel.setToolTip("Voxel pitch; the volume covers the field of view")
        self.voxel.valueChanged.connect(self._voxel_changed)
        volume_form.addRow("Voxel size", self.voxel)
        self.shape_label = note_label()
        volume_form.addRow("Size", self.shape_label)
        self.memory_label = note_label(name="memoryEstimate")
        volume_form.addRow(self.memory_label)
        output_row = QHBoxLayout()
        self.output = QLineEdit()
        self.output.setObjectName("outputPath")
        self.output.setPlaceholderText("optional: written when the run completes")
        self.output.setToolTip("A .tif or .h5 volume file, written atomically with OUT.recipe.json "
                               "beside it; nothing is written if the run is cancelled or fails")
        output_row.addWidget(self.output, 1)
        browse = QPushButton("Browse…")
        browse.setToolTip("Choose the output file")
        browse.clicked.connect(self._browse_output)
        output_row.addWidget(browse)
        volume_form.addRow("Output file", output_row)
        side_layout.addWidget(volume_box)

        run_row = QHBoxLayout()
        self.run_button = QPushButton("Reconstruct")
        self.run_button.setObjectName("runReconstruction")
        self.run_button.setProperty("primary", True)
        self.run_button.setMinimumHeight(34)
        self.run_button.clicked.connect(lambda: self.run())
        run_row.addWidget(self.run_button, 2)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelReconstruction")
        self.cancel_button.setMinimumHeight(34)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        run_row.addWidget(self.cancel_button, 1)
        side_layout.addLayout(run_row)
        self.run_status = note_label(name="runStatus")
        side_layout.addWidget(self.run_status)

        self.tuner = TunerControls()
        self.tuner.drawRoi.connect(self.start_roi_drawing)
        self.tuner.autoDelta.connect(lambda: self.request_strip(auto_delta=True))
        self.tuner.deltaEdited.connect(self._delta_edited)
        self.tuner.reconstruct.connect(self.reconstruct_with_choice)
        self.tuner.saveRecipe.connect(self.save_recipe_dialog)
        self.tuner.setEnabled(HAVE_ITERATIVE)
        side_layout.addWidget(self.tuner)
        side_layout.addStretch(1)
        splitter.addWidget(side_panel(side, 380))

        # -- centre: slice view over strip / convergence ------------------------------------------
        centre = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        title_row = QHBoxLayout()
        # long titles wrap instead of widening the window
        self.result_title = note_label("No reconstruction yet.", "resultTitle")
        self.result_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        title_row.addWidget(self.result_title, 1)
        self.shown_combo = QComboBox()
        self.shown_combo.setObjectName("shownVolume")
        self.shown_combo.setToolTip("Which reconstruction to look at and measure")
        self.shown_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.shown_combo.setMinimumContentsLength(16)
        self.shown_combo.activated.connect(lambda index: self.show_volume(self.shown_combo.itemData(index)))
        self.shown_combo.hide()
        title_row.addWidget(self.shown_combo)
        top_layout.addLayout(title_row)
        self.view = SliceView()
        self.view.setObjectName("resultView")
        self.view.roiDrawn.connect(self._roi_drawn)
        self.view.roiChanged.connect(self._roi_moved)
        top_layout.addWidget(self.view, 1)
        centre.addWidget(top)
        self.bottom_tabs = QTabWidget()
        self.bottom_tabs.setObjectName("bottomTabs")
        self.strip_view = SmoothingStripView()
        self.strip_view.chosen.connect(self.choose_smoothing)
        self.bottom_tabs.addTab(self.strip_view, "Tuner strip (β)")
        self.convergence = ConvergencePlot()
        self.bottom_tabs.addTab(self.convergence, "Convergence")
        centre.addWidget(self.bottom_tabs)
        centre.setStretchFactor(0, 3)
        centre.setStretchFactor(1, 1)
        centre.setSizes([620, 320])
        splitter.addWidget(centre)

        # -- right: measurements -------------------------------------------------------------------
        self.measure = MeasurePanel(self.view)
        splitter.addWidget(side_panel(self.measure, 350))
        for k, stretch in enumerate((0, 1, 0)):
            splitter.setStretchFactor(k, stretch)
        splitter.setSizes([400, 800, 370])

        session.scanChanged.connect(self._on_scan)
        session.preparedChanged.connect(self._update_estimate)
        session.volumesChanged.connect(self._on_volumes)

    # -- helpers ----------------------------------------------------------------------------------
    def _report(self, text: str, level: str = "error") -> None:
        window = self.window()
        if hasattr(window, "show_message"):
            window.show_message(text, level)

    def method(self) -> str:
        return "iterative" if self.method_tabs.currentIndex() == 1 else "fdk"

    def set_method(self, method: str) -> None:
        self.method_tabs.setCurrentIndex(1 if method == "iterative" else 0)

    def _on_scan(self) -> None:
        self.cancel_tuner()
        self.tuner_state = None
        self.view.clear()
        for name in ("preview", "A", "B", "line"):
            self.view.remove_roi(name)
        self.strip_view.clear(STRIP_HINT)
        self.convergence.reset()
        self.convergence.status.setText("Run the iterative engine to see its convergence.")
        self.result_title.setText("No reconstruction yet: choose a method and press Reconstruct.")
        self.voxel.blockSignals(True)
        self.voxel.setValue(self.session.voxel_size_mm or 0.0)
        self.voxel.blockSignals(False)
        self._update_estimate()
        self._update_tuner_state()

    def _voxel_changed(self, value: float) -> None:
        self.session.voxel_size_mm = value or None
        self._update_estimate()

    def _update_estimate(self, *_args) -> None:
        geometry = self.session.volume_geometry()
        if geometry is None:
            self.shape_label.setText("—")
            self.memory_label.setText("")
            return
        nz, ny, nx = geometry.shape
        v = geometry.voxel_size_mm
        self.shape_label.setText(f"{nz} × {ny} × {nx} voxels of {v[2]:.4f} mm "
                                 f"({nx * v[2]:.2f} × {ny * v[1]:.2f} × {nz * v[0]:.2f} mm)")
        estimate = estimate_memory(self.session.scan, geometry, self.method())
        self.memory_label.setText(estimate.text() + ".")
        self.memory_label.setProperty("level", estimate.level)
        self.memory_label.style().unpolish(self.memory_label)
        self.memory_label.style().polish(self.memory_label)

    def _browse_output(self) -> None:
        start = self.output.text() or str(Path.home() / "volume.tif")
        path, _ = QFileDialog.getSaveFileName(self, "Output volume", start,
                                              "Volume (*.tif *.tiff *.h5 *.hdf5)")
        if path:
            self.output.setText(path)

    # -- running ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.run_task is not None and self.run_task.is_active

    def run(self, method: str | None = None, it_params=None) -> Task | None:
        """Start a reconstruction with the form's values (``it_params`` overrides the form)."""
        session = self.session
        if session.scan is None or self.running:
            return None
        method = method or self.method()
        try:
            fdk_params = self.fdk_form.params()
            if method == "iterative":
                if not HAVE_ITERATIVE:
                    raise FathomInputError("the iterative engine is not part of this version: use FDK")
                it_params = it_params if it_params is not None else self.it_form.params()
        except FathomInputError as exc:
            self._report(str(exc)[:1].upper() + str(exc)[1:])
            return None
        session.fdk_params = fdk_params
        if it_params is not None:
            session.iterative_params = it_params
        geometry = session.volume_geometry()
        estimate = estimate_memory(session.scan, geometry, method)
        if estimate.level == "error":
            self._report(f"Not enough memory for this run: {estimate.text()}. Use a larger voxel size or "
                         "close other programs.")
            return None
        if estimate.level == "warning":
            self._report(f"This run uses most of the free memory ({estimate.text()}); the computer may "
                         "slow down while it runs.", "warning")
        prepared = session.cached_prepared()
        key = session.current_prepare_key()
        output = self.output.text().strip() or None
        common = dict(scan=session.scan, scan_path=session.path or "memory",
                      pre_params=session.preprocess_params, fdk_params=fdk_params,
                      voxel_size_mm=session.voxel_size_mm, prepared=prepared, prepared_key=key, output=output)
        self._previous = (self.view.data, self.shown_key, self.view.voxel, self.view.origin, self.view.name)
        if method == "iterative":
            fdk_volume = session.volume("fdk")
            self._planned_iterations = it_params.iterations
            self.convergence.reset(it_params.iterations)
            self.bottom_tabs.setCurrentWidget(self.convergence)
            task = self.tasks.run("Iterative reconstruction", iterative_job, it_params=it_params,
                                  initial=fdk_volume, **common)
        else:
            # the slab with the slice being looked at is reconstructed first
            first = self.view.index[0] if self.view.data is not None else None
            task = self.tasks.run("FDK reconstruction", fdk_job, first_slice=first, **common)
        self.run_task = task
        self.run_method = method
        task.partial.connect(self._on_partial)
        task.succeeded.connect(self._on_run_done)
        task.failed.connect(self._on_run_failed)
        task.cancelled.connect(self._on_run_cancelled)
        task.finished.connect(self._run_finished)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.tuner.reconstruct_button.setEnabled(False)
        self.run_status.setText(f"{METHOD_LABELS[method]} running…")
        return task

    def cancel(self) -> None:
        if self.running:
            self.run_task.cancel()
            self.cancel_button.setEnabled(False)
            self.run_status.setText("Cancelling…")

    def _on_partial(self, value) -> None:
        kind = value[0]
        if kind == "start":
            geometry = value[1]
            self._live_geometry = geometry
            self._live_levels = None
            blank = np.zeros(geometry.shape, dtype=np.float32)  # lazily zeroed: no cost here
            start = self.session.volumes.get("fdk")
            if self.run_method == "iterative" and start is not None:
                self._live_levels = start.levels  # same object, same grey window
                if tuple(start.volume.data.shape) == tuple(geometry.shape):
                    blank = start.volume.data  # the iterative engine starts from FDK: show it meanwhile
            keep = self.view.data is not None
            self.view.set_volume(blank, geometry.voxel_size_mm, geometry.origin_mm,
                                 f"{METHOD_LABELS[self.run_method]} (running)", keep_position=keep,
                                 levels=self._live_levels or (0.0, 1.0))
            self.result_title.setText(f"{METHOD_LABELS[self.run_method]}: running, slices appear as they are "
                                      "reconstructed")
        elif kind == "slab":
            _, z0, z1, data, geometry, levels = value
            if self.view.data is not data:
                levels = self._live_levels or levels
                self._live_levels = levels
                self.view.set_volume(data, geometry.voxel_size_mm, geometry.origin_mm, "FDK (running)",
                                     keep_position=True, levels=levels)
            else:
                self.view.refresh()
            self.measure.update_measurements()
        elif kind == "iteration":
            _, record, image = value
            self.convergence.add(record)
            if image is not None:
                geometry = self._live_geometry
                self.view.set_volume(image, geometry.voxel_size_mm, geometry.origin_mm, "Iterative (running)",
                                     keep_position=True, levels=self._live_levels or self.view.panel.levels())
                self.measure.update_measurements()
            self.result_title.setText(
                f"Iterative: iteration {record.iteration} of {self._planned_iterations}")

    def _on_run_done(self, result) -> None:
        session = self.session
        session.set_prepared(result.prepared, result.prepared_key)
        method = self.run_method
        volume: Volume = result.volume
        label = METHOD_LABELS[method]
        if method == "iterative":
            knobs = volume.recipe.get("iterative", {})
            label = (f"Iterative (δ = {float(knobs.get('edge_preservation', 0)):.3g} 1/mm, "
                     f"β = {float(knobs.get('smoothing', 0)):.3g})")
            if volume.recipe.get("history"):
                self.convergence.set_history(volume.recipe["history"])
        session.set_volume(method, label, volume, result.levels)
        seconds = volume.recipe.get("seconds", 0.0)
        where = f"; written to {result.output} with its recipe" if result.output else ""
        self.run_status.setText(f"{label} done in {seconds:.1f} s{where}.")
        self._report(f"{label} reconstruction done in {seconds:.1f} s{where}.", "success")
        self.finishedRun.emit(method)

    def _restore_previous(self) -> None:
        data, key, voxel, origin, name = self._previous
        if data is not None:
            self.view.set_volume(data, voxel, origin, name, keep_position=True)
            self.shown_key = key
            self._set_title()
        else:
            self.view.clear()
            self.result_title.setText("No reconstruction yet.")

    def _on_run_failed(self, message: str) -> None:
        self._restore_previous()
        self.run_status.setText("Failed: " + message)
        self._report(message)

    def _on_run_cancelled(self) -> None:
        self._restore_previous()
        text = "Reconstruction cancelled; the previous result is unchanged and nothing was written."
        self.run_status.setText(text)
        self._report(text, "info")

    def _run_finished(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self._update_tuner_state()

    def _on_volumes(self, key: str) -> None:
        self.shown_combo.clear()
        for k, item in self.session.volumes.items():
            self.shown_combo.addItem(item.label, k)
        self.shown_combo.setVisible(self.shown_combo.count() > 1)
        if key in ("fdk", "iterative"):
            self.show_volume(key)
        self._update_tuner_state()

    def show_volume(self, key: str) -> None:
        item = self.session.volumes.get(key)
        if item is None:
            return
        volume = item.volume
        keep = self.view.data is not None and self.view.data.shape == tuple(volume.data.shape)
        levels = self.view.panel.levels() if keep and self.shown_key else item.levels
        g = volume.geometry
        self.view.set_volume(np.asarray(volume.data), g.voxel_size_mm, g.origin_mm, item.label,
                             keep_position=self.view.data is not None, levels=levels)
        self.shown_key = key
        index = self.shown_combo.findData(key)
        if index >= 0:
            self.shown_combo.setCurrentIndex(index)
        self._set_title()
        self.measure.update_measurements()

    def _set_title(self) -> None:
        item = self.session.volumes.get(self.shown_key)
        if item is None:
            return
        g = item.volume.geometry
        nz, ny, nx = g.shape
        self.result_title.setText(f"{item.label}: {nz} × {ny} × {nx} voxels of {g.voxel_size_mm[2]:.4f} mm, "
                                  "attenuation in 1/mm")

    # -- tuner ------------------------------------------------------------------------------------
    def _update_tuner_state(self) -> None:
        has_fdk = self.session.volume("fdk") is not None and self.session.cached_prepared() is not None
        self.tuner.roi_button.setEnabled(HAVE_ITERATIVE and has_fdk and not self.running)
        self.tuner.auto_button.setEnabled(self.tuner_state is not None)
        ready = self.chosen_smoothing is not None and self.tuner.delta_value() is not None
        self.tuner.reconstruct_button.setEnabled(ready and not self.running)
        self.tuner.save_button.setEnabled(ready)
        if not has_fdk and self.tuner_state is None:
            self.tuner.roi_label.setText("Reconstruct with FDK first, then draw the ROI on an axial slice.")

    def start_roi_drawing(self) -> None:
        if self.session.volume("fdk") is None:
            return
        if self.shown_key != "fdk":
            self.show_volume("fdk")
        self.view.set_axis(0)
        self.view.set_draw_mode("preview")
        self.tuner.roi_label.setText("Drag a rectangle on the slice (up to 128 × 128 px).")

    def set_preview_roi(self, rect_mm: tuple[float, float, float, float]) -> None:
        """Place the preview ROI (h0, v0, width, height in mm on the axial slice) and start the tuner."""
        self.view.set_axis(0)
        self.view.set_rect("preview", rect_mm)
        self._roi_drawn("preview")

    def _roi_drawn(self, name: str) -> None:
        if name == "preview":
            self.request_strip(auto_delta=not self.tuner.delta.text().strip())

    def _roi_moved(self, name: str) -> None:
        if name == "preview" and self.view.draw_target is None and self.tuner_state is not None:
            self._roi_moved_debounced()

    @qdebounced(timeout=500)
    def _roi_moved_debounced(self) -> None:
        self.request_strip(auto_delta=False)

    def current_roi_block(self):
        fdk_volume = self.session.volume("fdk")
        if fdk_volume is None or self.view.axis != 0:
            return None
        px = self.view.rect_pixels("preview")
        if px is None:
            return None
        return roi_block(fdk_volume.data.shape, self.view.current_index(), px)

    def request_strip(self, auto_delta: bool = False) -> None:
        """Prepare the ROI if it moved, propose δ if asked (or none given), run the β strip."""
        fdk_volume = self.session.volume("fdk")
        prepared = self.session.cached_prepared()
        block = self.current_roi_block()
        if fdk_volume is None or prepared is None or block is None:
            self._report("Draw the preview ROI on an axial slice of the FDK result first.", "warning")
            return
        start, shape = block
        delta = None if auto_delta else self.tuner.delta_value()
        voxel = fdk_volume.geometry.voxel_size_mm[2]
        self.tuner.roi_label.setText(
            f"ROI {shape[0]} × {shape[1]} × {shape[2]} voxels ({shape[2] * voxel:.2f} × "
            f"{shape[1] * voxel:.2f} × {shape[0] * voxel:.2f} mm) from voxel (z, y, x) = {start}.")
        self.chosen_smoothing = None
        self._update_tuner_state()
        self.bottom_tabs.setCurrentWidget(self.strip_view)
        self.strip_view.begin(self.tuner.count.value(),
                              "Computing previews…" if delta else "Proposing δ, then computing previews…")
        try:
            it_params = self.it_form.params()
        except FathomInputError:
            it_params = IterativeParams()
        self.tuner_lane.submit(
            tuner_job, prepared, fdk_volume.geometry, fdk_volume, start, shape, self.tuner_state, delta,
            None, self.tuner.count.value(), iterations=it_params.iterations,
            potential=it_params.potential, guide=it_params.guide, on_result=self._strip_done,
            on_partial=self._tuner_partial, on_error=self._tuner_failed, on_cancelled=self._tuner_cancelled,
            foreground=True)

    def _delta_edited(self) -> None:
        if self.tuner_state is not None:
            self._delta_debounced()

    @qdebounced(timeout=600)
    def _delta_debounced(self) -> None:
        if self.tuner.delta_value() is not None or not self.tuner.delta.text().strip():
            self.request_strip(auto_delta=not self.tuner.delta.text().strip())

    def _tuner_partial(self, value) -> None:
        kind = value[0]
        if kind == "prepared":
            self.tuner_state = value[1]
        elif kind == "delta":
            suggestion = value[1]
            self.tuner.delta.setText(f"{suggestion.delta:.4g}")
            self.tuner.delta_rule.setText(f"Proposed: {suggestion.rule}.")
            self.strip_view.set_busy(f"δ = {suggestion.delta:.4g} 1/mm proposed; computing previews…")
        elif kind == "preview":
            self.strip_view.show_preview(value[1], self.session.volume("fdk").geometry.voxel_size_mm[2])
        self._update_tuner_state()

    def _strip_done(self, result: dict) -> None:
        self.tuner_state = result["state"]
        strip = result["strip"]
        voxel = self.session.volume("fdk").geometry.voxel_size_mm[2]
        self.strip_view.show_strip(strip, voxel)
        self.choose_smoothing(strip.suggested)

    def _tuner_failed(self, message: str) -> None:
        self.strip_view.clear(message)  # no half strip: its previews cannot be chosen
        self._report(message)

    def _tuner_cancelled(self) -> None:
        if self.strip_view.strip is None and self.strip_view.thumbnails:  # a strip was filling in
            self.strip_view.clear("Previews cancelled. Move the ROI or edit δ to compute them again.")

    def cancel_tuner(self) -> None:
        self.tuner_lane.cancel()

    def choose_smoothing(self, index: int) -> None:
        strip = self.strip_view.strip
        if strip is None:
            return
        if self.strip_view.selected != index:
            self.strip_view.choose(index, emit=False)
        self.chosen_smoothing = float(strip.smoothings[index])
        delta = strip.edge_preservation
        self.tuner.delta.setText(f"{delta:.4g}")
        self.tuner.choice.setText(f"Chosen: δ = {delta:.4g} 1/mm, β = {self.chosen_smoothing:.3g}"
                                  + (" (suggested)" if index == strip.suggested else ""))
        if self.it_form is not None:
            self.it_form.set_value("edge_preservation", float(f"{delta:.6g}"))
            self.it_form.set_value("smoothing", self.chosen_smoothing)
        self._update_tuner_state()

    def tuned_params(self):
        delta = self.tuner.delta_value()
        if delta is None or self.chosen_smoothing is None:
            raise FathomInputError("choose δ and β in the tuner first")
        base = self.it_form.params() if self.it_form is not None else IterativeParams()
        import dataclasses

        return dataclasses.replace(base, edge_preservation=float(delta), smoothing=self.chosen_smoothing)

    def reconstruct_with_choice(self) -> Task | None:
        try:
            params = self.tuned_params()
        except FathomInputError as exc:
            self._report(str(exc)[:1].upper() + str(exc)[1:], "warning")
            return None
        self.set_method("iterative")
        return self.run("iterative", params)

    def save_recipe(self, path: str) -> Path:
        """Write the tuned recipe (what ``fathom recon --recipe`` runs on the next sample)."""
        params = self.tuned_params()
        recipe = recipe_for("iterative", self.session.preprocess_params, self.fdk_form.params(), params)
        tuned_on: dict = {"scan": self.session.path, "voxel_size_mm": self.session.voxel_size_mm}
        if self.tuner_state is not None:
            tuned_on["roi"] = {"start": list(self.tuner_state.roi_start),
                               "shape": list(self.tuner_state.roi_shape)}
            suggestion = self.tuner_state.suggestion
            tuned_on["edge_preservation"] = suggestion.to_dict() if suggestion is not None else "given"
        strip = self.strip_view.strip
        if strip is not None:
            tuned_on["smoothing_rule"] = strip.rule
            tuned_on["strip"] = strip.summary()
        recipe["tuned_on"] = tuned_on
        return save_json(recipe, path)

    def save_recipe_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save recipe", str(Path.home() / "iterative.recipe.json"),
                                              "Recipe (*.json)")
        if not path:
            return
        try:
            written = self.save_recipe(path)
        except FathomInputError as exc:
            self._report(str(exc))
            return
        self._report(f"Recipe saved to {written}. Run it on the next sample with "
                     f"'fathom recon SCAN -o OUT --method iterative --recipe {written}'.", "success")

    # -- settings ---------------------------------------------------------------------------------
    def params_state(self) -> dict:
        fdk = P.to_recipe(self.fdk_form.params()) if self.fdk_form.is_valid() else None
        state = {"method": self.method(), "fdk": fdk}
        if self.it_form is not None and self.it_form.is_valid():
            state["iterative"] = P.to_recipe(self.it_form.params())
        return state

    def restore_params(self, state: dict) -> None:
        try:
            if state.get("fdk"):
                self.fdk_form.set_params(P.from_recipe(FDKParams, state["fdk"]))
            if state.get("iterative") and self.it_form is not None:
                self.it_form.set_params(P.from_recipe(IterativeParams, state["iterative"]))
            self.set_method(state.get("method", "fdk"))
        except (FathomInputError, TypeError):
            pass
