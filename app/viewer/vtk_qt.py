"""The one place where VTK meets Qt: a render-window widget that can be captured and shut down.

``vtkmodules.qt`` is told to use PySide6 before its widget is imported. :class:`VTKWidget` adds
what the viewer needs on top of ``QVTKRenderWindowInteractor``: a renderer, a capture of the
rendered pixels (``QWidget.grab`` sees only black for OpenGL content), render requests that
coalesce into one render per event-loop turn, and an idempotent :meth:`VTKWidget.shutdown` that
finalizes the render window and interactor before Qt tears the widget down (otherwise
PySide6 + VTK can abort at interpreter exit).
"""

from __future__ import annotations

import numpy as np
import vtkmodules.qt
from PySide6.QtCore import QTimer

vtkmodules.qt.PyQtImpl = "PySide6"

# The object factories behind rendering, text, interaction styles and volume mappers.
import vtkmodules.vtkInteractionStyle  # noqa: E402,F401
import vtkmodules.vtkRenderingFreeType  # noqa: E402,F401
import vtkmodules.vtkRenderingOpenGL2  # noqa: E402,F401
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: E402,F401
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor  # noqa: E402
from vtkmodules.util.numpy_support import vtk_to_numpy  # noqa: E402
from vtkmodules.vtkRenderingCore import vtkRenderer, vtkWindowToImageFilter  # noqa: E402

SOFTWARE_GL_NAMES = ("llvmpipe", "softpipe", "swrast", "software rasterizer")


class VTKWidget(QVTKRenderWindowInteractor):
    """A Qt widget holding one VTK render window with one renderer.

    Subclasses that handle the mouse themselves set ``forward_events = False`` and override
    the ``on_*`` hooks; otherwise events go to VTK's interactor (camera styles, 3D widgets).
    """

    forward_events = True

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(0.08, 0.08, 0.1)
        window = self.GetRenderWindow()
        # VTK asks for 8x multisampling by default; with software OpenGL that alone makes a
        # frame four times slower, and images and thin lines do not need it.
        window.SetMultiSamples(0)
        window.AddRenderer(self.renderer)
        self._closed = False
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(0)
        self._render_timer.timeout.connect(self.render_now)
        self.Initialize()

    # -- rendering ----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def request_render(self) -> None:
        """Render at the next turn of the event loop (many requests, one render)."""
        if not self._closed:
            self._render_timer.start()

    def render_now(self) -> None:
        if self._closed or not self.isVisible():
            return
        self.before_render()
        self.GetRenderWindow().Render()

    def before_render(self) -> None:
        """Hook: bring overlays up to date just before a render."""

    def capture(self) -> np.ndarray:
        """The rendered pixels as (rows, columns, 3) uint8, top row first."""
        self._render_timer.stop()
        self.before_render()
        window = self.GetRenderWindow()
        window.Render()
        grabber = vtkWindowToImageFilter()
        grabber.SetInput(window)
        grabber.SetInputBufferTypeToRGB()
        grabber.ReadFrontBufferOff()
        grabber.Update()
        image = grabber.GetOutput()
        width, height, _ = image.GetDimensions()
        pixels = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(height, width, -1)
        return np.ascontiguousarray(pixels[::-1, :, :3])

    def software_gl(self) -> bool:
        """True when OpenGL is a software rasterizer (Mesa llvmpipe under Xvfb, for example)."""
        window = self.GetRenderWindow()
        if not window.GetInitialized():
            window.Render()
        report = window.ReportCapabilities().lower()
        return any(name in report for name in SOFTWARE_GL_NAMES)

    # -- teardown -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Finalize the render window and interactor; later calls and paints do nothing."""
        if self._closed:
            return
        self._closed = True
        self._render_timer.stop()
        self._Timer.stop()
        # No more renders: disabling a 3D widget renders, and a render while Qt is leaving its
        # event loop (aboutToQuit) can wait seconds for window events that never come.
        self._Iren.EnableRenderOff()
        self.release()
        window = self.GetRenderWindow()
        self._Iren.TerminateApp()
        self.Finalize()
        # VTK observers hold Python callbacks (bound methods of this widget): a reference cycle
        # through C++ that Python's collector cannot see. Left in place, it keeps the widget and
        # its native window alive until interpreter exit, when the X server may be gone already.
        self._Iren.RemoveAllObservers()
        window.RemoveAllObservers()
        self._Iren.SetRenderWindow(None)

    def release(self) -> None:
        """Hook: let go of VTK widgets and observers (renders are off by now)."""

    def closeEvent(self, event) -> None:
        self.shutdown()
        event.accept()

    # -- Qt events ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        if not self._closed:
            self.before_render()
            super().paintEvent(event)

    def resizeEvent(self, event) -> None:
        if not self._closed:
            super().resizeEvent(event)
            self.on_resize()

    def on_resize(self) -> None:
        """Hook: the widget changed size."""

    def display_position(self, event) -> tuple[float, float]:
        """VTK display coordinates (pixels, origin bottom left) of a Qt mouse event."""
        scale = self.devicePixelRatioF()
        pos = event.position()
        return pos.x() * scale, (self.height() - pos.y() - 1) * scale

    def mousePressEvent(self, event) -> None:
        if self._closed:
            return
        if self.forward_events:
            super().mousePressEvent(event)
        else:
            self.on_press(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._closed:
            return
        if self.forward_events:
            super().mouseReleaseEvent(event)
        else:
            self.on_release(event)

    def mouseMoveEvent(self, event) -> None:
        if self._closed:
            return
        if self.forward_events:
            super().mouseMoveEvent(event)
        else:
            self.on_move(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if not self._closed:
            self.on_double_click(event)

    def wheelEvent(self, event) -> None:
        if self._closed:
            return
        if self.forward_events:
            super().wheelEvent(event)
        else:
            self.on_wheel(event)

    # Keys never reach VTK's interactor styles: their defaults ('e'/'q' exit, 'w' wireframe,
    # '3' stereo, ...) would surprise a user; the viewer binds its own keys.
    def keyPressEvent(self, event) -> None:
        if self._closed or not self.on_key(event):
            super(QVTKRenderWindowInteractor, self).keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        super(QVTKRenderWindowInteractor, self).keyReleaseEvent(event)

    # Hooks for widgets that handle the mouse and keys themselves.
    def on_press(self, event) -> None: ...

    def on_release(self, event) -> None: ...

    def on_move(self, event) -> None: ...

    def on_wheel(self, event) -> None: ...

    def on_double_click(self, event) -> None: ...

    def on_key(self, event) -> bool:
        """Return True when the key was handled."""
        return False
