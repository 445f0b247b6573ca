"""One 2D view of a volume: an orthogonal or the oblique slice, its crosshairs, tools and labels.

The view shows the output of its own :class:`~.reslice.PlaneSampler` in the plane's (u, v)
millimetres (u right, v up, seen from the normal's side), with a parallel camera. Overlays sit on
a second renderer layer that shares the camera: the traces of the other views' planes (their
colours), the cut plane's handle, measurements, the scale bar, orientation and readout text.
Mouse and keys: see :data:`HELP`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from vtkmodules.vtkCommonCore import vtkLookupTable
from vtkmodules.vtkRenderingCore import vtkImageActor, vtkRenderer

from .colormaps import colormap_table
from .measure import format_length
from .overlays import (
    Polylines,
    ScaleBar,
    ScreenLines,
    direction_label,
    place_normalized,
    place_world,
    text_actor,
)
from .planes import (
    Plane,
    intersection_line,
    orthogonal_plane,
    plane_angles,
    plane_from_points,
    plane_through_line,
)
from .reslice import PlaneSampler, SliceLayout
from .state import Measurement, ViewerState
from .vtk_qt import VTKWidget

VIEW_COLORS = {
    "axial": (0.95, 0.33, 0.33),
    "coronal": (0.35, 0.85, 0.4),
    "sagittal": (0.4, 0.62, 1.0),
    "oblique": (1.0, 0.84, 0.2),
}
VIEW_TITLES = {
    "axial": "Axial (top)",
    "coronal": "Coronal (front)",
    "sagittal": "Sagittal (side)",
    "oblique": "Cut plane",
}
HELP = (
    "Left click or drag: move the cursor. In a top/front/side view, drag the yellow cut-plane line to "
    "turn the cut plane, drag its round handle to move it. Right drag: window/level. Middle or "
    "Shift+left drag: pan. Wheel: step through slices (Shift: x10); Ctrl+wheel: zoom. Cut-plane view: "
    "arrow keys tilt the plane (Shift: 5°), Page Up/Down move it. R: reset zoom. Double click: "
    "maximize the view / back."
)
PICK_TOLERANCE_PX = 7.0
HANDLE_RADIUS_PX = 7.0
CAMERA_DISTANCE_MM = 1000.0


class SliceView(VTKWidget):
    """A 2D view of ``kind`` ("axial", "coronal", "sagittal" or "oblique") driven by ``state``."""

    forward_events = False
    maximizeRequested = Signal(str)
    cameraChanged = Signal(str)

    def __init__(self, kind: str, state: ViewerState, parent=None) -> None:
        super().__init__(parent)
        self.kind, self.state = kind, state
        self.color = VIEW_COLORS[kind]
        self.sampler: PlaneSampler | None = None
        self.plane: Plane | None = None
        self.layout: SliceLayout | None = None
        self._drag: tuple | None = None
        self._hover = ""
        self.volume_name = ""
        self.user_camera = False
        self.setMinimumSize(120, 120)

        window = self.GetRenderWindow()
        window.SetNumberOfLayers(2)
        self.renderer.SetBackground(0.0, 0.0, 0.0)
        camera = self.renderer.GetActiveCamera()
        camera.ParallelProjectionOn()
        self.overlay = vtkRenderer()
        self.overlay.SetLayer(1)
        self.overlay.InteractiveOff()
        self.overlay.SetActiveCamera(camera)
        window.AddRenderer(self.overlay)

        self.lut = vtkLookupTable()
        self.image_actor = vtkImageActor()
        self.image_actor.VisibilityOff()
        prop = self.image_actor.GetProperty()
        prop.SetLookupTable(self.lut)
        prop.UseLookupTableScalarRangeOff()
        self.renderer.AddViewProp(self.image_actor)

        others = [k for k in VIEW_COLORS if k != kind]
        self.traces = {k: Polylines(VIEW_COLORS[k], width=1.5, opacity=0.85) for k in others}
        self.handle = Polylines(VIEW_COLORS["oblique"], width=2.0)
        self.measures = Polylines((1.0, 0.55, 0.1), width=2.0)
        self.picks = Polylines((1.0, 0.3, 1.0), width=2.0)
        self.rubber = Polylines((1.0, 1.0, 1.0), width=1.5)
        self.border = ScreenLines(self.color, width=3.0, normalized=True)
        self.border.set([np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)])
        self.scale_bar = ScaleBar()
        self.title = text_actor(15, self.color, "left", "top", bold=True)
        self.subtitle = text_actor(13, self.color, "left", "top")
        self.info = text_actor(13, horizontal="right", vertical="top")
        self.readout = text_actor(13, horizontal="right", vertical="bottom")
        self.right_label = text_actor(13, (0.85, 0.85, 0.85), "right", "center", bold=True)
        self.up_label = text_actor(13, (0.85, 0.85, 0.85), "center", "top", bold=True)
        place_normalized(self.title, 0.012, 0.985)
        place_normalized(self.info, 0.988, 0.985)
        place_normalized(self.readout, 0.988, 0.012)
        place_normalized(self.right_label, 0.988, 0.5)
        self.measure_labels: list = []
        for item in [*self.traces.values(), self.handle, self.measures, self.picks, self.rubber]:
            self.overlay.AddViewProp(item.actor)
        for actor in [
            self.border.actor,
            *self.scale_bar.actors,
            self.title,
            self.subtitle,
            self.info,
            self.readout,
            self.right_label,
            self.up_label,
        ]:
            self.overlay.AddViewProp(actor)
        self.rubber.set([])

        for signal in (state.cursorChanged, state.obliqueChanged, state.slabChanged):
            signal.connect(self.refresh_plane)
        state.displayChanged.connect(self.refresh_display)
        for signal in (state.measurementsChanged, state.toolChanged):
            signal.connect(self.request_render)
        self.refresh_display()

    # -- volume and plane -----------------------------------------------------------------------
    def attach(self, sampler: PlaneSampler | None) -> None:
        """Show slices of ``sampler``'s volume (None: show nothing)."""
        self.sampler = sampler
        self.plane = self.layout = None
        if sampler is None:
            self.image_actor.VisibilityOff()
            self.image_actor.GetMapper().RemoveAllInputConnections(0)
            self.request_render()
            return
        self.image_actor.GetMapper().SetInputConnection(sampler.reslice.GetOutputPort())
        self.image_actor.VisibilityOn()
        self.refresh_plane()
        self.reset_camera()

    def target_plane(self) -> Plane:
        """The plane this view should show now, its point the volume centre projected onto it."""
        state = self.state
        if self.kind == "oblique":
            plane = state.oblique
        else:
            plane = self._shown_orthogonal(self.kind)
        anchor = (state.grid or self.sampler.grid).centre()
        return plane.moved_to(anchor - plane.distance(anchor) * plane.normal)

    def _shown_orthogonal(self, kind: str) -> Plane:
        """The orthogonal plane ``kind`` as its view shows it: through the cursor's voxel layer."""
        normal = orthogonal_plane(kind, self.state.cursor).normal
        return orthogonal_plane(kind, self.sampler.grid.snap_to_voxel(self.state.cursor, normal))

    def refresh_plane(self) -> None:
        if self.sampler is None or self.closed:
            return
        plane = self.target_plane()
        layout = self.sampler.layout_for(plane, slab_mm=self.state.slab_mm, slab_mode=self.state.slab_mode)
        if self.plane is None or not plane.same_as(self.plane) or layout != self.layout:
            self.sampler.configure(plane, layout, "linear")
            self.plane, self.layout = plane, layout
        self.request_render()

    def refresh_display(self) -> None:
        state = self.state
        table = colormap_table(state.colormap)
        self.lut.SetNumberOfTableValues(len(table))
        for i, (r, g, b) in enumerate(table):
            self.lut.SetTableValue(i, r, g, b, 1.0)
        self.lut.SetRange(state.window_low, state.window_high)
        self.lut.Build()
        window, level = state.window_level
        prop = self.image_actor.GetProperty()
        prop.SetColorWindow(window)
        prop.SetColorLevel(level)
        if state.smooth_pixels:
            prop.SetInterpolationTypeToLinear()
        else:
            prop.SetInterpolationTypeToNearest()
        self.request_render()

    def slice_image(self):
        """The slice as shown, as a :class:`~.reslice.SliceImage` (for export)."""
        if self.sampler is None:
            raise ValueError("no volume is loaded: open a volume first")
        return PlaneSampler.sharing(self.sampler).sample(
            self.target_plane(), slab_mm=self.state.slab_mm, slab_mode=self.state.slab_mode
        )

    # -- camera ----------------------------------------------------------------------------------
    def mm_per_pixel(self) -> float:
        height = max(self.renderer.GetSize()[1], 1)
        return 2.0 * self.renderer.GetActiveCamera().GetParallelScale() / height

    def reset_camera(self) -> None:
        """Fit the whole section of the volume in the view."""
        if self.layout is None:
            return
        lay = self.layout
        width_mm = (lay.columns - 1) * lay.pixel_size_mm + lay.pixel_size_mm
        height_mm = (lay.rows - 1) * lay.pixel_size_mm + lay.pixel_size_mm
        centre = (
            lay.u0 + (lay.columns - 1) * lay.pixel_size_mm / 2,
            lay.v0 + (lay.rows - 1) * lay.pixel_size_mm / 2,
        )
        w, h = (max(s, 1) for s in self.renderer.GetSize())
        if w <= 1 or h <= 1:
            w, h = max(self.width(), 1), max(self.height(), 1)
        scale = max(height_mm / 2, width_mm / 2 * h / w) * 1.08
        self.set_camera(centre, scale)
        self.user_camera = False
        self.cameraChanged.emit(self.kind)

    def camera_state(self) -> tuple[tuple[float, float], float]:
        camera = self.renderer.GetActiveCamera()
        focal = camera.GetFocalPoint()
        return (focal[0], focal[1]), camera.GetParallelScale()

    def set_camera(self, centre, scale: float) -> None:
        camera = self.renderer.GetActiveCamera()
        camera.SetFocalPoint(centre[0], centre[1], 0.0)
        camera.SetPosition(centre[0], centre[1], CAMERA_DISTANCE_MM)
        camera.SetViewUp(0.0, 1.0, 0.0)
        camera.SetParallelScale(max(scale, 1e-6))
        camera.SetClippingRange(CAMERA_DISTANCE_MM / 2, CAMERA_DISTANCE_MM * 1.5)
        self.request_render()

    def on_resize(self) -> None:
        # Until the user zooms or pans, the whole section stays in view whatever the size.
        if getattr(self, "user_camera", True):
            self.request_render()
        else:
            self.reset_camera()

    def display_to_plane(self, x: float, y: float) -> np.ndarray:
        self.renderer.SetDisplayPoint(x, y, 0.0)
        self.renderer.DisplayToWorld()
        wx, wy, _, ww = self.renderer.GetWorldPoint()
        return np.array([wx / ww, wy / ww])

    def plane_to_display(self, uv) -> np.ndarray:
        self.renderer.SetWorldPoint(float(uv[0]), float(uv[1]), 0.0, 1.0)
        self.renderer.WorldToDisplay()
        return np.array(self.renderer.GetDisplayPoint()[:2])

    # -- overlays (recomputed just before each render) ---------------------------------------------
    def _line(self, other: Plane, length: float) -> np.ndarray | None:
        crossing = intersection_line(self.plane, other)
        if crossing is None:
            return None
        point, direction = crossing
        return np.array([point - length * direction, point + length * direction])

    def before_render(self) -> None:
        if self.plane is None or self.closed:
            for item in [*self.traces.values(), self.handle, self.measures, self.picks]:
                item.set([])
            return
        state = self.state
        low, high = self.sampler.grid.bounds()
        reach = float(np.linalg.norm(high - low)) * 2
        for kind, trace in self.traces.items():
            other = state.oblique if kind == "oblique" else self._shown_orthogonal(kind)
            line = self._line(other, reach)
            trace.set([] if line is None else [line])
        self._draw_handle()
        self._draw_measurements()
        self._draw_labels()
        size = self.renderer.GetSize()
        self.scale_bar.update(self.mm_per_pixel(), size[0], size[1])

    def _handle_centre(self) -> np.ndarray | None:
        """In-plane point of the cut-plane handle: the trace's point nearest the cursor."""
        if self.kind == "oblique":
            return None
        crossing = intersection_line(self.plane, self.state.oblique)
        if crossing is None:
            return None
        point, direction = crossing
        cursor = self.plane.to_plane(self.state.cursor)[:2]
        return point + ((cursor - point) @ direction) * direction

    def _draw_handle(self) -> None:
        centre = self._handle_centre()
        if centre is None:
            self.handle.set([])
            return
        radius = HANDLE_RADIUS_PX * self.mm_per_pixel()
        angles = np.linspace(0, 2 * np.pi, 25)
        self.handle.set([centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])])

    def _on_plane(self, point) -> bool:
        tolerance = max(self.state.slab_mm / 2, min(self.sampler.grid.voxel_size_mm) * 0.51)
        return abs(float(self.plane.distance(point))) <= tolerance

    def _cross(self, uv, size: float) -> list[np.ndarray]:
        return [
            np.array([uv + (-size, -size), uv + (size, size)]),
            np.array([uv + (-size, size), uv + (size, -size)]),
        ]

    def _draw_measurements(self) -> None:
        for actor in self.measure_labels:
            self.overlay.RemoveViewProp(actor)
        self.measure_labels = []
        lines = []
        for measurement in self.state.measurements:
            if not all(self._on_plane(p) for p in measurement.points):
                continue
            uv = self.plane.to_plane(np.array(measurement.points))[:, :2]
            lines.append(uv)
            label = text_actor(14, (1.0, 0.7, 0.3), "left", "bottom", bold=True)
            label.SetInput(measurement.label())
            place_world(label, (*uv[-1], 0.0))
            self.overlay.AddViewProp(label)
            self.measure_labels.append(label)
        self.measures.set(lines)
        size = 5 * self.mm_per_pixel()
        picks = [
            c
            for p in self.state.picked
            if self._on_plane(p)
            for c in self._cross(self.plane.to_plane(p)[:2], size)
        ]
        self.picks.set(picks)

    def _draw_labels(self) -> None:
        state, plane = self.state, self.plane
        title = VIEW_TITLES[self.kind]
        if self.kind == "oblique":
            angles = plane_angles(state.oblique)
            az = angles["normal_azimuth_deg"]
            az_text = "-" if np.isnan(az) else f"{az:.1f}°"
            position = (
                f"normal azimuth {az_text}, elevation {angles['normal_elevation_deg']:.1f}°\n"
                f"offset {float(state.oblique.point @ state.oblique.normal):+.3f} mm"
            )
        else:
            axis = int(np.argmax(np.abs(plane.normal)))
            position = f"{'xyz'[axis]} = {float(plane.point[axis]):+.3f} mm"
        self.title.SetInput(title)
        self.subtitle.SetInput(position)
        width, height = self.renderer.GetSize()
        coordinate = self.subtitle.GetPositionCoordinate()
        coordinate.SetCoordinateSystemToViewport()
        coordinate.SetValue(0.012 * width, height - 0.015 * height - 22)  # one title line lower
        lines = position.count("\n") + 1
        coordinate = self.up_label.GetPositionCoordinate()
        coordinate.SetCoordinateSystemToViewport()
        coordinate.SetValue(0.5 * width, height - 0.015 * height - 26 - 16 * lines)  # below the titles
        window, level = state.window_level
        info = f"W {window:.3g}  L {level:.3g} /mm"
        if state.slab_mm > 0:
            mode = {"max": "MIP", "mean": "mean", "min": "MinIP"}[state.slab_mode]
            info += f"\nslab {mode} {format_length(self.layout.slab_mm)}"
        self.info.SetInput(info)
        self.readout.SetInput(self._hover)
        self.right_label.SetInput(direction_label(plane.u))
        self.up_label.SetInput(direction_label(plane.v))

    # -- mouse and keys ---------------------------------------------------------------------------
    def _world(self, event) -> np.ndarray:
        uv = self.display_to_plane(*self.display_position(event))
        return self.plane.to_world(uv[0], uv[1])

    def _near_trace(self, x: float, y: float) -> str | None:
        """'handle' or 'line' when (x, y) is on the cut plane's trace in this view."""
        centre = self._handle_centre()
        if centre is None:
            return None
        here = np.array([x, y])
        if np.linalg.norm(self.plane_to_display(centre) - here) <= HANDLE_RADIUS_PX + 3:
            return "handle"
        point, direction = intersection_line(self.plane, self.state.oblique)
        a, b = self.plane_to_display(point), self.plane_to_display(point + direction)
        along = (b - a) / max(np.linalg.norm(b - a), 1e-12)
        offset = here - a
        if abs(offset[0] * along[1] - offset[1] * along[0]) <= PICK_TOLERANCE_PX:
            return "line"
        return None

    def on_press(self, event) -> None:
        self.setFocus()
        if self.plane is None:
            return
        button, modifiers = event.button(), event.modifiers()
        x, y = self.display_position(event)
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and modifiers & Qt.KeyboardModifier.ShiftModifier
        ):
            self._drag = ("pan", self.display_to_plane(x, y))
            return
        if button == Qt.MouseButton.RightButton:
            self._drag = ("window", np.array([x, y]), self.state.window_low, self.state.window_high)
            return
        if button != Qt.MouseButton.LeftButton:
            return
        world = self._world(event)
        tool = self.state.tool
        if tool == "navigate":
            near = self._near_trace(x, y)
            if near == "handle":
                self._drag = ("move_plane", world, self.state.oblique)
            elif near == "line":
                centre = self.plane.to_world(*self._handle_centre())
                self._drag = ("turn_plane", centre, self._angle_about(centre, world), self.state.oblique)
            else:
                self._drag = ("cursor",)
                self.state.set_cursor(world)
        elif tool in ("ruler", "cut_line"):
            self._drag = (tool, world)
        elif tool == "angle":
            self.state.picked.append(world)
            if len(self.state.picked) == 3:
                self.state.add_measurement(Measurement("angle", list(self.state.picked), self.plane.normal))
                self.state.picked.clear()
            self.request_render()
        elif tool == "three_points":
            self._pick_point(world)

    def _pick_point(self, world) -> None:
        state = self.state
        state.picked.append(world)
        if len(state.picked) < 3:
            state.message.emit(f"Point {len(state.picked)} of 3 picked: pick {3 - len(state.picked)} more")
            state.measurementsChanged.emit()
            return
        try:
            plane = plane_from_points(*state.picked, up=state.oblique.v)
        except ValueError as exc:
            state.message.emit(str(exc))
        else:
            state.set_oblique(plane)
            state.message.emit("Cut plane set through the three points")
        state.picked.clear()
        state.set_tool("navigate")
        state.measurementsChanged.emit()

    def _angle_about(self, centre, world) -> float:
        rel = self.plane.to_plane(world)[:2] - self.plane.to_plane(centre)[:2]
        return float(np.arctan2(rel[1], rel[0]))

    def on_move(self, event) -> None:
        if self.plane is None:
            return
        x, y = self.display_position(event)
        world = self._world(event)
        drag = self._drag
        if drag is None:
            self._update_hover(world)
            near = self._near_trace(x, y) if self.state.tool == "navigate" else None
            shape = {"handle": Qt.CursorShape.SizeAllCursor, "line": Qt.CursorShape.OpenHandCursor}.get(
                near, Qt.CursorShape.CrossCursor
            )
            self.setCursor(shape)
            return
        kind = drag[0]
        if kind == "pan":
            here = self.display_to_plane(x, y)
            centre, scale = self.camera_state()
            self.set_camera(np.array(centre) - (here - drag[1]), scale)
            self.user_camera = True
            self.cameraChanged.emit(self.kind)
        elif kind == "window":
            dx, dy = np.array([x, y]) - drag[1]
            low, high = drag[2], drag[3]
            width, middle = high - low, (high + low) / 2
            width = max(width * np.exp(dx / 200.0), 1e-6)
            middle = middle - dy / 300.0 * (high - low)
            self.state.set_window(middle - width / 2, middle + width / 2)
        elif kind == "cursor":
            self.state.set_cursor(world)
            self._update_hover(world)
        elif kind == "move_plane":
            start_plane: Plane = drag[2]
            shift = float((world - drag[1]) @ start_plane.normal)
            self.state.set_oblique(start_plane.translated(shift))
        elif kind == "turn_plane":
            centre, start_angle, start_plane = drag[1], drag[2], drag[3]
            angle = self._angle_about(centre, world) - start_angle
            self.state.set_oblique(start_plane.rotated(self.plane.normal, angle, centre))
        elif kind in ("ruler", "cut_line"):
            uv = self.plane.to_plane(np.array([drag[1], world]))[:, :2]
            self.rubber.set([uv])
            if kind == "ruler":
                self._hover = format_length(float(np.linalg.norm(world - drag[1])))
            self.request_render()

    def on_release(self, event) -> None:
        drag, self._drag = self._drag, None
        if drag is None or self.plane is None:
            return
        kind = drag[0]
        if kind not in ("ruler", "cut_line"):
            return
        self.rubber.set([])
        world = self._world(event)
        if np.linalg.norm(world - drag[1]) < 2 * self.mm_per_pixel():
            self.request_render()
            return
        if kind == "ruler":
            self.state.add_measurement(Measurement("ruler", [drag[1], world], self.plane.normal))
        else:
            try:
                plane = plane_through_line(drag[1], world, self.plane.normal)
            except ValueError as exc:
                self.state.message.emit(str(exc))
            else:
                self.state.set_oblique(plane)
                self.state.message.emit(
                    "Cut plane set along the line, square to the " + VIEW_TITLES[self.kind]
                )
                self.state.set_tool("navigate")
        self.request_render()

    def _update_hover(self, world) -> None:
        grid = self.sampler.grid
        index = grid.nearest_voxel(world)
        where = f"x {world[0]:+.3f}  y {world[1]:+.3f}  z {world[2]:+.3f} mm"
        if index is None:
            text = where + "  (outside)"
        else:
            value = float(self.sampler.data[index])
            text = f"{where}\nvoxel z{index[0]} y{index[1]} x{index[2]}:  {value:.4g} /mm"
        self._hover = text
        self.state.hoverChanged.emit(text.replace("\n", "   "))
        self.request_render()

    def step_mm(self) -> float:
        if self.kind == "oblique":
            return float(min(self.sampler.grid.voxel_size_mm))
        axis = int(np.argmax(np.abs(self.plane.normal)))
        return float(self.sampler.grid.spacing_xyz[axis])

    def step_slice(self, steps: float) -> None:
        """Move this view's plane by ``steps`` voxels along its normal."""
        if self.plane is None:
            return
        distance = steps * self.step_mm()
        if self.kind == "oblique":
            self.state.set_oblique(self.state.oblique.translated(distance))
        else:
            self.state.set_cursor(self.state.cursor + distance * self.plane.normal)

    def zoom(self, factor: float) -> None:
        centre, scale = self.camera_state()
        self.set_camera(centre, scale / factor)
        self.user_camera = True
        self.cameraChanged.emit(self.kind)

    def on_wheel(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        notches = delta / 120.0
        modifiers = event.modifiers()
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.15**notches)
        else:
            self.step_slice(notches * (10 if modifiers & Qt.KeyboardModifier.ShiftModifier else 1))

    def on_double_click(self, event) -> None:
        self.maximizeRequested.emit(self.kind)

    def on_key(self, event) -> bool:
        key = event.key()
        big = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key == Qt.Key.Key_R:
            self.reset_camera()
            return True
        if key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            self.step_slice((1 if key == Qt.Key.Key_PageUp else -1) * (10 if big else 1))
            return True
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_Right):
            if self.kind != "oblique":
                self.step_slice((1 if key in (Qt.Key.Key_Up, Qt.Key.Key_Right) else -1) * (10 if big else 1))
                return True
            oblique = self.state.oblique
            angle = np.radians(5.0 if big else 1.0)
            axis = oblique.v if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) else oblique.u
            sign = 1 if key in (Qt.Key.Key_Right, Qt.Key.Key_Up) else -1
            centre = self.state.cursor - oblique.distance(self.state.cursor) * oblique.normal
            self.state.set_oblique(oblique.rotated(axis, sign * angle, centre))
            return True
        return False
