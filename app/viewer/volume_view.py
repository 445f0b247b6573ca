"""The 3D view: volume rendering cut open at the cut plane, the plane's handle, where the slices are.

The rendered volume is a block-mean copy no larger than :data:`DISPLAY_MAX_VOXELS` per edge
(slices keep full resolution). With software OpenGL (Mesa llvmpipe, as under Xvfb) the CPU
fixed-point ray caster is an order of magnitude faster than the GPU ray caster emulated in
software, so it is used until the first render shows a hardware renderer. The cut plane clips
the volume (the half towards the viewer of the cut-plane view is removed, so the 3D view shows
the same face), and the cut slice is drawn on the cut face. The plane's handle
(``vtkImplicitPlaneWidget2``) turns the plane by its arrow and moves it by its face.

Mouse: left drag rotates, middle (or Shift+left) drag pans, right drag or wheel zooms.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QTimer, Signal
from scipy import ndimage
from vtkmodules.vtkCommonDataModel import vtkPlane
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
from vtkmodules.vtkInteractionWidgets import (
    vtkImplicitPlaneRepresentation,
    vtkImplicitPlaneWidget2,
    vtkOrientationMarkerWidget,
)
from vtkmodules.vtkRenderingAnnotation import vtkAxesActor
from vtkmodules.vtkRenderingCore import vtkImageActor, vtkVolume
from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper
from vtkmodules.vtkRenderingVolumeOpenGL2 import vtkSmartVolumeMapper

from .overlays import Polylines, place_normalized, text_actor
from .planes import Plane, box_corners, orthogonal_plane, plane_from_normal, section_polygon
from .rendering import PRESETS, bright_level, volume_property
from .reslice import VolumeGrid, downsample_for_display, vtk_image
from .slice_view import VIEW_COLORS
from .state import ViewerState
from .vtk_qt import VTKWidget

#: Largest edge, in voxels, of the copy of the volume that is rendered in 3D.
DISPLAY_MAX_VOXELS = 160
#: Rays per full-quality frame of the CPU ray caster (about a 450 × 450 view; larger views are upsampled).
MAX_RAYS = 200_000
#: Gaussian blur (sigma, display voxels) of the rendered copy.
DISPLAY_BLUR_VOXELS = 0.8
#: Shortest time between two 3D renders while something is dragged elsewhere (seconds).
MIN_RENDER_INTERVAL_S = 0.15
#: After this long without changes, the 3D view renders once more at full quality (seconds).
STILL_AFTER_S = 0.35


class VolumeView(VTKWidget):
    """3D view of one volume, driven by ``state``; ``slice_source`` feeds the cut face."""

    cameraChanged = Signal()

    def __init__(self, state: ViewerState, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.grid: VolumeGrid | None = None
        self.display_grid: VolumeGrid | None = None
        self.level = 1.0
        self._mapper_checked = False
        self._last_render = 0.0
        self._syncing_widget = False
        self.setMinimumSize(120, 120)
        self.renderer.SetBackground(0.11, 0.12, 0.15)
        self.renderer.SetBackground2(0.3, 0.32, 0.38)
        self.renderer.GradientBackgroundOn()
        interactor = self.GetRenderWindow().GetInteractor()
        self.style = vtkInteractorStyleTrackballCamera()
        interactor.SetInteractorStyle(self.style)
        self.style.AddObserver("InteractionEvent", self._camera_moved)
        self._user_camera = False

        self.volume = vtkVolume()
        self.volume.VisibilityOff()
        self.mapper = vtkFixedPointVolumeRayCastMapper()
        self.volume.SetMapper(self.mapper)
        self.renderer.AddVolume(self.volume)
        self.clip_plane = vtkPlane()

        self.cut_face = vtkImageActor()
        self.cut_face.VisibilityOff()
        self.renderer.AddViewProp(self.cut_face)
        self.outline = Polylines((0.75, 0.75, 0.75), width=1.0, opacity=0.6)
        self.slice_frames = {k: Polylines(VIEW_COLORS[k], width=2.0) for k in VIEW_COLORS}
        for item in [self.outline, *self.slice_frames.values()]:
            self.renderer.AddViewProp(item.actor)
        self.title = text_actor(15, (0.95, 0.95, 0.95), "left", "top", bold=True)
        place_normalized(self.title, 0.012, 0.985)
        self.renderer.AddViewProp(self.title)

        self.plane_rep = vtkImplicitPlaneRepresentation()
        self.plane_rep.SetPlaceFactor(1.0)
        self.plane_rep.OutlineTranslationOff()
        self.plane_rep.ScaleEnabledOff()
        self.plane_rep.SetDrawOutline(False)
        self.plane_rep.SetDrawPlane(False)
        self.plane_rep.OutsideBoundsOff()
        self.plane_rep.ConstrainToWidgetBoundsOn()
        self.plane_rep.GetNormalProperty().SetColor(*VIEW_COLORS["oblique"])
        self.plane_rep.SetEdgeColor(*VIEW_COLORS["oblique"])
        self.plane_widget = vtkImplicitPlaneWidget2()
        self.plane_widget.SetInteractor(interactor)
        self.plane_widget.SetRepresentation(self.plane_rep)
        self.plane_widget.AddObserver("InteractionEvent", self._plane_dragged)

        self.axes = vtkAxesActor()
        self.axes.SetTotalLength(1, 1, 1)
        self.marker = vtkOrientationMarkerWidget()
        self.marker.SetOrientationMarker(self.axes)
        self.marker.SetInteractor(interactor)
        self.marker.SetViewport(0.0, 0.0, 0.22, 0.22)
        self.marker.SetEnabled(1)
        self.marker.InteractiveOff()

        self._full_quality = True
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.timeout.connect(self.render_now)
        self._still = QTimer(self)
        self._still.setSingleShot(True)
        self._still.setInterval(int(STILL_AFTER_S * 1000))
        self._still.timeout.connect(self._render_still)
        self.style.AddObserver("StartInteractionEvent", lambda *_: self._interaction(True))
        self.style.AddObserver("EndInteractionEvent", lambda *_: self._interaction(False))
        for signal in (state.cursorChanged, state.obliqueChanged):
            signal.connect(self.request_render)
        state.obliqueChanged.connect(self._sync_widget)
        state.renderChanged.connect(self.refresh_render_options)

    # -- volume ---------------------------------------------------------------------------------
    def set_volume(self, data: np.ndarray | None, grid: VolumeGrid | None, name: str = "") -> None:
        """Render ``data`` (downsampled for 3D); None removes it."""
        self.grid = grid
        if data is None:
            self.volume.VisibilityOff()
            self.cut_face.VisibilityOff()
            self.plane_widget.Off()
            self.request_render()
            return
        small, self.display_grid = downsample_for_display(data, grid, DISPLAY_MAX_VOXELS)
        # A light blur keeps reconstruction noise from rendering as fog around faint materials
        # (mold is only a few noise levels above air); slices are never blurred.
        small = ndimage.gaussian_filter(small, DISPLAY_BLUR_VOXELS).astype(np.float32)
        self._display_image = vtk_image(small, self.display_grid)
        self.mapper.SetInputData(self._display_image)
        self.level = bright_level(small)
        self._set_quality(True)
        factor = grid.shape[0] / self.display_grid.shape[0]
        detail = "" if factor == 1 else f"  (3D at 1/{factor:.0f} resolution)"
        self.title.SetInput(f"3D{detail}")
        low, high = grid.bounds()
        corners = box_corners(low, high)
        edges = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]
        self.outline.set([corners[[a, b]] for a, b in edges])
        self.plane_rep.PlaceWidget([low[0], high[0], low[1], high[1], low[2], high[2]])
        self.plane_rep.SetWidgetBounds(low[0], high[0], low[1], high[1], low[2], high[2])
        self.volume.VisibilityOn()
        self.refresh_render_options()
        self._sync_widget()
        self.reset_camera()

    def attach_cut_face(self, slice_view) -> None:
        """Draw the oblique view's slice (same pixels, same window/level) on the cut face."""
        self._cut_source = slice_view
        self.cut_face.GetMapper().SetInputConnection(slice_view.sampler.reslice.GetOutputPort())
        self.cut_face.SetProperty(slice_view.image_actor.GetProperty())

    def reset_camera(self) -> None:
        """Look at the sample from the front, a little from the left and above, z up."""
        if self.grid is None:
            return
        low, high = self.grid.bounds()
        centre, radius = (low + high) / 2, float(np.linalg.norm(high - low)) / 2
        camera = self.renderer.GetActiveCamera()
        direction = np.array([-0.55, -1.0, 0.6])
        direction /= np.linalg.norm(direction)
        camera.SetFocalPoint(*centre)
        camera.SetPosition(*(centre + direction * radius * 4))
        camera.SetViewUp(0.0, 0.0, 1.0)
        camera.SetViewAngle(30.0)
        self.renderer.ResetCamera(low[0], high[0], low[1], high[1], low[2], high[2])
        camera.Zoom(1.1)
        self.renderer.ResetCameraClippingRange()
        self._user_camera = False
        self.request_render()
        self.cameraChanged.emit()

    def look_at_cut(self) -> None:
        """Turn the camera to the cut face: from the viewer's side of the plane, a little above."""
        if self.grid is None:
            return
        plane = self._centred_oblique()
        side = -1.0 if self.state.clip_flip else 1.0
        up = np.array([0.0, 0.0, 1.0])
        direction = side * plane.normal
        # Lift the view by 25° towards world up (unless the cut is nearly horizontal already).
        tilt = up - (up @ direction) * direction
        if np.linalg.norm(tilt) > 1e-6:
            direction = np.cos(np.radians(25)) * direction + np.sin(np.radians(25)) * tilt / np.linalg.norm(
                tilt
            )
        low, high = self.grid.bounds()
        centre, radius = (low + high) / 2, float(np.linalg.norm(high - low)) / 2
        camera = self.renderer.GetActiveCamera()
        camera.SetFocalPoint(*centre)
        camera.SetPosition(*(centre + direction * radius * 4))
        camera.SetViewUp(*(up if abs(direction @ up) < 0.99 else plane.v))
        self.renderer.ResetCamera(low[0], high[0], low[1], high[1], low[2], high[2])
        self.renderer.ResetCameraClippingRange()
        self._user_camera = True
        self.request_render()
        self.cameraChanged.emit()

    def on_resize(self) -> None:
        if not getattr(self, "_user_camera", True):
            self.reset_camera()

    def _camera_moved(self, *_args) -> None:
        self._user_camera = True
        self.cameraChanged.emit()

    # -- options --------------------------------------------------------------------------------
    def refresh_render_options(self) -> None:
        state = self.state
        preset = PRESETS[state.render_preset]
        prop = volume_property(preset, self.level)
        if self.display_grid is not None:
            prop.SetScalarOpacityUnitDistance(min(self.display_grid.voxel_size_mm))
        self.volume.SetProperty(prop)
        if preset.maximum_intensity:
            self.mapper.SetBlendModeToMaximumIntensity()
        else:
            self.mapper.SetBlendModeToComposite()
        self.mapper.RemoveAllClippingPlanes()
        if state.clip_3d:
            self.mapper.AddClippingPlane(self.clip_plane)
        if self.grid is not None and state.show_plane_handle:
            self.plane_widget.On()
        else:
            self.plane_widget.Off()
        self.request_render()

    def _sync_widget(self) -> None:
        """Put the plane handle where the state's cut plane is."""
        if self.grid is None or self._syncing_widget:
            return
        plane = self._centred_oblique()
        self.plane_rep.SetOrigin(*plane.point)
        self.plane_rep.SetNormal(*plane.normal)

    def _centred_oblique(self) -> Plane:
        plane = self.state.oblique
        centre = self.grid.centre()
        return plane.moved_to(centre - plane.distance(centre) * plane.normal)

    def _plane_dragged(self, *_args) -> None:
        origin = np.array(self.plane_rep.GetOrigin())
        normal = np.array(self.plane_rep.GetNormal())
        self._syncing_widget = True
        try:
            self.state.set_oblique(plane_from_normal(origin, normal, up=self.state.oblique.v))
        finally:
            self._syncing_widget = False

    # -- rendering ------------------------------------------------------------------------------
    def _set_quality(self, full: bool) -> None:
        """Full quality: one ray per pixel, samples one voxel apart; otherwise a quick preview."""
        self._full_quality = full
        if self.display_grid is None:
            return
        step = float(min(self.display_grid.voxel_size_mm))
        mapper = self.mapper
        if isinstance(mapper, vtkFixedPointVolumeRayCastMapper):
            # CPU ray casting: cap the rays per frame, so a large view costs what a small one does.
            width, height = self.renderer.GetSize()
            rays = max(1.0, np.sqrt(width * height / MAX_RAYS))
            mapper.AutoAdjustSampleDistancesOff()
            mapper.SetSampleDistance(step if full else 2 * step)
            mapper.SetInteractiveSampleDistance(2 * step)
            mapper.SetImageSampleDistance(rays if full else 2 * rays)
        else:
            mapper.SetAutoAdjustSampleDistances(not full)
            mapper.SetSampleDistance(step / 2 if full else step)

    def request_render(self) -> None:
        """Render a quick preview soon (at most every :data:`MIN_RENDER_INTERVAL_S`), then a full one."""
        if self.closed:
            return
        if self._full_quality and self._last_render and self.isVisible():
            self._set_quality(False)
        self._still.start()
        if self._throttle.isActive():
            return
        wait = MIN_RENDER_INTERVAL_S - (time.perf_counter() - self._last_render)
        self._throttle.start(max(0, int(wait * 1000)))

    def _render_still(self) -> None:
        if self.closed:
            return
        self._set_quality(True)
        self._throttle.stop()
        self.render_now()

    def _interaction(self, starting: bool) -> None:
        self._set_quality(not starting)
        if not starting:
            self._render_still()

    def render_now(self) -> None:
        super().render_now()
        self._last_render = time.perf_counter()
        if not self._mapper_checked and self.GetRenderWindow().GetInitialized() and self.isVisible():
            self._mapper_checked = True
            if not self.software_gl():
                self._use_gpu_mapper()

    def _use_gpu_mapper(self) -> None:
        mapper = vtkSmartVolumeMapper()
        mapper.SetInputData(self.mapper.GetInput())
        self.mapper = mapper
        self.volume.SetMapper(mapper)
        self._set_quality(self._full_quality)
        self.refresh_render_options()

    def before_render(self) -> None:
        if self.grid is None or self.closed:
            return
        state = self.state
        oblique = self._centred_oblique()
        normal = oblique.normal if state.clip_flip else -oblique.normal
        self.clip_plane.SetOrigin(*oblique.point)
        self.clip_plane.SetNormal(*normal)
        low, high = self.grid.bounds()
        for kind, frame in self.slice_frames.items():
            if kind == "oblique":
                plane = oblique
            else:
                normal = orthogonal_plane(kind, state.cursor).normal
                plane = orthogonal_plane(kind, self.grid.snap_to_voxel(state.cursor, normal))
            polygon = section_polygon(plane, low, high)
            if len(polygon) < 3:
                frame.set([])
                continue
            loop = plane.to_world(polygon[:, 0], polygon[:, 1])
            frame.set([np.vstack([loop, loop[:1]])])
        source = getattr(self, "_cut_source", None)
        show_face = bool(state.show_slice_3d and source is not None and source.plane is not None)
        self.cut_face.SetVisibility(show_face)
        if show_face:
            plane = source.plane
            # Draw the face a hair on the viewer's side so it is not hidden by the clipped volume.
            lift = (1 if not state.clip_flip else -1) * 0.25 * min(self.grid.voxel_size_mm)
            origin = plane.point + lift * plane.normal
            matrix = vtkMatrix4x4()
            for row in range(3):
                matrix.SetElement(row, 0, plane.u[row])
                matrix.SetElement(row, 1, plane.v[row])
                matrix.SetElement(row, 2, plane.normal[row])
                matrix.SetElement(row, 3, origin[row])
            self.cut_face.SetUserMatrix(matrix)
        self.renderer.ResetCameraClippingRange()

    def release(self) -> None:
        self._throttle.stop()
        self._still.stop()
        self.plane_widget.Off()
        self.plane_widget.RemoveAllObservers()
        self.plane_widget.SetInteractor(None)
        self.marker.SetEnabled(0)
        self.marker.SetInteractor(None)
        self.style.RemoveAllObservers()
