"""The iterative engine's convergence: objective and data residual per iteration."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class ConvergencePlot(QWidget):
    """Two stacked plots sharing the iteration axis, filled one record at a time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("convergencePlot")
        self.objective_plot = self.graphics.addPlot(row=0, col=0)
        self.residual_plot = self.graphics.addPlot(row=1, col=0)
        self.residual_plot.setXLink(self.objective_plot)
        plots = ((self.objective_plot, "objective, relative to iteration 1", "#7ee081"),
                 (self.residual_plot, "data residual Σ w r² / rays (1 = noise level)", "#4fc3f7"))
        for plot, title, color in plots:
            plot.setMenuEnabled(False)
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setTitle(title, size="9pt")
            plot.getAxis("bottom").enableAutoSIPrefix(False)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.setLabel("bottom", "iteration")
            plot.curve = plot.plot([], [], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5,
                                   symbolBrush=color, symbolPen=None)
        dashed = pg.mkPen("#ffb74d", width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
        self.noise_line = pg.InfiniteLine(pos=1.0, angle=0, pen=dashed, label="noise level",
                                          labelOpts={"position": 0.9, "color": "#ffb74d"})
        self.residual_plot.addItem(self.noise_line)
        layout.addWidget(self.graphics, 1)
        self.status = QLabel("Run the iterative engine to see its convergence.")
        self.status.setObjectName("hint")
        layout.addWidget(self.status)
        self.records: list = []
        self.planned = 0

    def reset(self, planned: int = 0) -> None:
        self.records = []
        self.planned = planned
        self.objective_plot.curve.setData([], [])
        self.residual_plot.curve.setData([], [])
        self.status.setText("Waiting for the first iteration…")

    def add(self, record) -> None:
        self.records.append(record)
        self._redraw()

    def set_history(self, history: list[dict]) -> None:
        from types import SimpleNamespace

        self.records = [SimpleNamespace(**h) for h in history]
        self._redraw()

    def _redraw(self) -> None:
        if not self.records:
            return
        it = np.array([r.iteration for r in self.records], dtype=float)
        objective = np.array([r.objective for r in self.records], dtype=float)
        residual = np.array([r.data_residual for r in self.records], dtype=float)
        first = objective[0] if objective[0] else 1.0
        self.objective_plot.curve.setData(it, objective / first)
        self.residual_plot.curve.setData(it, residual)
        last = self.records[-1]
        of = f" of {self.planned}" if self.planned else ""
        per = last.seconds / max(last.iteration, 1)
        self.status.setText(f"Iteration {last.iteration}{of} · objective {last.objective:.4g} · "
                            f"data residual {last.data_residual:.3g} · {per:.2f} s per iteration")
