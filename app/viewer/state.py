"""What every view of the viewer agrees on: cursor, cut plane, slab, display, tool, measurements.

One :class:`ViewerState` is shared by all views of both volumes (side by side), which is what
links their crosshairs and planes: a view changes the state, the state says so, every view
redraws what concerns it. Positions and planes are world (x, y, z) millimetres (see
:mod:`.planes`); the public widget converts to the app's (z, y, x) at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Signal

from .colormaps import DEFAULT_COLORMAP
from .measure import angle_deg, distance_mm, format_length
from .planes import Plane, plane_from_normal
from .rendering import DEFAULT_PRESET
from .reslice import SLAB_MODES, VolumeGrid

TOOLS = {
    "navigate": "Navigate: click to move the cursor, drag a coloured plane line to turn or move it",
    "ruler": "Ruler: drag a line to measure a length in mm",
    "angle": "Angle: click three points (arm, vertex, arm)",
    "cut_line": "Cut along a line: drag a line; the cut plane goes through it, square to the view",
    "three_points": "Three points: click three points on any slices; the cut plane goes through them",
}


@dataclass
class Measurement:
    """A ruler (2 points) or an angle (3 points, the vertex in the middle), world mm."""

    kind: str
    points: list[np.ndarray]
    normal: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))

    def value(self) -> float:
        if self.kind == "ruler":
            return distance_mm(*self.points[:2])
        return angle_deg(*self.points[:3])

    def label(self) -> str:
        if self.kind == "ruler":
            return format_length(self.value())
        return f"{self.value():.1f}°"

    def describe(self) -> str:
        where = ", ".join("(" + ", ".join(f"{c:.3f}" for c in p) + ")" for p in self.points)
        name = "Length" if self.kind == "ruler" else "Angle"
        return f"{name} {self.label()}  at {where} mm"


class ViewerState(QObject):
    """Shared, observable settings of the viewer. Setters emit only on a real change."""

    cursorChanged = Signal()
    obliqueChanged = Signal()
    slabChanged = Signal()
    displayChanged = Signal()
    renderChanged = Signal()
    toolChanged = Signal()
    measurementsChanged = Signal()
    hoverChanged = Signal(str)
    message = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.grid: VolumeGrid | None = None
        self.cursor = np.zeros(3)
        self.oblique: Plane = plane_from_normal((0, 0, 0), (1, -1, 0))
        self.slab_mm = 0.0
        self.slab_mode = "max"
        self.window_low, self.window_high = 0.0, 1.0
        self.colormap = DEFAULT_COLORMAP
        self.smooth_pixels = False
        self.render_preset = DEFAULT_PRESET
        self.clip_3d = True
        self.clip_flip = False
        self.show_slice_3d = False
        self.show_plane_handle = True
        self.tool = "navigate"
        self.measurements: list[Measurement] = []
        self.picked: list[np.ndarray] = []

    # -- geometry -----------------------------------------------------------------------------
    def set_grid(self, grid: VolumeGrid) -> None:
        """A new main volume: cursor and cut plane start at its centre."""
        self.grid = grid
        self.cursor = grid.centre()
        self.oblique = plane_from_normal(self.cursor, (1, -1, 0))
        self.measurements.clear()
        self.picked.clear()

    def set_cursor(self, point) -> None:
        point = np.asarray(point, dtype=np.float64)
        if self.grid is not None:
            point = self.grid.clamp(point)
        if np.allclose(point, self.cursor, atol=1e-12):
            return
        self.cursor = point
        self.cursorChanged.emit()

    def set_oblique(self, plane: Plane) -> None:
        if plane.same_as(self.oblique):
            return
        self.oblique = plane
        self.obliqueChanged.emit()

    def set_slab(self, thickness_mm: float, mode: str | None = None) -> None:
        mode = self.slab_mode if mode is None else mode
        if mode not in SLAB_MODES:
            raise ValueError(f"slab projection {mode!r} is not one of {', '.join(SLAB_MODES)}")
        thickness_mm = max(0.0, float(thickness_mm))
        if thickness_mm == self.slab_mm and mode == self.slab_mode:
            return
        self.slab_mm, self.slab_mode = thickness_mm, mode
        self.slabChanged.emit()

    # -- display ------------------------------------------------------------------------------
    def set_window(self, low: float, high: float) -> None:
        low, high = float(low), float(high)
        if high <= low:
            high = low + 1e-6
        if (low, high) == (self.window_low, self.window_high):
            return
        self.window_low, self.window_high = low, high
        self.displayChanged.emit()

    @property
    def window_level(self) -> tuple[float, float]:
        return self.window_high - self.window_low, (self.window_high + self.window_low) / 2

    def set_colormap(self, name: str) -> None:
        if name != self.colormap:
            self.colormap = name
            self.displayChanged.emit()

    def set_smooth_pixels(self, smooth: bool) -> None:
        if bool(smooth) != self.smooth_pixels:
            self.smooth_pixels = bool(smooth)
            self.displayChanged.emit()

    def set_render(self, **options) -> None:
        """Set 3D options: render_preset, clip_3d, clip_flip, show_slice_3d, show_plane_handle."""
        changed = False
        for key, value in options.items():
            if not hasattr(self, key):
                raise AttributeError(f"no 3D option {key!r}")
            if getattr(self, key) != value:
                setattr(self, key, value)
                changed = True
        if changed:
            self.renderChanged.emit()

    # -- tools and measurements -----------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}: use one of {', '.join(TOOLS)}")
        if tool != self.tool or self.picked:
            self.tool = tool
            self.picked.clear()
            self.toolChanged.emit()
            self.message.emit(TOOLS[tool])

    def add_measurement(self, measurement: Measurement) -> None:
        self.measurements.append(measurement)
        self.measurementsChanged.emit()
        self.message.emit(measurement.describe())

    def clear_measurements(self) -> None:
        self.measurements.clear()
        self.picked.clear()
        self.measurementsChanged.emit()
