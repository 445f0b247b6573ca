"""Images with physical axes: one 2D image panel, a volume slice view, and clickable thumbnails.

Orientation rule (DESIGN.md): nothing is mirrored and z is up. A volume ``vol[z, y, x]`` is
shown axial as (x right, y up), coronal as (x right, z up), sagittal as (y right, z up); a
projection is shown with its top row at the top (row 0 is the highest z). Axes are in mm and
values in the data's unit (1/mm for volumes). Window/level is a histogram beside the image;
the default window spans the 0.5–99.8 % percentiles of the data, so a few bright voxels do not
wash out the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..display import format_value, robust_levels
from .panels import note_label

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="#16181c", foreground="#c8ccd2")

AXIS_NAMES = ("Axial", "Coronal", "Sagittal")
# for each slicing axis: (horizontal world axis, vertical world axis) as indices into (z, y, x)
_AXES_2D = {0: (2, 1), 1: (2, 0), 2: (1, 0)}
_WORLD = ("z", "y", "x")
ROI_COLORS = {"A": "#f2b134", "B": "#4fc3f7", "preview": "#7ee081", "line": "#ff7a7a"}


class DrawViewBox(pg.ViewBox):
    """A ViewBox in which a left-drag draws a shape while a draw mode is on (else pans)."""

    drawn = Signal(object, object, bool)  # start, current (view coordinates, mm), finished

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.draw_mode: str | None = None

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 - Qt naming
        if self.draw_mode and ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            start = self.mapSceneToView(ev.buttonDownScenePos())
            current = self.mapSceneToView(ev.scenePos())
            self.drawn.emit(start, current, bool(ev.isFinish()))
            return
        super().mouseDragEvent(ev, axis)


@dataclass(frozen=True)
class PixelMap:
    """Where a displayed image's pixels sit: pixel (row, col) centre = origin + index × spacing."""

    origin: tuple[float, float]  # (horizontal, vertical) of pixel (0, 0), mm
    spacing: tuple[float, float]  # (horizontal, vertical) mm per pixel
    flip_rows: bool = False  # row 0 of the data is at the top (stored top-down)
    rows: int = 0

    def to_index(self, h: float, v: float) -> tuple[float, float]:
        """(row, col) fractional index of the data array at view position (h, v)."""
        col = (h - self.origin[0]) / self.spacing[0]
        row = (v - self.origin[1]) / self.spacing[1]
        if self.flip_rows:
            row = self.rows - 1 - row
        return row, col

    def to_view(self, row: float, col: float) -> tuple[float, float]:
        if self.flip_rows:
            row = self.rows - 1 - row
        return self.origin[0] + col * self.spacing[0], self.origin[1] + row * self.spacing[1]


