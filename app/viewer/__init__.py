"""The virtual cross-section viewer: cut a reconstructed volume along any plane before the real cut.

Qt-free pieces (importable without a display; VTK's imaging only):

* :mod:`.planes` — cutting planes (from a normal, three points, a line in a view, a camera),
  their sections through the volume, angles and the ``fathom-plane/1`` JSON;
* :mod:`.reslice` — oblique resampling with square physical pixels and max/mean/min slabs
  through ``vtkImageReslice`` (the same pixels on screen and in files);
* :mod:`.export` — 16-bit TIFF with its scale and sidecar, PNG with a scale bar, plane JSON,
  movie sweeps; :mod:`.colormaps`, :mod:`.measure`, :mod:`.rendering` (3D presets), :mod:`.fonts`.

The widget layer: :class:`CrossSectionViewer` (:mod:`.widget`) with its panes (:mod:`.pane`),
2D views (:mod:`.slice_view`), 3D view (:mod:`.volume_view`), side panel (:mod:`.controls`) and
shared state (:mod:`.state`). It is imported on first use, so importing this package does not
load Qt. Entry points: ``python -m app.viewer VOLUME``, ``python -m app.viewer.screenshots``,
``python -m app.viewer.benchmark``.
"""

from __future__ import annotations

__all__ = ["CrossSectionViewer"]


def __getattr__(name: str):
    if name == "CrossSectionViewer":
        from .widget import CrossSectionViewer

        return CrossSectionViewer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
