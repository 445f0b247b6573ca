"""The page shown with no scan open: the demo one click away, open a scan, recent scans."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.io import SUPPORTED_SCAN_FORMATS

from ..widgets.panels import note_label


def demo_description() -> str:
    """What the demo scan is, from the simulator's own numbers."""
    try:
        from engine.simulate.package import demo_geometry

        g = demo_geometry()
        size = f" ({g.n_projections} projections of {g.detector_shape[1]} × {g.detector_shape[0]} px)"
    except Exception:  # noqa: BLE001 - the description is decoration only
        size = ""
    return (f"A simulated BGA package{size} with voids, a solder bridge, a missing ball and a cracked "
            "bump. Simulated on first use (about a minute), then cached.")


class WelcomePage(QWidget):
    openDemo = Signal()
    openScan = Signal()
    openRecent = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        column = QVBoxLayout()
        column.addStretch(1)
        title = QLabel("Fathom")
        title.setObjectName("welcomeTitle")
        column.addWidget(title)
        subtitle = note_label("X-ray CT reconstruction for failure analysis: open a scan, reconstruct it, "
                              "tune it, and cut the volume open before the real cross-section.",
                              "welcomeSubtitle")
        column.addWidget(subtitle)
        column.addSpacing(18)

        card = QFrame()
        card.setObjectName("welcomeCard")
        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(20, 18, 20, 18)
        card_layout.setSpacing(10)
        self.demo_button = QPushButton("Open the demo scan")
        self.demo_button.setObjectName("openDemo")
        self.demo_button.setProperty("primary", True)
        self.demo_button.setMinimumHeight(40)
        self.demo_button.clicked.connect(self.openDemo)
        card_layout.addWidget(self.demo_button)
        demo_note = note_label(demo_description(), "hint")
        card_layout.addWidget(demo_note)
        card_layout.addSpacing(6)
        self.open_button = QPushButton("Open a scan…")
        self.open_button.setObjectName("openScan")
        self.open_button.setMinimumHeight(34)
        self.open_button.clicked.connect(self.openScan)
        card_layout.addWidget(self.open_button)
        formats = note_label("Reads " + SUPPORTED_SCAN_FORMATS + ". You can also drop a file or folder "
                             "onto the window.", "hint")
        card_layout.addWidget(formats)
        column.addWidget(card)
        column.addSpacing(12)

        recent_title = QLabel("Recent scans")
        recent_title.setObjectName("sectionTitle")
        column.addWidget(recent_title)
        self.recent = QListWidget()
        self.recent.setObjectName("recentList")
        self.recent.setMaximumHeight(170)
        self.recent.itemActivated.connect(self._open_item)
        self.recent.itemClicked.connect(self._open_item)
        column.addWidget(self.recent)
        self.no_recent = QLabel("None yet.")
        self.no_recent.setObjectName("hint")
        column.addWidget(self.no_recent)
        column.addStretch(2)
        holder = QWidget()
        holder.setLayout(column)
        holder.setMaximumWidth(640)
        holder.setMinimumWidth(520)
        outer.addWidget(holder, 3)
        outer.addStretch(1)

    def _open_item(self, item: QListWidgetItem) -> None:
        self.openRecent.emit(item.data(Qt.ItemDataRole.UserRole))

    def set_recent(self, files: list[str]) -> None:
        self.recent.clear()
        for path in files:
            name = "Demo scan" if path == "demo" else Path(path).name or path
            item = QListWidgetItem(f"{name}    —    {path}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.recent.addItem(item)
        self.recent.setVisible(bool(files))
        self.no_recent.setVisible(not files)
