"""The two-parameter tuner: edge preservation δ and smoothing β on a small preview ROI.

Flow: draw the preview ROI (a rectangle) on an axial FDK slice → the ROI block (16 slices ×
the rectangle, ≤ 128 × 128 px) is prepared and δ proposed automatically → a strip of previews
at several β appears, each with its metrics, the engine's suggestion marked → click one to
choose β → reconstruct the full volume with (δ, β) or save them as a recipe. Editing δ re-runs
the strip after a pause (debounced); a newer request cancels a running one.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..widgets.images import Thumbnail, robust_levels
from ..widgets.panels import note_label


def format_metric(name: str, value: float, voxel_mm: float) -> str:
    """A strip metric with its unit (edge widths come in voxels; mm is added)."""
    if value is None or not np.isfinite(value):
        return f"{name.replace('_', ' ')} —"
    if name == "edge_width":
        return f"edge width {value * voxel_mm:.3f} mm"
    if name == "noise_sigma":
        return f"σ {value:.3f} 1/mm"
    if name == "snr":
        return f"SNR {value:.1f}"
    if name == "discrepancy":
        return f"data residual {value:.3g}"
    return f"{name.replace('_', ' ')} {value:.3g}"


CAPTION_ORDER = ["snr", "noise_sigma", "edge_width", "discrepancy"]
CAPTION_LINES = len(CAPTION_ORDER)


def caption_lines(values: dict[str, float], voxel_mm: float) -> str:
    """A strip preview's metrics, one short line each with its unit (known ones first)."""
    names = [n for n in CAPTION_ORDER if n in values]
    names += [n for n in values if n not in CAPTION_ORDER and n != "smoothing"]
    return "\n".join(format_metric(n, values[n], voxel_mm) for n in names)


def _lines(text: str) -> str:
    """``text`` padded to the height of a finished preview's caption, so that every cell's
    image keeps its size while the strip fills in."""
    return text + "\n" * (CAPTION_LINES - 1 - text.count("\n"))


class TunerControls(QGroupBox):
    """The tuner's left-panel part: ROI, δ (with Auto), chosen β and the actions."""

    drawRoi = Signal()
    autoDelta = Signal()
    deltaEdited = Signal()
    reconstruct = Signal()
    saveRecipe = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Two-parameter tuner (preview ROI)", parent)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.roi_button = QPushButton("1 · Draw preview ROI")
        self.roi_button.setObjectName("drawPreviewRoi")
        self.roi_button.setToolTip("Drag a rectangle on an axial slice of the FDK result (≤ 128 × 128 px)")
        self.roi_button.clicked.connect(self.drawRoi)
        row.addWidget(self.roi_button)
        layout.addLayout(row)
        self.roi_label = note_label("Reconstruct with FDK first, then draw the ROI on an axial slice.",
                                    "hint")
        layout.addWidget(self.roi_label)
        row = QHBoxLayout()
        row.addWidget(QLabel("2 · Edge preservation δ"))
        self.delta = QLineEdit()
        self.delta.setObjectName("tunerDelta")
        self.delta.setPlaceholderText("auto")
        self.delta.setToolTip("Neighbour differences below δ are smoothed as noise, above kept as edges")
        self.delta.textEdited.connect(lambda _t: self.deltaEdited.emit())
        row.addWidget(self.delta, 1)
        row.addWidget(QLabel("1/mm"))
        self.auto_button = QPushButton("Auto")
        self.auto_button.setObjectName("autoDelta")
        self.auto_button.setToolTip("Propose δ from the ROI's noise and material contrast")
        self.auto_button.clicked.connect(self.autoDelta)
        row.addWidget(self.auto_button)
        layout.addLayout(row)
        self.delta_rule = note_label(name="hint")
        layout.addWidget(self.delta_rule)
        row = QHBoxLayout()
        row.addWidget(QLabel("Previews"))
        self.count = QSpinBox()
        self.count.setObjectName("stripCount")
        self.count.setRange(2, 9)
        self.count.setValue(5)
        self.count.setToolTip("How many β values the strip shows (a factor 2 apart)")
        self.count.valueChanged.connect(lambda _v: self.deltaEdited.emit())
        row.addWidget(self.count)
        row.addStretch(1)
        layout.addLayout(row)
        self.choice = note_label("3 · Choose β in the strip below the slice.", "tunerChoice")
        layout.addWidget(self.choice)
        row = QHBoxLayout()
        self.reconstruct_button = QPushButton("4 · Reconstruct with δ, β")
        self.reconstruct_button.setObjectName("tunerReconstruct")
        self.reconstruct_button.setEnabled(False)
        self.reconstruct_button.clicked.connect(self.reconstruct)
        row.addWidget(self.reconstruct_button)
        self.save_button = QPushButton("Save recipe…")
        self.save_button.setObjectName("saveRecipe")
        self.save_button.setEnabled(False)
        self.save_button.setToolTip("Write the choice as a recipe that 'fathom recon --recipe' runs")
        self.save_button.clicked.connect(self.saveRecipe)
        row.addWidget(self.save_button)
        layout.addLayout(row)

    def delta_value(self) -> float | None:
        try:
            value = float(self.delta.text().replace(",", "."))
        except ValueError:
            return None
        return value if math.isfinite(value) and value > 0 else None