class ImagePanel(QWidget):
    """One 2D image with physical axes, optional window/level histogram and a pixel readout.

    ``flip_rows``: the data's row 0 is the top of the picture and the vertical axis still points
    up (detector images, v up like z); otherwise row 0 is at the bottom (volume slices, z and y
    increasing upward). ``invert_y``: the vertical axis points down (sinograms: angle 0 on top).
    """

    hovered = Signal(object)  # dict(h, v, row, col, value) or None
    levelsChanged = Signal(float, float)

    def __init__(self, title: str = "", h_label: str = "x", v_label: str = "y", *, unit: str = "mm",
                 value_unit: str = "1/mm", histogram: bool = True, flip_rows: bool = False,
                 invert_y: bool = False, v_unit: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value_unit = value_unit
        self.flip_rows = flip_rows
        self.image: np.ndarray | None = None
        self.map = PixelMap((0.0, 0.0), (1.0, 1.0), flip_rows, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumSize(160, 140)
        self.view = DrawViewBox(lockAspect=True)
        self.view.invertY(invert_y)  # e.g. a sinogram: angle 0 at the top, increasing downward
        self.plot = pg.PlotItem(viewBox=self.view)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        if title:
            self.plot.setTitle(title, size="10pt")
        for name, label, u in (("bottom", h_label, unit), ("left", v_label, v_unit or unit)):
            axis = self.plot.getAxis(name)
            axis.enableAutoSIPrefix(False)
            self.plot.setLabel(name, f"{label} ({u})" if u else label)
        self.graphics.addItem(self.plot, 0, 0)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image_item)
        self.hist: pg.HistogramLUTItem | None = None
        if histogram:
            self.hist = pg.HistogramLUTItem(image=self.image_item)
            self.hist.axis.enableAutoSIPrefix(False)
            self.hist.axis.setLabel(value_unit)
            self.hist.sigLevelsChanged.connect(self._emit_levels)
            self.graphics.addItem(self.hist, 0, 1)
        layout.addWidget(self.graphics, 1)
        self.readout = QLabel(" ")
        self.readout.setObjectName("readout")
        layout.addWidget(self.readout)
        self._levels: tuple[float, float] | None = None
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse)

    # -- content --------------------------------------------------------------------------------
    def set_image(self, image: np.ndarray, origin: tuple[float, float] = (0.0, 0.0),
                  spacing: tuple[float, float] = (1.0, 1.0), *, levels: tuple[float, float] | None = None,
                  reset_view: bool = False) -> None:
        """Show ``image[row, col]``; ``origin``/``spacing`` place pixel centres in mm."""
        image = np.asarray(image, dtype=np.float32)
        first = self.image is None or self.image.shape != image.shape
        self.image = image
        self.map = PixelMap(tuple(origin), tuple(spacing), self.flip_rows, image.shape[0])
        shown = image[::-1] if self.flip_rows else image
        if levels is not None:
            self._levels = (float(levels[0]), float(levels[1]))
        elif self._levels is None:
            self._levels = robust_levels(image)
        self.image_item.setImage(shown, autoLevels=False, levels=self._levels)
        rows, cols = image.shape
        dh, dv = spacing
        bottom = origin[1] - (rows - 1) * dv if self.flip_rows else origin[1]
        # flipped images: the data's top row is placed at the top, i.e. origin is the top row
        rect = QRectF(origin[0] - dh / 2, bottom - dv / 2, cols * dh, rows * dv)
        if self.flip_rows:
            self.map = PixelMap((origin[0], bottom), tuple(spacing), True, rows)
        self.image_item.setRect(rect)
        if self.hist is not None:
            self.hist.setLevels(*self._levels)
        if first or reset_view:
            self.view.setRange(rect, padding=0.02)

    def clear(self) -> None:
        self.image = None
        self.image_item.clear()
        self.readout.setText(" ")

    def set_levels(self, low: float, high: float) -> None:
        if not high > low:
            high = low + 1e-6
        self._levels = (float(low), float(high))
        self.image_item.setLevels(self._levels)
        if self.hist is not None:
            self.hist.setLevels(*self._levels)
        self.levelsChanged.emit(*self._levels)

    def levels(self) -> tuple[float, float]:
        if self.hist is not None:
            lo, hi = self.hist.getLevels()
            return float(lo), float(hi)
        return self._levels or (0.0, 1.0)

    def auto_levels(self, data: np.ndarray | None = None) -> None:
        source = self.image if data is None else data
        if source is not None:
            self.set_levels(*robust_levels(source))

    def _emit_levels(self, *_args) -> None:
        if self.hist is None:
            return
        lo, hi = self.hist.getLevels()
        self._levels = (float(lo), float(hi))
        self.levelsChanged.emit(float(lo), float(hi))

    # -- readout --------------------------------------------------------------------------------
    def value_at(self, h: float, v: float) -> dict | None:
        if self.image is None:
            return None
        row, col = self.map.to_index(h, v)
        r, c = int(round(row)), int(round(col))
        if not (0 <= r < self.image.shape[0] and 0 <= c < self.image.shape[1]):
            return None
        return {"h": h, "v": v, "row": r, "col": c, "value": float(self.image[r, c])}

    def describe_position(self, info: dict) -> str:
        return (f"{self.plot.getAxis('bottom').labelText} {info['h']:.3f} · "
                f"{self.plot.getAxis('left').labelText} {info['v']:.3f} · "
                f"value {format_value(info['value'], self.value_unit)}")

    def _on_mouse(self, pos: QPointF) -> None:
        if self.image is None or not self.plot.sceneBoundingRect().contains(pos):
            self.hovered.emit(None)
            return
        point = self.view.mapSceneToView(pos)
        info = self.value_at(point.x(), point.y())
        if info is None:
            self.readout.setText(" ")
        else:
            self.readout.setText(self.describe_position(info))
        self.hovered.emit(info)


