"""The app's look: Qt's Fusion style with a dark neutral palette (images read best on dark grey)
and a small style sheet for Fathom's own widgets (workflow bar, message bar, thumbnails)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#3d8fd6"

STYLE_SHEET = f"""
QWidget {{ font-size: 10pt; }}
QGroupBox {{ font-weight: 600; border: 1px solid #3a3f47; border-radius: 5px; margin-top: 14px;
            padding: 8px 6px 6px 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #d7dbe0; }}
QLabel#hint, QLabel#unitLabel {{ color: #9aa3ad; }}
QLabel#formError {{ color: #ff8a80; }}
QLabel#readout, QLabel#sliceLabel {{ color: #c8ccd2; font-family: monospace; }}
QLabel#resultTitle {{ font-weight: 600; padding: 2px 0; }}
QLabel#memoryEstimate[level="ok"] {{ color: #a5d6a7; }}
QLabel#memoryEstimate[level="warning"] {{ color: #ffd180; }}
QLabel#memoryEstimate[level="error"] {{ color: #ff8a80; }}
QLabel#welcomeTitle {{ font-size: 28pt; font-weight: 700; color: #e8eaed; }}
QLabel#welcomeSubtitle {{ font-size: 12pt; color: #b0b7bf; }}
QLabel#sectionTitle {{ font-weight: 600; color: #d7dbe0; }}
QFrame#welcomeCard {{ background: #24282e; border: 1px solid #3a3f47; border-radius: 8px; }}
QPushButton {{ padding: 5px 12px; border-radius: 4px; border: 1px solid #4a505a; background: #2f343b; }}
QPushButton:hover {{ background: #383e46; }}
QPushButton:disabled {{ color: #6b7280; border-color: #353a41; background: #272b31; }}
QPushButton[primary="true"] {{ background: {ACCENT}; border-color: {ACCENT}; color: white;
                               font-weight: 600; }}
QPushButton[primary="true"]:hover {{ background: #4a9be0; }}
QPushButton[primary="true"]:disabled {{ background: #2c4a66; color: #9fb3c8; }}
QWidget#workflowBar {{ background: #1d2025; border-bottom: 1px solid #33373e; }}
QWidget#workflowBar QToolButton {{ padding: 6px 16px; border-radius: 14px; border: 1px solid #3a3f47;
                                   background: #262a30; color: #c8ccd2; font-weight: 600; }}
QWidget#workflowBar QToolButton:checked {{ background: {ACCENT}; border-color: {ACCENT}; color: white; }}
QWidget#workflowBar QToolButton:disabled {{ color: #5d646d; }}
QLabel#workflowArrow {{ color: #6b7280; font-size: 14pt; padding: 0 2px; }}
QLabel#workflowSummary {{ color: #9aa3ad; }}
QFrame#messageBar {{ border-radius: 4px; margin: 4px 8px 0 8px; }}
QFrame#messageBar[level="error"] {{ background: #4a1f1f; border: 1px solid #8c3a3a; }}
QFrame#messageBar[level="warning"] {{ background: #4a3b1a; border: 1px solid #8c6d2a; }}
QFrame#messageBar[level="info"] {{ background: #1d3347; border: 1px solid #2f5677; }}
QFrame#messageBar[level="success"] {{ background: #1d3a26; border: 1px solid #2f6b40; }}
QToolButton#messageClose {{ border: none; padding: 2px 6px; }}
QFrame#thumbnail {{ border: 2px solid #30353c; border-radius: 6px; background: #1b1e22; }}
QFrame#thumbnail[suggested="true"] {{ border: 2px dashed #7ee081; }}
QFrame#thumbnail[selected="true"] {{ border: 2px solid {ACCENT}; background: #1f2a36; }}
QLabel#thumbTitle {{ font-weight: 600; }}
QLabel#thumbCaption {{ color: #b0b7bf; font-size: 9pt; }}
QTabWidget::pane {{ border: 1px solid #3a3f47; border-radius: 4px; }}
QTabBar::tab {{ padding: 5px 12px; }}
QStatusBar QLabel {{ padding: 0 4px; }}
"""


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#202328",
        QPalette.ColorRole.WindowText: "#dfe2e6",
        QPalette.ColorRole.Base: "#181a1e",
        QPalette.ColorRole.AlternateBase: "#22262b",
        QPalette.ColorRole.ToolTipBase: "#2b3036",
        QPalette.ColorRole.ToolTipText: "#e8eaed",
        QPalette.ColorRole.Text: "#dfe2e6",
        QPalette.ColorRole.Button: "#2b3036",
        QPalette.ColorRole.ButtonText: "#dfe2e6",
        QPalette.ColorRole.BrightText: "#ff5252",
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#82b1ff",
        QPalette.ColorRole.PlaceholderText: "#7b838c",
    }
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7280"))
    app.setPalette(palette)
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    font.setStyleHint(QFont.StyleHint.SansSerif)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
