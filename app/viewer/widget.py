"""CrossSectionViewer: the virtual cross-section widget the application embeds.

It arranges one :class:`~.pane.VolumePane` (or two side by side, to compare volumes) next to the
:class:`~.controls.ControlPanel`, converts between the app's (z, y, x) tuples and the viewer's
world (x, y, z) vectors at its edge, and does what needs the whole widget: exports, screenshots,
linked cameras, and an orderly VTK shutdown before Qt destroys anything.

Public coordinates: ``set_volume``/``set_comparison``, ``cursorMoved`` and ``set_cursor`` use
(z, y, x) millimetres like :class:`~engine.geometry.VolumeGeometry`; plane directions and points
(``set_cut_plane`` and the plane JSON) are sample-frame (x, y, z) vectors, z up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from .colormaps import to_rgb8
from .controls import ControlPanel
from .export import (
    draw_scale_bar,
    sweep_planes,
    write_movie,
    write_plane_json,
    write_slice_png,
    write_slice_tiff,
)
from .measure import window_presets
from .pane import DEFAULT_LAYOUT, LAYOUTS, SLICE_KINDS, VolumePane
from .planes import Plane, box_corners, plane_from_camera, plane_from_normal, plane_from_points
from .reslice import PlaneSampler, SliceImage, VolumeGrid
from .slice_view import HELP
from .state import ViewerState


class CrossSectionViewer(QWidget):
    """Cut a volume open along any plane: orthogonal, oblique and 3D views with linked cursors.

    Signals
    -------
    cursorMoved(z, y, x) : the cursor's position in mm whenever it moves.
    """

    cursorMoved = Signal(float, float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.state = ViewerState(self)
        self.name = ""
        self.comparison_name = ""
        self._presets: dict[str, tuple[float, float]] = {}
        self._linking = False
        self._shut = False
        self._layout_before = DEFAULT_LAYOUT
        self.pane = VolumePane(self.state, self)
        self.comparison: VolumePane | None = None
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.pane)
        self.panel = ControlPanel(self, self.state)
        self.status = QLabel("Open a volume to cut it open.")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setToolTip(HELP)
        # A long message must not widen the window: the label takes the width it is given.
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        main = QHBoxLayout()
        main.setContentsMargins(0, 0, 0, 0)
        main.addWidget(self.splitter, 1)
        main.addWidget(self.panel)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.addLayout(main, 1)
        outer.addWidget(self.status)
        self._connect_pane(self.pane)
        self.state.cursorChanged.connect(self._emit_cursor)
        self.state.hoverChanged.connect(self.status.setText)
        self.state.message.connect(self.status.setText)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # -- the interface the application uses ------------------------------------------------------
    def set_volume(self, data: np.ndarray, voxel_size_mm, origin_mm=(0.0, 0.0, 0.0), name: str = "") -> None:
        """Show ``data`` (float32, (z, y, x), 1/mm) with its voxel size and origin (z, y, x mm).

        The origin is the centre of voxel (0, 0, 0). The array is shared, not copied (a
        non-contiguous or non-float32 array is converted once). Cursor and cut plane start at the
        volume's centre; the window is set from the volume's histogram.
        """
        data = np.asarray(data)
        if data.ndim != 3:
            raise ValueError(f"a volume must be 3D (z, y, x), got shape {data.shape}")
        grid = VolumeGrid(data.shape, voxel_size_mm, origin_mm)
        self.name = name
        self.state.set_grid(grid)
        self._presets = window_presets(data)
        self.state.window_low, self.state.window_high = self._presets["Full range"]
        self.pane.set_volume(data, voxel_size_mm, origin_mm, name)
        self.panel.follow_volume(self._presets)
        self.state.displayChanged.emit()
        self.state.cursorChanged.emit()
        self.state.obliqueChanged.emit()
        self.state.measurementsChanged.emit()
        if self.comparison is not None and self.comparison.data is not None:
            self.comparison.reset_cameras()  # the comparison stays; its views follow the new frame
        self.status.setText(
            f"{name or 'volume'}: {data.shape[2]}×{data.shape[1]}×{data.shape[0]} voxels (x×y×z) of "
            f"{' × '.join(f'{v:g}' for v in grid.voxel_size_mm[::-1])} mm. Hover here for mouse and keys."
        )

    def set_comparison(self, data, voxel_size_mm=None, origin_mm=(0.0, 0.0, 0.0), name: str = "") -> None:
        """Show a second volume side by side (linked cursor, plane and cameras); None removes it."""
        if data is None:
            if self.comparison is not None:
                self.comparison.clear()
                self.comparison.hide()
            self.pane.show_header(False)
            return
        if voxel_size_mm is None:
            raise ValueError("set_comparison needs the comparison volume's voxel_size_mm (z, y, x)")
        if self.comparison is None:
            self.comparison = VolumePane(self.state, self)
            self.splitter.addWidget(self.comparison)
            self._connect_pane(self.comparison)
            self.comparison.set_layout(self.pane.layout_name)
        self.comparison_name = name
        self.comparison.show()
        self.comparison.set_volume(np.asarray(data), voxel_size_mm, origin_mm, name)
        self.pane.show_header(True)
        self.comparison.show_header(True)
        for kind in self.pane.views:
            self._link_camera(self.pane, kind)

    def shutdown(self) -> None:
        """Finalize every VTK render window and interactor; safe to call more than once."""
        if self._shut:
            return
        self._shut = True
        for pane in self.panes(all_panes=True):
            pane.shutdown()

    def save_screenshot(self, path: str | Path) -> Path:
        """Write a PNG of the whole viewer, VTK views included."""
        path = Path(path).expanduser()
        if not self.grab_image().save(str(path), "PNG"):
            raise OSError(f"cannot write {path}: check that the folder exists and is writable")
        return path

    # -- more of the same, for scripts and tests -------------------------------------------------
    def panes(self, all_panes: bool = False) -> list[VolumePane]:
        panes = [self.pane]
        if self.comparison is not None and (all_panes or self.comparison.isVisible()):
            panes.append(self.comparison)
        return panes

    def set_cursor(self, z: float, y: float, x: float) -> None:
        """Move the cursor (and the orthogonal slices) to (z, y, x) mm."""
        self.state.set_cursor((x, y, z))

    def cursor_mm(self) -> tuple[float, float, float]:
        """The cursor as (z, y, x) mm."""
        x, y, z = self.state.cursor
        return float(z), float(y), float(x)

    def cut_plane(self) -> Plane:
        return self.state.oblique

    def set_cut_plane(self, normal_xyz, point_xyz=None, up_xyz=None) -> Plane:
        """Set the cut plane by its normal (x, y, z) through ``point_xyz`` (default: the cursor)."""
        point = self.state.cursor if point_xyz is None else point_xyz
        plane = plane_from_normal(point, normal_xyz, up=up_xyz)
        self.state.set_oblique(plane)
        return plane

    def set_cut_plane_from_points(self, p1_xyz, p2_xyz, p3_xyz) -> Plane:
        """Set the cut plane through three points (x, y, z mm)."""
        plane = plane_from_points(p1_xyz, p2_xyz, p3_xyz)
        self.state.set_oblique(plane)
        return plane

    def set_cut_plane_from_camera(self) -> Plane:
        """Set the cut plane to face the 3D view's camera, through its focal point."""
        camera = self.pane.volume_view.renderer.GetActiveCamera()
        plane = plane_from_camera(camera.GetPosition(), camera.GetFocalPoint(), camera.GetViewUp())
        self.state.set_oblique(plane)
        return plane

    def set_slab(self, thickness_mm: float, mode: str = "max") -> None:
        """Slab projection across ``thickness_mm`` ("max", "mean", "min"); 0 for thin slices."""
        self.state.set_slab(thickness_mm, mode)

    def set_window(self, low: float, high: float) -> None:
        self.state.set_window(low, high)

    def set_window_preset(self, name: str) -> None:
        if name in self._presets:
            self.state.set_window(*self._presets[name])

    def set_colormap(self, name: str) -> None:
        self.state.set_colormap(name)

    def set_render_preset(self, name: str) -> None:
        self.state.set_render(render_preset=name)

    def set_layout(self, name: str) -> None:
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}: use one of {', '.join(LAYOUTS)}")
        for pane in self.panes(all_panes=True):
            pane.set_layout(name)
        if self.panel.layout_box.currentText() != name:
            self.panel.layout_box.setCurrentText(name)

    def reset_views(self) -> None:
        for pane in self.panes():
            for view in pane.slice_views.values():
                view.reset_camera()
            pane.volume_view.reset_camera()

    def look_at_cut(self) -> None:
        """Turn the 3D view(s) to face the cut plane."""
        self.pane.volume_view.look_at_cut()

    def slice_image(self, view: str = "oblique") -> SliceImage:
        """The slice of ``view`` ("oblique", "axial", "coronal", "sagittal") as shown, full resolution."""
        if view not in SLICE_KINDS:
            raise ValueError(f"unknown view {view!r}: use one of {', '.join(SLICE_KINDS)}")
        return self.pane.slice_views[view].slice_image()

    def export_slice_tiff(self, path, view: str = "oblique") -> tuple[Path, Path]:
        """16-bit TIFF (pixel size in the resolution tags) and JSON sidecar of a view's slice."""
        return write_slice_tiff(self.slice_image(view), path, volume_name=self.name)

    def export_slice_png(self, path, view: str = "oblique") -> Path:
        window, level = self.state.window_level
        return write_slice_png(
            self.slice_image(view), path, window=window, level=level, colormap=self.state.colormap
        )

    def export_plane_json(self, path) -> Path:
        """The cut plane (point, normal, angles) in sample millimetres, for the real cross-section."""
        return write_plane_json(
            self.state.oblique,
            path,
            volume_name=self.name,
            extra={"cursor_mm": dict(zip("xyz", map(float, self.state.cursor), strict=True))},
        )

    def export_movie(self, path, view: str = "oblique", frames: int = 60, fps: float = 12.0) -> Path:
        """A sweep through the volume parallel to a view's plane, as a GIF (or a folder of PNGs)."""
        slice_view = self.pane.slice_views[view]
        sampler, plane = PlaneSampler.sharing(slice_view.sampler), slice_view.target_plane()
        low, high = sampler.grid.bounds()
        corners = plane.to_plane(box_corners(low, high))
        extent = (corners[:, 0].min(), corners[:, 0].max(), corners[:, 1].min(), corners[:, 1].max())
        window, level = self.state.window_level
        images = []
        for frame in sweep_planes(plane, sampler.grid, frames):
            image = sampler.sample(
                frame, extent=extent, slab_mm=self.state.slab_mm, slab_mode=self.state.slab_mode
            )
            images.append(
                draw_scale_bar(to_rgb8(image.pixels, window, level, self.state.colormap), image.pixel_size_mm)
            )
        return write_movie(images, path, fps=fps)

    def export_dialog(self, what: str, view: str = "oblique") -> None:
        """Ask for a file name and export ``what`` ("tiff", "png", "plane", "screenshot", "movie")."""
        if self.pane.data is None:
            self.status.setText("Open a volume first.")
            return
        stem = (self.name or "volume").replace(" ", "_")
        choices = {
            "tiff": (
                f"{stem}_{view}.tif",
                "16-bit TIFF (*.tif *.tiff)",
                lambda p: self.export_slice_tiff(p, view)[0],
            ),
            "png": (f"{stem}_{view}.png", "PNG image (*.png)", lambda p: self.export_slice_png(p, view)),
            "plane": (f"{stem}_cut_plane.json", "Plane JSON (*.json)", self.export_plane_json),
            "screenshot": (f"{stem}_viewer.png", "PNG image (*.png)", self.save_screenshot),
            "movie": (
                f"{stem}_{view}_sweep.gif",
                "Animated GIF (*.gif)",
                lambda p: self.export_movie(p, view),
            ),
        }
        default, filters, action = choices[what]
        path, _ = QFileDialog.getSaveFileName(self, "Export", default, filters)
        if not path:
            return
        try:
            written = action(path)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Export failed", str(exc))
            return
        self.status.setText(f"Wrote {written}")

    def grab_image(self) -> QImage:
        """The whole viewer as a QImage, with the OpenGL content of every visible VTK view."""
        image = self.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        ratio = image.devicePixelRatio()
        painter = QPainter(image)
        try:
            for pane in self.panes():
                for view in pane.visible_views():
                    if view.closed:
                        continue
                    pixels = view.capture()
                    h, w, _ = pixels.shape
                    frame = QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
                    top_left = view.mapTo(self, QPoint(0, 0))
                    painter.drawImage(QRect(top_left, view.size()), frame)
        finally:
            painter.end()
        image.setDevicePixelRatio(ratio)
        return image

    # -- internals --------------------------------------------------------------------------------
    def _connect_pane(self, pane: VolumePane) -> None:
        # Bound methods, not lambdas: a lambda would hold the viewer in a cycle through Qt.
        pane.cameraChanged.connect(self._pane_camera_changed)
        pane.maximizeRequested.connect(self._toggle_maximized)

    def _pane_camera_changed(self, kind: str) -> None:
        source = self.sender()
        if isinstance(source, VolumePane):
            self._link_camera(source, kind)

    def _link_camera(self, source: VolumePane, kind: str) -> None:
        """Copy a view's camera to the same view of the other pane (zoom, pan, 3D angle)."""
        if self._linking or self.comparison is None or not self.comparison.isVisible():
            return
        target = self.comparison if source is self.pane else self.pane
        self._linking = True
        try:
            if kind == "3d":
                camera = source.volume_view.renderer.GetActiveCamera()
                other = target.volume_view.renderer.GetActiveCamera()
                other.DeepCopy(camera)
                target.volume_view._user_camera = source.volume_view._user_camera
                target.volume_view.request_render()
            else:
                centre, scale = source.slice_views[kind].camera_state()
                target.slice_views[kind].set_camera(centre, scale)
                target.slice_views[kind].user_camera = source.slice_views[kind].user_camera
        finally:
            self._linking = False

    def _toggle_maximized(self, kind: str) -> None:
        """Double click: show only this view; again: back to the layout before."""
        single = {"oblique": "Cut plane", "axial": "Axial", "coronal": "Coronal", "sagittal": "Sagittal"}[
            kind
        ]
        if self.pane.layout_name == single:
            self.set_layout(self._layout_before)
        else:
            self._layout_before = self.pane.layout_name
            self.set_layout(single)

    def _emit_cursor(self) -> None:
        self.cursorMoved.emit(*self.cursor_mm())

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
