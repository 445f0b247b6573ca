"""The viewer widget in a real window (Xvfb): views, mouse tools, exports, comparison, screenshots."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("vtkmodules.qt", reason="VTK is not installed")

import shiboken6  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QImage, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.viewer import CrossSectionViewer  # noqa: E402
from app.viewer.export import read_slice_tiff  # noqa: E402

from .plate import measured_rows, plate_rows_truth, tilted_plate, well_inside  # noqa: E402

pytestmark = pytest.mark.gui
CUT_NORMAL_XYZ = np.array([1.0, 0.6, 0.3])


@pytest.fixture(scope="module")
def plate():
    return tilted_plate()


def open_viewer(plate) -> CrossSectionViewer:
    widget = CrossSectionViewer()
    widget.resize(1280, 820)
    widget.show()
    g = plate.geometry
    widget.set_volume(plate.data, g.voxel_size_mm, g.origin_mm, name="plate")
    settle()
    return widget


@pytest.fixture(scope="module")
def shared_viewer(qapp, plate):
    """One window for the module (opening one costs seconds of software OpenGL)."""
    widget = open_viewer(plate)
    yield widget
    widget.shutdown()
    widget.close()
    # pytest keeps fixture values until the session ends, after pytest-xvfb has stopped the X
    # server: destroy the window (and its native child windows) now, while X is there.
    shiboken6.delete(widget)
    settle()


@pytest.fixture
def viewer(shared_viewer, plate):
    """The shared window, reset: the volume again, default layout, tool, slab and window."""
    widget = shared_viewer
    widget.set_comparison(None)
    widget.set_layout("All views")
    widget.set_slab(0.0)
    widget.state.set_tool("navigate")
    widget.state.set_colormap("Grey")
    g = plate.geometry
    widget.set_volume(plate.data, g.voxel_size_mm, g.origin_mm, name="plate")
    settle()
    return widget


def settle(rounds: int = 5) -> None:
    for _ in range(rounds):
        QApplication.processEvents()


def display_to_qt(view, uv) -> QPoint:
    x, y = view.plane_to_display(uv)
    ratio = view.devicePixelRatioF()
    return QPoint(int(round(x / ratio)), int(round(view.height() - 1 - y / ratio)))


def drag(qtbot, view, start: QPoint, end: QPoint, steps: int = 4) -> None:
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, steps + 1):
        qtbot.mouseMove(view, start + (end - start) * (k / steps))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)
    settle()


def test_cut_plane_by_normal_exports_the_plate_and_the_plane(viewer, plate, tmp_path):
    centre = np.array(plate.geometry.center_mm[::-1])
    viewer.set_cut_plane(CUT_NORMAL_XYZ, point_xyz=centre)
    settle()
    tif, _ = viewer.export_slice_tiff(tmp_path / "cut.tif")
    values, description = read_slice_tiff(tif)
    columns, rows = measured_rows(values)
    inside = well_inside(description, columns, rows, plate.geometry)
    columns, rows = columns[inside], rows[inside]
    assert len(columns) > 0.5 * values.shape[1]
    assert np.max(np.abs(rows - plate_rows_truth(description, columns))) < 0.3
    slope, intercept = np.polyfit(columns, rows, 1)
    assert np.sqrt(np.mean((rows - intercept - slope * columns) ** 2)) < 0.15

    content = json.loads(viewer.export_plane_json(tmp_path / "plane.json").read_text())
    unit = CUT_NORMAL_XYZ / np.linalg.norm(CUT_NORMAL_XYZ)
    assert [content["normal"][k] for k in "xyz"] == pytest.approx(unit.tolist())
    point = np.array([content["point_mm"][k] for k in "xyz"])
    assert abs((point - centre) @ unit) < 1e-9  # the plane holds the point it was set through
    assert description["plane"]["normal"] == pytest.approx(content["normal"])


def test_views_show_the_volume_in_the_screenshot(viewer, tmp_path):
    path = viewer.save_screenshot(tmp_path / "viewer.png")
    image = QImage(str(path))
    assert (image.width(), image.height()) == (viewer.width(), viewer.height())
    for kind, view in viewer.pane.slice_views.items():
        corner = view.mapTo(viewer, QPoint(0, 0))
        centre = image.pixelColor(corner.x() + view.width() // 2, corner.y() + view.height() // 2)
        samples = {
            image.pixelColor(corner.x() + dx, corner.y() + dy).name()
            for dx in range(10, view.width() - 10, 23)
            for dy in range(10, view.height() - 10, 23)
        }
        assert len(samples) > 10, f"the {kind} view came out blank"
        assert centre.isValid()


def test_click_moves_the_cursor_and_the_other_slices(viewer, qtbot):
    axial = viewer.pane.slice_views["axial"]
    target_uv = axial.plane.to_plane(viewer.state.cursor)[:2] + np.array([0.2, -0.15])
    with qtbot.waitSignal(viewer.cursorMoved, timeout=2000) as signal:
        qtbot.mouseClick(axial, Qt.MouseButton.LeftButton, pos=display_to_qt(axial, target_uv))
    z, y, x = signal.args
    expected = axial.plane.to_world(*target_uv)
    assert (x, y) == pytest.approx(tuple(expected[:2]), abs=2 * axial.mm_per_pixel())
    settle()
    coronal = viewer.pane.slice_views["coronal"]
    assert abs(coronal.plane.point[1] - y) <= 0.51 * plate_voxel_y()


def plate_voxel_y() -> float:
    return tilted_plate().geometry.voxel_size_mm[1]


def test_wheel_steps_one_voxel(viewer):
    axial = viewer.pane.slice_views["axial"]
    before = viewer.cursor_mm()
    centre = QPointF(axial.width() / 2, axial.height() / 2)
    event = QWheelEvent(
        centre,
        axial.mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(axial, event)
    assert viewer.cursor_mm()[0] - before[0] == pytest.approx(axial.sampler.grid.voxel_size_mm[0], abs=1e-6)


def test_ruler_measures_a_length_in_mm(viewer, qtbot):
    coronal = viewer.pane.slice_views["coronal"]
    viewer.state.set_tool("ruler")
    a_uv = coronal.plane.to_plane(viewer.state.cursor)[:2]
    b_uv = a_uv + np.array([0.3, 0.4])
    drag(qtbot, coronal, display_to_qt(coronal, a_uv), display_to_qt(coronal, b_uv))
    assert len(viewer.state.measurements) == 1
    measurement = viewer.state.measurements[0]
    assert measurement.value() == pytest.approx(0.5, abs=3 * coronal.mm_per_pixel())
    assert "µm" in measurement.label() or "mm" in measurement.label()


def test_cut_along_a_line_drawn_in_the_top_view(viewer, qtbot):
    axial = viewer.pane.slice_views["axial"]
    viewer.state.set_tool("cut_line")
    a_uv = axial.plane.to_plane(viewer.state.cursor)[:2]
    drag(qtbot, axial, display_to_qt(axial, a_uv - (0.3, 0.1)), display_to_qt(axial, a_uv + (0.3, 0.1)))
    plane = viewer.cut_plane()
    assert abs(plane.normal[2]) < 1e-9  # vertical: square to the top view
    assert abs(plane.normal @ np.array([0.6, 0.2, 0.0])) < 0.02 * np.linalg.norm([0.6, 0.2])
    assert viewer.state.tool == "navigate"


def test_dragging_the_cut_plane_line_turns_the_plane(viewer, qtbot):
    viewer.set_cut_plane((1.0, 0.0, 0.0))
    settle()
    axial = viewer.pane.slice_views["axial"]
    axial.render_now()
    centre = axial._handle_centre()
    start_uv = centre + np.array([0.0, 0.35])  # on the trace (it runs along y), away from the handle
    end_uv = centre + np.array([-0.35, 0.35])  # a quarter turn back towards -x: 45 degrees
    drag(qtbot, axial, display_to_qt(axial, start_uv), display_to_qt(axial, end_uv))
    normal = viewer.cut_plane().normal
    assert abs(normal[2]) < 1e-9
    assert np.degrees(np.arctan2(normal[1], normal[0])) == pytest.approx(45.0, abs=3.0)


def test_slab_maximum_is_at_least_the_thin_slice(viewer):
    thin = viewer.slice_image("oblique").pixels
    viewer.set_slab(0.2, "max")
    settle()
    slab = viewer.slice_image("oblique")
    assert slab.layout.slab_slices > 1
    assert viewer.pane.slice_views["oblique"].layout.slab_slices == slab.layout.slab_slices
    assert np.all(slab.pixels >= thin - 1e-5)
    assert slab.pixels.mean() > thin.mean()


def test_window_colormap_and_png_export(viewer, tmp_path):
    viewer.set_window(0.0, 0.5)
    viewer.set_colormap("Hot iron")
    viewer.set_window_preset("Full range")
    assert viewer.state.window_low < viewer.state.window_high
    path = viewer.export_slice_png(tmp_path / "cut.png")
    assert QImage(str(path)).width() % viewer.slice_image().pixels.shape[1] == 0  # whole-factor enlargement
    movie = viewer.export_movie(tmp_path / "sweep.gif", view="axial", frames=4)
    assert movie.stat().st_size > 0


def test_plane_from_the_3d_camera_faces_it(viewer):
    plane = viewer.set_cut_plane_from_camera()
    camera = viewer.pane.volume_view.renderer.GetActiveCamera()
    towards = np.subtract(camera.GetPosition(), camera.GetFocalPoint())
    assert plane.normal @ towards / np.linalg.norm(towards) == pytest.approx(1.0)


def test_side_by_side_comparison_links_cursor_and_zoom(viewer, plate):
    g = plate.geometry
    viewer.set_comparison(plate.data * 0.5, g.voxel_size_mm, g.origin_mm, name="half")
    settle()
    assert viewer.comparison.isVisible()
    left, right = viewer.pane.slice_views["axial"], viewer.comparison.slice_views["axial"]
    left.zoom(2.0)
    assert right.camera_state()[1] == pytest.approx(left.camera_state()[1])
    viewer.set_cursor(*np.add(viewer.cursor_mm(), (0.1, 0.0, 0.0)))
    settle()
    assert right.plane.same_as(left.plane)
    assert right.slice_image().pixels == pytest.approx(0.5 * left.slice_image().pixels, abs=1e-5)
    viewer.set_comparison(None)
    assert not viewer.comparison.isVisible()


def test_layouts_and_shutdown_twice(qtbot, plate):
    widget = open_viewer(plate)
    qtbot.addWidget(widget)
    for name in ("Cut plane + 3D", "3D", "Slices", "All views"):
        widget.set_layout(name)
        settle(2)
    widget.shutdown()
    widget.shutdown()
    assert all(view.closed for view in widget.pane.views.values())
    widget.close()
