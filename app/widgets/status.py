"""Feedback widgets: the task bar (progress, ETA, Cancel), the message bar, the log panel."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..worker import Task, format_eta
from .panels import note_label


class TaskBar(QWidget):
    """The running task's name, progress, time left and a Cancel button (in the status bar)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task: Task | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setObjectName("taskLabel")
        self.label.setMinimumWidth(380)
        self.label.setMaximumWidth(520)
        layout.addWidget(self.label)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(220)
        self.bar.setTextVisible(True)
        layout.addWidget(self.bar)
        self.eta = QLabel()
        self.eta.setObjectName("etaLabel")
        self.eta.setMinimumWidth(90)
        layout.addWidget(self.eta)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelTask")
        self.cancel_button.setToolTip("Stop this task (Esc); nothing it made is kept")
        self.cancel_button.clicked.connect(self.cancel)
        layout.addWidget(self.cancel_button)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._update_eta)
        self._hide_timer = QTimer(self)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.timeout.connect(self._hide_if_idle)
        self.hide()

    def follow(self, task: Task) -> None:
        """Show ``task`` (the newest foreground task wins the bar)."""
        self.task = task
        task.progressed.connect(lambda f, m, t=task: self._on_progress(t, f, m))
        task.finished.connect(lambda t=task: self._on_finished(t))
        self.label.setText(f"{task.name}…")
        self.bar.setValue(0)
        self.bar.setFormat("%p %")
        self.eta.setText("")
        self.cancel_button.setEnabled(True)
        self._hide_timer.stop()
        self._timer.start()
        self.show()

    def cancel(self) -> None:
        if self.task is not None and self.task.is_active:
            self.task.cancel()
            committed = self.task.context.committed
            self.label.setText(f"{self.task.name}: " + ("writing the output, finishing…" if committed
                                                         else "cancelling…"))
            self.cancel_button.setEnabled(False)

    def _on_progress(self, task: Task, fraction: float, message: str) -> None:
        if task is not self.task:
            return
        self.bar.setValue(int(fraction * 1000))
        text = task.name + (f": {message}" if message else "")
        self.label.setText(self.label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                                               self.label.maximumWidth()))
        self.label.setToolTip(text)
        self._update_eta()

    def _update_eta(self) -> None:
        if self.task is not None:
            self.eta.setText(format_eta(self.task.eta_seconds()) or f"{self.task.elapsed:.0f} s")

    def _on_finished(self, task: Task) -> None:
        if task is not self.task:
            return
        self._timer.stop()
        self.cancel_button.setEnabled(False)
        words = {"succeeded": f"done in {task.elapsed:.1f} s", "cancelled": "cancelled",
                 "failed": "failed"}
        self.label.setText(f"{task.name}: {words.get(task.state, task.state)}")
        self.eta.setText("")
        if task.state == "succeeded":
            self.bar.setValue(1000)
        self._hide_timer.start(4000)

    def _hide_if_idle(self) -> None:
        if self.task is None or not self.task.is_active:
            self.hide()


class MessageBar(QFrame):
    """A one-line banner above the work area: errors (what went wrong, what to do) and notes."""

    LEVELS = ("error", "warning", "info", "success")
    actionTriggered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.icon = QLabel()
        self.icon.setObjectName("messageIcon")
        layout.addWidget(self.icon)
        self.text = note_label(name="messageText")
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.text, 1)
        self.action = QPushButton()
        self.action.hide()
        self.action.clicked.connect(lambda: self.actionTriggered.emit(self._action_key))
        layout.addWidget(self.action)
        close = QToolButton()
        close.setText("✕")
        close.setObjectName("messageClose")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self.level = "info"
        self._action_key = ""
        self._fade = QTimer(self)
        self._fade.setSingleShot(True)
        self._fade.timeout.connect(self.hide)
        self.hide()

    # Notes of success go away by themselves; errors and warnings stay until dismissed.
    AUTO_HIDE_MS = {"success": 8000, "info": 15000}

    def show_message(self, text: str, level: str = "info", action: tuple[str, str] | None = None) -> None:
        self.level = level if level in self.LEVELS else "info"
        self.setProperty("level", self.level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.icon.setText({"error": "⛔", "warning": "⚠", "info": "ℹ", "success": "✔"}[self.level])
        self.text.setText(text)
        if action:
            self.action.setText(action[0])
            self._action_key = action[1]
            self.action.show()
        else:
            self.action.hide()
        self._fade.stop()
        if self.level in self.AUTO_HIDE_MS:
            self._fade.start(self.AUTO_HIDE_MS[self.level])
        self.show()


class LogPanel(QWidget):
    """The session's log lines (the file in the data folder has every detail)."""

    def __init__(self, log_path: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.path_label = QLabel(f"Full log: {log_path}" if log_path else "")
        self.path_label.setObjectName("logPath")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.path_label)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(5000)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.text, 1)

    def append(self, level: int, line: str) -> None:
        color = "#ff8a80" if level >= logging.ERROR else "#ffd180" if level >= logging.WARNING else None
        escaped = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")
        html = f'<span style="color:{color}">{escaped}</span>' if color else escaped
        self.text.appendHtml(f"<pre style='margin:0'>{html}</pre>")
        self.text.moveCursor(QTextCursor.MoveOperation.End)

    def plain_text(self) -> str:
        return self.text.toPlainText()


class WorkflowBar(QWidget):
    """Scan → Preprocess → Reconstruct → Inspect: where you are and what is done."""

    stepClicked = Signal(int)
    STEPS = ("Scan", "Preprocess", "Reconstruct", "Inspect")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workflowBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.setSpacing(4)
        self.buttons: list[QToolButton] = []
        self.done = [False] * len(self.STEPS)
        for k, name in enumerate(self.STEPS):
            if k:
                arrow = QLabel("›")
                arrow.setObjectName("workflowArrow")
                layout.addWidget(arrow)
            button = QToolButton()
            button.setObjectName(f"step{name}")
            button.setCheckable(True)
            button.setAutoExclusive(False)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setToolTip(f"Step {k + 1}: {name} (Ctrl+{k + 1})")
            button.clicked.connect(lambda _c=False, i=k: self.stepClicked.emit(i))
            layout.addWidget(button)
            self.buttons.append(button)
        layout.addStretch(1)
        self.summary = QLabel()
        self.summary.setObjectName("workflowSummary")
        layout.addWidget(self.summary)
        self._refresh()

    def set_current(self, index: int) -> None:
        for k, button in enumerate(self.buttons):
            button.setChecked(k == index)

    def set_done(self, index: int, done: bool) -> None:
        self.done[index] = done
        self._refresh()

    def set_enabled_steps(self, enabled: bool) -> None:
        for button in self.buttons:
            button.setEnabled(enabled)

    def _refresh(self) -> None:
        for k, (button, name) in enumerate(zip(self.buttons, self.STEPS, strict=True)):
            mark = "✓" if self.done[k] else str(k + 1)
            button.setText(f"{mark}  {name}")
