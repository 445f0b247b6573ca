"""Small VTK drawing helpers for the views: polylines, text, a scale bar, a view border.

Each helper owns its VTK objects and exposes one ``update`` style method, so that the views
redraw overlays by handing over coordinates, never by rebuilding pipelines.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkActor2D,
    vtkCoordinate,
    vtkPolyDataMapper,
    vtkPolyDataMapper2D,
    vtkTextActor,
)

from .fonts import UNICODE_FONT
from .measure import format_length, nice_length

VTK_FONT_FILE = 4  # vtkTextProperty's font family "use the font file"


def _polydata(polylines: Sequence[np.ndarray]) -> vtkPolyData:
    poly = vtkPolyData()
    set_polylines(poly, polylines)
    return poly


def set_polylines(poly: vtkPolyData, polylines: Sequence[np.ndarray]) -> None:
    """Replace ``poly``'s geometry with the given polylines, each an (n, 2 or 3) array."""
    chunks = []
    cells = vtkCellArray()
    start = 0
    for line in polylines:
        line = np.asarray(line, dtype=np.float64)
        if line.ndim != 2 or len(line) < 2:
            continue
        if line.shape[1] == 2:
            line = np.column_stack([line, np.zeros(len(line))])
        chunks.append(line)
        cells.InsertNextCell(len(line))
        for i in range(len(line)):
            cells.InsertCellPoint(start + i)
        start += len(line)
    points = vtkPoints()
    if chunks:
        points.SetData(numpy_to_vtk(np.ascontiguousarray(np.vstack(chunks)), deep=True))
    poly.SetPoints(points)
    poly.SetLines(cells)
    poly.Modified()


class Polylines:
    """World-space lines (in a 2D view: the plane's (u, v) coordinates at z = 0)."""

    def __init__(self, color, width: float = 1.5, opacity: float = 1.0) -> None:
        self.poly = _polydata([])
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(self.poly)
        self.actor = vtkActor()
        self.actor.SetMapper(mapper)
        prop = self.actor.GetProperty()
        prop.SetColor(*color)
        prop.SetLineWidth(width)
        prop.SetOpacity(opacity)
        prop.LightingOff()
        self.actor.PickableOff()

    def set(self, polylines: Sequence[np.ndarray]) -> None:
        set_polylines(self.poly, polylines)
        self.actor.SetVisibility(bool(polylines))

    def set_color(self, color) -> None:
        self.actor.GetProperty().SetColor(*color)


class ScreenLines:
    """Lines in viewport pixels (or normalized viewport units), drawn over everything."""

    def __init__(self, color, width: float = 2.0, normalized: bool = False) -> None:
        self.poly = _polydata([])
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self.poly)
        if normalized:
            coordinate = vtkCoordinate()
            coordinate.SetCoordinateSystemToNormalizedViewport()
            mapper.SetTransformCoordinate(coordinate)
        self.actor = vtkActor2D()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetColor(*color)
        self.actor.GetProperty().SetLineWidth(width)

    def set(self, polylines: Sequence[np.ndarray]) -> None:
        set_polylines(self.poly, polylines)


def text_actor(
    size: int = 14,
    color=(0.92, 0.92, 0.92),
    horizontal: str = "left",
    vertical: str = "bottom",
    bold: bool = False,
) -> vtkTextActor:
    """A text actor; place it with ``position_normalized`` or a world coordinate."""
    actor = vtkTextActor()
    prop = actor.GetTextProperty()
    prop.SetFontSize(size)
    prop.SetColor(*color)
    prop.SetBold(bold)
    prop.SetShadow(True)
    prop.SetShadowOffset(1, -1)
    if UNICODE_FONT is not None:
        prop.SetFontFamily(VTK_FONT_FILE)
        prop.SetFontFile(str(UNICODE_FONT))
    else:
        prop.SetFontFamilyToArial()
    {
        "left": prop.SetJustificationToLeft,
        "center": prop.SetJustificationToCentered,
        "right": prop.SetJustificationToRight,
    }[horizontal]()
    {
        "bottom": prop.SetVerticalJustificationToBottom,
        "center": prop.SetVerticalJustificationToCentered,
        "top": prop.SetVerticalJustificationToTop,
    }[vertical]()
    return actor


def place_normalized(actor: vtkTextActor, x: float, y: float) -> None:
    coordinate = actor.GetPositionCoordinate()
    coordinate.SetCoordinateSystemToNormalizedViewport()
    coordinate.SetValue(x, y)


def place_world(actor: vtkTextActor, point) -> None:
    coordinate = actor.GetPositionCoordinate()
    coordinate.SetCoordinateSystemToWorld()
    coordinate.SetValue(float(point[0]), float(point[1]), float(point[2]) if len(point) > 2 else 0.0)


class ScaleBar:
    """A bar of a round length (1, 2 or 5 × 10^k mm) with its label, lower left of a 2D view."""

    def __init__(self) -> None:
        self.shadow = ScreenLines((0.0, 0.0, 0.0), width=6.0)
        self.bar = ScreenLines((1.0, 1.0, 1.0), width=3.0)
        self.label = text_actor(14, horizontal="center", vertical="bottom", bold=True)

    @property
    def actors(self) -> list:
        return [self.shadow.actor, self.bar.actor, self.label]

    def update(self, mm_per_pixel: float, width_px: int, height_px: int) -> None:
        length = nice_length(0.22 * width_px * mm_per_pixel) if mm_per_pixel > 0 else 0.0
        if length <= 0 or width_px < 40:
            for actor in self.actors:
                actor.VisibilityOff()
            return
        pixels = length / mm_per_pixel
        x0, y = 16.0, 18.0
        line = np.array([[x0, y], [x0 + pixels, y]])
        ticks = [
            line,
            np.array([[x0, y - 5], [x0, y + 5]]),
            np.array([[x0 + pixels, y - 5], [x0 + pixels, y + 5]]),
        ]
        self.shadow.set(ticks)
        self.bar.set(ticks)
        self.label.SetInput(format_length(length))
        coordinate = self.label.GetPositionCoordinate()
        coordinate.SetCoordinateSystemToViewport()
        coordinate.SetValue(x0 + pixels / 2, y + 7)
        for actor in self.actors:
            actor.VisibilityOn()


def direction_label(vector, names=("x", "y", "z")) -> str:
    """'+x' for a vector along an axis, otherwise its components, e.g. '(0.71, 0.71, 0.00)'."""
    vector = np.asarray(vector, dtype=np.float64)
    axis = int(np.argmax(np.abs(vector)))
    if abs(abs(vector[axis]) - 1.0) < 1e-6:
        return ("+" if vector[axis] > 0 else "-") + names[axis]
    return "(" + ", ".join(f"{c:+.2f}" for c in vector) + ")"