class SliceView(QWidget):
    """Axial / coronal / sagittal slices of a volume with slider, window/level and ROI tools.

    ROIs are pyqtgraph items in view coordinates (mm): rectangles by name (``"A"``, ``"B"``,
    ``"preview"``) and one line; while a draw mode is on, a left-drag draws that shape.
    """

    sliceChanged = Signal(int, int)  # axis, index
    roiChanged = Signal(str)  # a rectangle's name or "line"
    roiDrawn = Signal(str)  # drawing finished
    hovered = Signal(object)  # dict with z, y, x (mm) and value, or None

    def __init__(self, parent: QWidget | None = None, *, value_unit: str = "1/mm") -> None:
        super().__init__(parent)
        self.data: np.ndarray | None = None
        self.voxel = (1.0, 1.0, 1.0)
        self.origin = (0.0, 0.0, 0.0)
        self.name = ""
        self.axis = 0
        self.index = [0, 0, 0]
        self.rois: dict[str, pg.ROI] = {}
        self.draw_target: str | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        bar = QHBoxLayout()
        bar.setSpacing(4)
        self.axis_buttons = QButtonGroup(self)
        for k, name in enumerate(AXIS_NAMES):
            button = QToolButton()
            button.setText(name)
            button.setCheckable(True)
            button.setObjectName(f"axis{name}")
            button.setToolTip(f"{name} slices: " + ("x right, y up (seen from the top)", "x right, z up",
                                                    "y right, z up")[k])
            self.axis_buttons.addButton(button, k)
            bar.addWidget(button)
        self.axis_buttons.button(0).setChecked(True)
        self.axis_buttons.idClicked.connect(self.set_axis)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("sliceSlider")
        self.slider.valueChanged.connect(self._on_slider)
        bar.addWidget(self.slider, 1)
        self.position_label = QLabel("no volume")
        self.position_label.setObjectName("sliceLabel")
        self.position_label.setMinimumWidth(230)
        bar.addWidget(self.position_label)
        layout.addLayout(bar)
        self.panel = ImagePanel(h_label="x", v_label="y", value_unit=value_unit)
        self.panel.view.drawn.connect(self._on_drawn)
        self.panel.hovered.connect(self._on_hover)
        layout.addWidget(self.panel, 1)

    # -- volume and slices ----------------------------------------------------------------------
    def set_volume(self, data: np.ndarray, voxel_size_mm, origin_mm=(0.0, 0.0, 0.0), name: str = "",
                   *, keep_position: bool = False, levels: tuple[float, float] | None = None) -> None:
        same_shape = self.data is not None and self.data.shape == data.shape
        previous_mm = self.slice_position_mm() if self.data is not None else None
        self.data = data
        self.voxel = tuple(float(v) for v in voxel_size_mm)
        self.origin = tuple(float(o) for o in origin_mm)
        self.name = name
        if not (keep_position and same_shape):
            self.index = [s // 2 for s in data.shape]
            if keep_position and previous_mm is not None:  # a new grid: stay at the same height
                k = int(round((previous_mm - self.origin[self.axis]) / self.voxel[self.axis]))
                self.index[self.axis] = int(np.clip(k, 0, data.shape[self.axis] - 1))
        self.panel._levels = levels if levels is not None else (None if keep_position and same_shape
                                                                else robust_levels(data))
        if self.panel._levels is None:
            self.panel._levels = robust_levels(data)
        self._configure_slider()
        self._show(reset_view=not (keep_position and same_shape))

    def refresh(self, levels: tuple[float, float] | None = None) -> None:
        """Repaint the current slice (the data changed in place, e.g. a partial result)."""
        if self.data is not None:
            if levels is not None:
                self.panel._levels = levels
            self._show()

    def clear(self) -> None:
        self.data = None
        self.panel.clear()
        self.position_label.setText("no volume")

    def set_axis(self, axis: int) -> None:
        self.axis = int(axis)
        button = self.axis_buttons.button(self.axis)
        if not button.isChecked():
            button.setChecked(True)
        if self.data is not None:
            self._configure_slider()
            self._show(reset_view=True)

    def set_slice(self, index: int) -> None:
        if self.data is None:
            return
        n = self.data.shape[self.axis]
        self.index[self.axis] = int(np.clip(index, 0, n - 1))
        if self.slider.value() != self.index[self.axis]:
            self.slider.setValue(self.index[self.axis])
        else:
            self._show()

    def current_index(self) -> int:
        return self.index[self.axis]

    def slice_position_mm(self) -> float:
        return self.origin[self.axis] + self.index[self.axis] * self.voxel[self.axis]

    def current_image(self) -> np.ndarray | None:
        if self.data is None:
            return None
        k = self.index[self.axis]
        if self.axis == 0:
            return self.data[k]
        if self.axis == 1:
            return self.data[:, k, :]
        return self.data[:, :, k]

    def pixel_size_mm(self) -> tuple[float, float]:
        """(horizontal, vertical) mm per pixel of the current image."""
        h, v = _AXES_2D[self.axis]
        return self.voxel[h], self.voxel[v]

    def _configure_slider(self) -> None:
        n = self.data.shape[self.axis]
        self.slider.blockSignals(True)
        self.slider.setRange(0, n - 1)
        self.slider.setValue(self.index[self.axis])
        self.slider.blockSignals(False)
        h, v = _AXES_2D[self.axis]
        for side, world in (("bottom", h), ("left", v)):
            self.panel.plot.setLabel(side, f"{_WORLD[world]} (mm)")

    def _on_slider(self, value: int) -> None:
        self.index[self.axis] = int(value)
        self._show()
        self.sliceChanged.emit(self.axis, int(value))

    def _show(self, reset_view: bool = False) -> None:
        image = self.current_image()
        if image is None:
            return
        h, v = _AXES_2D[self.axis]
        self.panel.set_image(image, (self.origin[h], self.origin[v]), (self.voxel[h], self.voxel[v]),
                             levels=self.panel._levels, reset_view=reset_view)
        n = self.data.shape[self.axis]
        world = _WORLD[self.axis]
        self.position_label.setText(
            f"{world} = {self.slice_position_mm():+.3f} mm  (slice {self.index[self.axis] + 1} of {n})")

    def _on_hover(self, info: dict | None) -> None:
        if info is None or self.data is None:
            self.hovered.emit(None)
            return
        h, v = _AXES_2D[self.axis]
        position = {self.axis: self.slice_position_mm(), h: info["h"], v: info["v"]}
        self.hovered.emit({"z": position[0], "y": position[1], "x": position[2], "value": info["value"],
                           "unit": self.panel.value_unit})
        self.panel.readout.setText(
            f"z {position[0]:+.3f} mm · y {position[1]:+.3f} mm · x {position[2]:+.3f} mm · "
            f"value {format_value(info['value'], self.panel.value_unit)}")

    # -- ROIs -----------------------------------------------------------------------------------
    def set_draw_mode(self, target: str | None) -> None:
        """Left-drag draws ``target`` ("line" or a rectangle name); None: drag pans again."""
        self.draw_target = target
        self.panel.view.draw_mode = target
        cursor = Qt.CursorShape.CrossCursor if target else Qt.CursorShape.ArrowCursor
        self.panel.graphics.viewport().setCursor(cursor)

    def _on_drawn(self, start: QPointF, current: QPointF, finished: bool) -> None:
        target = self.draw_target
        if target is None:
            return
        if target == "line":
            self.set_line((start.x(), start.y()), (current.x(), current.y()))
        else:
            x0, x1 = sorted((start.x(), current.x()))
            y0, y1 = sorted((start.y(), current.y()))
            self.set_rect(target, (x0, y0, max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)))
        if finished:
            self.set_draw_mode(None)
            self.roiDrawn.emit(target)

    def set_rect(self, name: str, rect_mm: tuple[float, float, float, float]) -> pg.ROI:
        """Place rectangle ``name`` at (h0, v0, width, height) in view mm."""
        h0, v0, w, hgt = rect_mm
        roi = self.rois.get(name)
        if roi is None:
            color = ROI_COLORS.get(name, "#ffffff")
            roi = pg.RectROI((h0, v0), (w, hgt), pen=pg.mkPen(color, width=2), movable=True,
                             rotatable=False, removable=False)
            roi.addScaleHandle((0, 0), (1, 1))
            label = pg.TextItem(name if name in ("A", "B") else "ROI", color=color, anchor=(0, 1))
            label.setParentItem(roi)
            roi.sigRegionChanged.connect(lambda _r, n=name: self.roiChanged.emit(n))
            self.panel.plot.addItem(roi)
            self.rois[name] = roi
        roi.setPos((h0, v0), update=False, finish=False)
        roi.setSize((w, hgt), update=True, finish=True)
        self.roiChanged.emit(name)
        return roi

    def set_line(self, start_mm: tuple[float, float], end_mm: tuple[float, float]) -> pg.ROI:
        roi = self.rois.get("line")
        if roi is None:
            roi = pg.LineSegmentROI([start_mm, end_mm], pen=pg.mkPen(ROI_COLORS["line"], width=2))
            roi.sigRegionChanged.connect(lambda _r: self.roiChanged.emit("line"))
            self.panel.plot.addItem(roi)
            self.rois["line"] = roi
        else:
            handles = roi.getHandles()
            handles[0].setPos(QPointF(*start_mm) - roi.pos())
            handles[1].setPos(QPointF(*end_mm) - roi.pos())
            roi.stateChanged(finish=True)
        self.roiChanged.emit("line")
        return roi

    def remove_roi(self, name: str) -> None:
        roi = self.rois.pop(name, None)
        if roi is not None:
            self.panel.plot.removeItem(roi)

    def rect_mm(self, name: str) -> tuple[float, float, float, float] | None:
        roi = self.rois.get(name)
        if roi is None:
            return None
        pos, size = roi.pos(), roi.size()
        return pos.x(), pos.y(), size.x(), size.y()

    def rect_pixels(self, name: str) -> tuple[int, int, int, int] | None:
        """(row0, col0, rows, cols) of rectangle ``name`` in the current image's array."""
        rect = self.rect_mm(name)
        image = self.current_image()
        if rect is None or image is None:
            return None
        h0, v0, w, hgt = rect
        m = self.panel.map
        c0 = int(math.floor((h0 - m.origin[0]) / m.spacing[0] + 0.5))
        c1 = int(math.ceil((h0 + w - m.origin[0]) / m.spacing[0] + 0.5))
        r0 = int(math.floor((v0 - m.origin[1]) / m.spacing[1] + 0.5))
        r1 = int(math.ceil((v0 + hgt - m.origin[1]) / m.spacing[1] + 0.5))
        rows, cols = image.shape
        c0, c1 = max(0, c0), min(cols, c1)
        r0, r1 = max(0, r0), min(rows, r1)
        if c1 <= c0 or r1 <= r0:
            return None
        return r0, c0, r1 - r0, c1 - c0

    def region(self, name: str) -> np.ndarray | None:
        px = self.rect_pixels(name)
        image = self.current_image()
        if px is None or image is None:
            return None
        r0, c0, nr, nc = px
        return np.asarray(image[r0:r0 + nr, c0:c0 + nc])

    def line_pixels(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """The line's (row, col) end points in the current image's array."""
        roi = self.rois.get("line")
        if roi is None:
            return None
        points = [roi.mapToParent(h.pos()) for h in roi.getHandles()]
        return tuple(self.panel.map.to_index(p.x(), p.y()) for p in points)  # type: ignore[return-value]

    def line_mm(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        roi = self.rois.get("line")
        if roi is None:
            return None
        points = [roi.mapToParent(h.pos()) for h in roi.getHandles()]
        return (points[0].x(), points[0].y()), (points[1].x(), points[1].y())


class Thumbnail(QFrame):
    """A small image with a title and a caption; click to choose it."""

    clicked = Signal(int)

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.setObjectName("thumbnail")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        self.title = QLabel()
        self.title.setObjectName("thumbTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.title)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumSize(90, 90)
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.view = self.graphics.addViewBox(lockAspect=True)
        self.view.setMouseEnabled(False, False)
        self.view.setMenuEnabled(False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image_item)
        layout.addWidget(self.graphics, 1)
        self.caption = note_label(name="thumbCaption")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.caption)
        self.graphics.scene().sigMouseClicked.connect(lambda _ev: self.clicked.emit(self.index))
        self.set_selected(False)

    def set_content(self, image: np.ndarray, levels: tuple[float, float], title: str, caption: str,
                    spacing: tuple[float, float] = (1.0, 1.0)) -> None:
        image = np.asarray(image, dtype=np.float32)
        self.image_item.setImage(image, autoLevels=False, levels=levels)
        rect = QRectF(0, 0, image.shape[1] * spacing[0], image.shape[0] * spacing[1])
        self.image_item.setRect(rect)
        self.view.setRange(rect, padding=0.0)
        self.title.setText(title)
        self.caption.setText(caption)

    def set_levels(self, levels: tuple[float, float]) -> None:
        self.image_item.setLevels(levels)

    def set_selected(self, selected: bool, suggested: bool = False) -> None:
        self.setProperty("selected", selected)
        self.setProperty("suggested", suggested)
        self.style().unpolish(self)
        self.style().polish(self)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt naming
        self.clicked.emit(self.index)
        super().mousePressEvent(event)
