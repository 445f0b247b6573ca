"""The viewer's side panel: cut plane, slab, display, 3D, measurements, export.

Every control writes into the shared :class:`~.state.ViewerState` (or calls the viewer for the
actions that need a file name) and follows the state back, so the panel always shows what the
views show, whichever way the user changed it.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .colormaps import COLORMAPS
from .pane import LAYOUTS
from .planes import plane_angles, plane_from_normal
from .rendering import PRESETS
from .slice_view import HELP
from .state import TOOLS, ViewerState

if TYPE_CHECKING:
    from .widget import CrossSectionViewer

SLAB_CHOICES = [("Thin slice", None), ("Maximum (MIP)", "max"), ("Mean", "mean"), ("Minimum (MinIP)", "min")]
EXPORT_VIEWS = [
    ("Cut plane", "oblique"),
    ("Axial", "axial"),
    ("Coronal", "coronal"),
    ("Sagittal", "sagittal"),
]
TOOL_LABELS = {
    "navigate": "Navigate",
    "ruler": "Ruler",
    "angle": "Angle",
    "cut_line": "Cut along line",
    "three_points": "Cut through 3 points",
}


def _spin(low: float, high: float, step: float, decimals: int, suffix: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setSuffix(suffix)
    box.setKeyboardTracking(False)
    return box


class ControlPanel(QScrollArea):
    """Side panel of :class:`~.widget.CrossSectionViewer`."""

    def __init__(self, viewer: CrossSectionViewer, state: ViewerState) -> None:
        super().__init__(viewer)
        # Weak: the panel's lambdas (held by its buttons, inside the viewer) refer to the panel;
        # a strong reference back to the viewer would make a cycle that Python cannot collect.
        self._viewer = weakref.ref(viewer)
        self.state = state
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(300)
        self.setMaximumWidth(340)
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        for group in (
            self._view_group(),
            self._tool_group(),
            self._plane_group(),
            self._slab_group(),
            self._display_group(),
            self._render_group(),
            self._export_group(),
            self._help_group(),
        ):
            column.addWidget(group)
        column.addStretch(1)
        self.setWidget(body)
        state.obliqueChanged.connect(self.follow_plane)
        state.slabChanged.connect(self.follow_slab)
        state.displayChanged.connect(self.follow_display)
        state.toolChanged.connect(self.follow_tool)
        state.measurementsChanged.connect(self.follow_measurements)
        state.renderChanged.connect(self.follow_render)

    @property
    def viewer(self) -> CrossSectionViewer:
        return self._viewer()

    # -- groups ---------------------------------------------------------------------------------
    def _view_group(self) -> QGroupBox:
        group = QGroupBox("Views")
        form = QFormLayout(group)
        self.layout_box = QComboBox()
        self.layout_box.addItems(list(LAYOUTS))
        self.layout_box.currentTextChanged.connect(self.viewer.set_layout)
        form.addRow("Layout", self.layout_box)
        reset = QPushButton("Reset zoom and 3D camera")
        reset.clicked.connect(self.viewer.reset_views)
        form.addRow(reset)
        return group

    def _tool_group(self) -> QGroupBox:
        group = QGroupBox("Mouse tool")
        grid = QGridLayout(group)
        self.tools = QButtonGroup(self)
        self.tools.setExclusive(True)
        for i, (tool, label) in enumerate(TOOL_LABELS.items()):
            button = QToolButton()
            button.setText(label)
            button.setCheckable(True)
            button.setToolTip(TOOLS[tool])
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(
                button.sizePolicy().horizontalPolicy().Expanding, button.sizePolicy().verticalPolicy()
            )
            self.tools.addButton(button)
            button.clicked.connect(lambda _=False, t=tool: self.state.set_tool(t))
            button.setProperty("tool", tool)
            grid.addWidget(button, i // 2, i % 2)
        self.measure_list = QListWidget()
        self.measure_list.setMaximumHeight(80)
        grid.addWidget(self.measure_list, 3, 0, 1, 2)
        clear = QPushButton("Clear measurements")
        clear.clicked.connect(self.state.clear_measurements)
        grid.addWidget(clear, 4, 0, 1, 2)
        self.follow_tool()
        return group

    def _plane_group(self) -> QGroupBox:
        group = QGroupBox("Cut plane (normal x, y, z; z up)")
        grid = QGridLayout(group)
        self.normal_boxes = [_spin(-1.0, 1.0, 0.05, 3) for _ in range(3)]
        grid.addWidget(QLabel("Normal"), 0, 0)
        for i, box in enumerate(self.normal_boxes):
            box.setToolTip(f"{'xyz'[i]} component of the plane's normal")
            grid.addWidget(box, 0, i + 1)
        apply_normal = QPushButton("Set normal (through the cursor)")
        apply_normal.clicked.connect(self._apply_normal)
        grid.addWidget(apply_normal, 1, 0, 1, 4)
        self.azimuth = _spin(-180.0, 180.0, 1.0, 2, "°")
        self.elevation = _spin(-90.0, 90.0, 1.0, 2, "°")
        self.azimuth.setToolTip("direction of the normal's horizontal part, from +x towards +y")
        self.elevation.setToolTip("angle of the normal above horizontal: 0 is a vertical cut")
        self.azimuth.valueChanged.connect(self._apply_angles)
        self.elevation.valueChanged.connect(self._apply_angles)
        grid.addWidget(QLabel("Azimuth"), 2, 0)
        grid.addWidget(self.azimuth, 2, 1)
        grid.addWidget(QLabel("Elev."), 2, 2)
        grid.addWidget(self.elevation, 2, 3)
        self.offset = _spin(-1e4, 1e4, 0.01, 4, " mm")
        self.offset.setToolTip("position of the plane along its normal (distance from the sample origin)")
        self.offset.valueChanged.connect(self._apply_offset)
        grid.addWidget(QLabel("Offset"), 3, 0)
        grid.addWidget(self.offset, 3, 1, 1, 3)
        buttons = [
            ("Through cursor", self._through_cursor),
            ("From 3D view", self.viewer.set_cut_plane_from_camera),
            ("Flip side", self._flip),
            ("Reset", self._reset_plane),
        ]
        for i, (label, slot) in enumerate(buttons):
            button = QPushButton(label)
            button.clicked.connect(slot)
            grid.addWidget(button, 4 + i // 2, (i % 2) * 2, 1, 2)
        return group

    def _slab_group(self) -> QGroupBox:
        group = QGroupBox("Slab (all slices)")
        form = QFormLayout(group)
        self.slab_mode = QComboBox()
        for label, mode in SLAB_CHOICES:
            self.slab_mode.addItem(label, mode)
        self.slab_thickness = _spin(0.0, 1e3, 0.01, 3, " mm")
        self.slab_mode.currentIndexChanged.connect(self._apply_slab)
        self.slab_thickness.valueChanged.connect(self._apply_slab)
        form.addRow("Projection", self.slab_mode)
        form.addRow("Thickness", self.slab_thickness)
        return group

    def _display_group(self) -> QGroupBox:
        group = QGroupBox("Display")
        form = QFormLayout(group)
        self.window_preset = QComboBox()
        self.window_preset.activated.connect(
            lambda _: self.viewer.set_window_preset(self.window_preset.currentText())
        )
        self.low = _spin(-1e6, 1e6, 0.01, 4, " /mm")
        self.high = _spin(-1e6, 1e6, 0.01, 4, " /mm")
        self.low.valueChanged.connect(lambda _: self.state.set_window(self.low.value(), self.high.value()))
        self.high.valueChanged.connect(lambda _: self.state.set_window(self.low.value(), self.high.value()))
        self.colormap = QComboBox()
        self.colormap.addItems(list(COLORMAPS))
        self.colormap.currentTextChanged.connect(self.state.set_colormap)
        self.smooth = QCheckBox("Smooth pixels when zoomed")
        self.smooth.toggled.connect(self.state.set_smooth_pixels)
        form.addRow("Window", self.window_preset)
        form.addRow("Black at", self.low)
        form.addRow("White at", self.high)
        form.addRow("Colours", self.colormap)
        form.addRow(self.smooth)
        return group

    def _render_group(self) -> QGroupBox:
        group = QGroupBox("3D")
        form = QFormLayout(group)
        self.preset = QComboBox()
        for name, preset in PRESETS.items():
            self.preset.addItem(name)
            self.preset.setItemData(self.preset.count() - 1, preset.help, Qt.ItemDataRole.ToolTipRole)
        self.preset.currentTextChanged.connect(lambda name: self.state.set_render(render_preset=name))
        form.addRow("Preset", self.preset)
        look = QPushButton("Look at the cut face")
        look.clicked.connect(self.viewer.look_at_cut)
        form.addRow(look)
        self.render_checks = {}
        for key, label in (
            ("clip_3d", "Cut open at the cut plane"),
            ("clip_flip", "Keep the other half"),
            ("show_slice_3d", "Show the cut slice"),
            ("show_plane_handle", "Plane handle"),
        ):
            box = QCheckBox(label)
            box.setChecked(getattr(self.state, key))
            box.toggled.connect(lambda on, k=key: self.state.set_render(**{k: on}))
            self.render_checks[key] = box
            form.addRow(box)
        return group

    def _export_group(self) -> QGroupBox:
        group = QGroupBox("Export")
        grid = QGridLayout(group)
        self.export_view = QComboBox()
        for label, kind in EXPORT_VIEWS:
            self.export_view.addItem(label, kind)
        grid.addWidget(QLabel("Slice of"), 0, 0)
        grid.addWidget(self.export_view, 0, 1)
        actions = [
            ("Slice as 16-bit TIFF…", "tiff"),
            ("Slice as PNG…", "png"),
            ("Plane as JSON…", "plane"),
            ("Screenshot…", "screenshot"),
            ("Movie through volume…", "movie"),
        ]
        for i, (label, what) in enumerate(actions):
            button = QPushButton(label)
            button.clicked.connect(
                lambda _=False, w=what: self.viewer.export_dialog(w, self.export_view.currentData())
            )
            grid.addWidget(button, 1 + i // 2, i % 2)
        return group

    def _help_group(self) -> QGroupBox:
        group = QGroupBox("Mouse and keys")
        text = QLabel(HELP)
        text.setWordWrap(True)
        text.setStyleSheet("font-size: small;")
        QVBoxLayout(group).addWidget(text)
        return group

    # -- control → state --------------------------------------------------------------------------
    def _apply_normal(self) -> None:
        normal = [box.value() for box in self.normal_boxes]
        try:
            plane = plane_from_normal(self.state.cursor, normal, up=self.state.oblique.v)
        except ValueError as exc:
            self.state.message.emit(str(exc))
            return
        self.state.set_oblique(plane)

    def _apply_angles(self) -> None:
        az, el = np.radians(self.azimuth.value()), np.radians(self.elevation.value())
        normal = (np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el))
        self.state.set_oblique(plane_from_normal(self.state.oblique.point, normal, up=self.state.oblique.v))

    def _apply_offset(self, value: float) -> None:
        plane = self.state.oblique
        self.state.set_oblique(plane.translated(value - float(plane.point @ plane.normal)))

    def _through_cursor(self) -> None:
        self.state.set_oblique(self.state.oblique.moved_to(self.state.cursor))

    def _flip(self) -> None:
        self.state.set_oblique(self.state.oblique.flipped())

    def _reset_plane(self) -> None:
        self.state.set_oblique(plane_from_normal(self.state.cursor, (1, -1, 0)))

    def _apply_slab(self) -> None:
        mode = self.slab_mode.currentData()
        thickness = self.slab_thickness.value()
        if mode is None:
            self.state.set_slab(0.0)
            return
        if thickness <= 0:
            step = min(self.state.grid.voxel_size_mm) if self.state.grid else 0.01
            with QSignalBlocker(self.slab_thickness):
                self.slab_thickness.setValue(10 * step)
            thickness = self.slab_thickness.value()
        self.state.set_slab(thickness, mode)

    # -- state → control --------------------------------------------------------------------------
    def follow_volume(self, window_presets: dict[str, tuple[float, float]]) -> None:
        grid = self.state.grid
        step = float(min(grid.voxel_size_mm))
        with QSignalBlocker(self.window_preset):
            self.window_preset.clear()
            self.window_preset.addItems(list(window_presets))
        for box in (self.low, self.high):
            box.setSingleStep(max(abs(window_presets["Full range"][1]) / 100, 1e-4))
        with QSignalBlocker(self.slab_thickness):
            self.slab_thickness.setSingleStep(step)
            self.slab_thickness.setRange(0.0, float(np.linalg.norm(np.subtract(*grid.bounds()[::-1]))))
        self.offset.setSingleStep(step)
        self.follow_plane()
        self.follow_slab()
        self.follow_display()

    def follow_plane(self) -> None:
        plane = self.state.oblique
        angles = plane_angles(plane)
        boxes = [*self.normal_boxes, self.azimuth, self.elevation, self.offset]
        blockers = [QSignalBlocker(b) for b in boxes]
        for box, value in zip(self.normal_boxes, plane.normal, strict=True):
            box.setValue(float(value))
        if not np.isnan(angles["normal_azimuth_deg"]):
            self.azimuth.setValue(angles["normal_azimuth_deg"])
        self.elevation.setValue(angles["normal_elevation_deg"])
        self.offset.setValue(float(plane.point @ plane.normal))
        del blockers

    def follow_slab(self) -> None:
        state = self.state
        with QSignalBlocker(self.slab_mode), QSignalBlocker(self.slab_thickness):
            mode = state.slab_mode if state.slab_mm > 0 else None
            self.slab_mode.setCurrentIndex([m for _, m in SLAB_CHOICES].index(mode))
            if state.slab_mm > 0:
                self.slab_thickness.setValue(state.slab_mm)

    def follow_display(self) -> None:
        state = self.state
        with QSignalBlocker(self.low), QSignalBlocker(self.high), QSignalBlocker(self.colormap):
            self.low.setValue(state.window_low)
            self.high.setValue(state.window_high)
            self.colormap.setCurrentText(state.colormap)
        with QSignalBlocker(self.smooth):
            self.smooth.setChecked(state.smooth_pixels)

    def follow_tool(self) -> None:
        for button in self.tools.buttons():
            with QSignalBlocker(button):
                button.setChecked(button.property("tool") == self.state.tool)

    def follow_measurements(self) -> None:
        self.measure_list.clear()
        for measurement in self.state.measurements:
            self.measure_list.addItem(measurement.describe())
        self.measure_list.scrollToBottom()

    def follow_render(self) -> None:
        with QSignalBlocker(self.preset):
            self.preset.setCurrentText(self.state.render_preset)
        for key, box in self.render_checks.items():
            with QSignalBlocker(box):
                box.setChecked(getattr(self.state, key))