class SmoothingStripView(QWidget):
    """The strip of ROI previews at several β; click one to choose it."""

    chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.header = note_label("Draw a preview ROI on an FDK slice to see previews at several smoothing "
                                 "values β.", "hint")
        layout.addWidget(self.header)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.holder = QWidget()
        self.row = QHBoxLayout(self.holder)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.scroll.setWidget(self.holder)
        layout.addWidget(self.scroll, 1)
        self.thumbnails: list[Thumbnail] = []
        self.strip = None
        self.selected: int | None = None
        self._expected = 0  # previews in the strip being computed
        self._levels: tuple[float, float] | None = None  # its display levels, fixed by the first

    def begin(self, count: int, text: str) -> None:
        """A new strip of ``count`` previews is being computed: the old one goes, the new one's
        cells appear as its previews arrive (:meth:`show_preview`)."""
        self.clear(text)
        self._expected = count
        self._cells(count)  # all at once: the row's layout stays put as they fill in
        for thumb in self.thumbnails:
            thumb.title.setText("β …")
            thumb.caption.setText(_lines("waiting"))

    def show_preview(self, preview, voxel_mm: float) -> None:
        """One preview of the strip being computed (an ``engine.iterative.StripPreview`` whose
        image is the ROI's middle slice): its cell shows the iterate so far, then its metrics.
        The cells are not choosable until the strip, with its suggestion, is complete."""
        if self.strip is not None:
            return
        self._cells(max(preview.index + 1, len(self.thumbnails)))
        if self._levels is None:  # the first iterate's, kept for the strip: cells compare
            self._levels = robust_levels(preview.image)
        if preview.done:
            caption = caption_lines(preview.metrics, voxel_mm)
            state = "done"
        else:
            state = f"iteration {preview.iteration}/{preview.iterations}"
            caption = _lines(state)
        beta = f"β = {preview.smoothing:.3g}"
        self.thumbnails[preview.index].set_content(preview.image, self._levels, beta, caption,
                                                   (voxel_mm, voxel_mm))
        total = max(self._expected, preview.index + 1)
        self.header.setText(f"Computing previews: {preview.index + 1} of {total} ({beta}, {state}). "
                            "The suggestion comes with the last one.")

    def show_strip(self, strip, voxel_mm: float) -> None:
        self.strip = strip
        self._cells(len(strip.smoothings))
        middle = [im[im.shape[0] // 2] for im in strip.images]
        levels = robust_levels(np.stack(middle))
        for k, (beta, image, values) in enumerate(zip(strip.smoothings, middle, strip.metrics, strict=True)):
            thumb = self.thumbnails[k]
            title = f"β = {beta:.3g}" + ("  ★" if k == strip.suggested else "")
            thumb.set_content(image, levels, title, caption_lines(values, voxel_mm), (voxel_mm, voxel_mm))
            suggested_here = k == strip.suggested
            thumb.setToolTip("★ the engine's suggestion" if suggested_here else "Click to choose this β")
        suggested = strip.smoothings[strip.suggested]
        self.header.setText(f"δ = {strip.edge_preservation:.4g} 1/mm · ★ suggested β = {suggested:.3g}: "
                            f"{strip.rule}. Click a preview to choose it.")
        self.choose(strip.suggested, emit=False)

    def _cells(self, count: int) -> None:
        """Exactly ``count`` thumbnails in the row (new ones at the end, surplus ones removed)."""
        while len(self.thumbnails) > count:
            self.thumbnails.pop().deleteLater()
        while len(self.thumbnails) < count:
            thumb = Thumbnail(len(self.thumbnails))
            thumb.setObjectName(f"stripThumb{thumb.index}")
            thumb.setToolTip("Being computed: choose a β once the strip is complete")
            thumb.setMinimumWidth(135)
            thumb.clicked.connect(self.choose)
            self.row.addWidget(thumb, 1)
            self.thumbnails.append(thumb)

    def choose(self, index: int, emit: bool = True) -> None:
        if self.strip is None:
            return
        self.selected = index
        for k, thumb in enumerate(self.thumbnails):
            thumb.set_selected(k == index, k == self.strip.suggested)
        if emit:
            self.chosen.emit(index)

    def clear(self, text: str | None = None) -> None:
        self._cells(0)
        self.strip = None
        self.selected = None
        self._expected = 0
        self._levels = None
        if text:
            self.header.setText(text)

    def set_busy(self, text: str) -> None:
        self.header.setText(text)
        self.header.setAlignment(Qt.AlignmentFlag.AlignLeft)
