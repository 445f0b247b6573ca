"""The slice view: orientation (nothing mirrored, z up), physical axes, drawing ROIs with the mouse."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui


def _volume():
    data = np.zeros((20, 30, 40), dtype=np.float32)
    data[15:, :, :] = 1.0  # the top slices (high z) are bright
    data[:, 25:, :] += 2.0  # high y bright
    data[:, :, 35:] += 4.0  # high x bright
    return data


@pytest.fixture
def view(qtbot):
    from app.widgets.images import SliceView

    view = SliceView()
    qtbot.addWidget(view)
    view.resize(700, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_volume(_volume(), (0.5, 0.1, 0.1), (-5.0, -1.5, -2.0), "test")
    return view


def test_orientation_is_never_mirrored(view):
    # axial: x to the right, y up -> the bright high-y rows are at the top, high-x columns right
    view.set_axis(0)
    view.set_slice(5)
    info = view.panel.value_at(1.8, 1.3)  # x near +2, y near +1.4 (top right)
    assert info["value"] == 6.0
    assert view.panel.plot.getAxis("bottom").labelText == "x (mm)"
    # coronal: z up -> bright top slices at the top of the picture
    view.set_axis(1)
    top = view.panel.value_at(0.0, view.origin[0] + 19 * 0.5)
    bottom = view.panel.value_at(0.0, view.origin[0])
    assert top["value"] > bottom["value"]
    assert view.panel.plot.getAxis("left").labelText == "z (mm)"
    # the slice label gives the position in mm
    assert "mm" in view.position_label.text()


def _drag(widget, start: QPoint, end: QPoint) -> None:
    """A real left-button drag: press, moves with the button held, release."""
    viewport = widget.panel.graphics.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier

    def send(kind, point, buttons):
        global_pos = QPointF(viewport.mapToGlobal(point))
        event = QMouseEvent(kind, QPointF(point), global_pos, left, buttons, none)
        QApplication.sendEvent(viewport, event)

    send(QEvent.Type.MouseButtonPress, start, left)
    for k in range(1, 11):
        send(QEvent.Type.MouseMove, start + (end - start) * k / 10, left)
    send(QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)


def test_a_drag_draws_the_rectangle_in_mm(qtbot, view):
    view.set_axis(0)
    drawn = []
    view.roiDrawn.connect(drawn.append)
    view.set_draw_mode("preview")
    vb = view.panel.view
    to_widget = view.panel.graphics.mapFromScene
    start = to_widget(vb.mapViewToScene(QPointF(-1.0, -1.0)))
    end = to_widget(vb.mapViewToScene(QPointF(0.5, 0.8)))
    _drag(view, start, end)
    assert drawn == ["preview"] and view.draw_target is None
    h0, v0, w, h = view.rect_mm("preview")
    assert h0 == pytest.approx(-1.0, abs=0.05) and v0 == pytest.approx(-1.0, abs=0.05)
    assert w == pytest.approx(1.5, abs=0.08) and h == pytest.approx(1.8, abs=0.08)
    r0, c0, nr, nc = view.rect_pixels("preview")
    assert (nr, nc) == (pytest.approx(18, abs=1), pytest.approx(15, abs=1))
