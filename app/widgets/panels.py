"""The layout every workflow page shares: a horizontal splitter whose first pane is a side panel,
a column of controls that scrolls vertically only; and the word-wrapped label the pages use for
notes, hints and status lines."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget


def page_splitter(page: QWidget) -> QSplitter:
    """A horizontal splitter filling ``page`` inside a 6 px margin (the page's only layout)."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    layout = QHBoxLayout(page)
    layout.setContentsMargins(6, 6, 6, 6)
    layout.addWidget(splitter)
    return splitter


def side_column() -> tuple[QWidget, QVBoxLayout]:
    """An empty column of controls for :func:`side_panel` (6 px clear of its right edge), and its layout."""
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.setContentsMargins(0, 0, 6, 0)
    return column, layout


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


def note_label(text: str = "", name: str | None = None) -> QLabel:
    """A word-wrapped label; ``name`` is its object name, which the style sheet keys on."""
    label = QLabel(text)
    if name is not None:
        label.setObjectName(name)
    label.setWordWrap(True)
    return label
