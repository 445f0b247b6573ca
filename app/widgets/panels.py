"""The side panel every workflow page has: a column of controls that scrolls vertically only."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QWidget


def side_panel(content: QWidget, minimum_width: int, maximum_width: int | None = None) -> QScrollArea:
    """``content`` in a scroll area that never scrolls sideways, between the given widths (px)."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(content)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(minimum_width)
    if maximum_width is not None:
        scroll.setMaximumWidth(maximum_width)
    return scroll
