"""The main window: the workflow Scan → Preprocess → Reconstruct → Inspect, and everything around it.

Structure: menu bar; the workflow bar (one button per step, ✓ when done); a message bar for
errors and notes (one sentence: what went wrong, what to do); the pages in a stack (Welcome when
no scan is open); the status bar with the running task's progress, time left and Cancel; a
dockable log panel. Scans open from File ▸ Open, Open Recent, drag and drop, or the welcome
page's demo button. Every engine call runs through one :class:`~app.worker.TaskManager`.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine import __version__
from engine import params as P
from engine.errors import FathomInputError
from engine.preprocess import PreprocessParams

from .jobs import load_scan_job
from .logs import LogBridge, detach_bridge, setup_logging
from .pages.inspect_page import InspectPage
from .pages.preprocess_page import PreprocessPage
from .pages.reconstruct_page import ReconstructPage
from .pages.scan_page import ScanPage
from .pages.welcome import WelcomePage
from .session import Session
from .settings import AppSettings
from .widgets.status import LogPanel, MessageBar, TaskBar, WorkflowBar
from .worker import Task, TaskManager

log = logging.getLogger("fathom.app")

STEP_SCAN, STEP_PREPROCESS, STEP_RECONSTRUCT, STEP_INSPECT = range(4)


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, *, use_3d_viewer: bool = True) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.setWindowTitle("Fathom")
        self.setAcceptDrops(True)
        self.resize(1500, 950)
        self.log_bridge = LogBridge(self)
        self.log_path = setup_logging(self.log_bridge)
        self.session = Session(self)
        self.tasks = TaskManager(self)
        self.load_task: Task | None = None
        self._closing = False

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.workflow = WorkflowBar()
        self.workflow.stepClicked.connect(self.go_to_step)
        layout.addWidget(self.workflow)
        self.messages = MessageBar()
        self.messages.actionTriggered.connect(self._message_action)
        layout.addWidget(self.messages)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.welcome = WelcomePage()
        self.welcome.openDemo.connect(self.open_demo)
        self.welcome.openScan.connect(self.open_scan_dialog)
        self.welcome.openRecent.connect(self.open_scan)
        self.scan_page = ScanPage(self.session, self.tasks)
        self.preprocess_page = PreprocessPage(self.session, self.tasks)
        self.reconstruct_page = ReconstructPage(self.session, self.tasks)
        self.reconstruct_page.finishedRun.connect(self._run_finished)
        self.inspect_page = InspectPage(self.session, self.tasks, use_3d=use_3d_viewer)
        self.pages = [self.scan_page, self.preprocess_page, self.reconstruct_page, self.inspect_page]
        for page in [self.welcome, *self.pages]:
            self.stack.addWidget(page)

        self.task_bar = TaskBar()
        self.tasks.taskStarted.connect(self.task_bar.follow)
        self.readout = QLabel()
        self.readout.setObjectName("readout")
        self.statusBar().addWidget(self.readout, 1)
        self.statusBar().addPermanentWidget(self.task_bar)
        self.reconstruct_page.view.hovered.connect(self._show_readout)

        self.log_panel = LogPanel(str(self.log_path))
        self.log_bridge.record.connect(self.log_panel.append)
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("logDock")
        self.log_dock.setWidget(self.log_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)
        self.log_dock.hide()

        self._build_menus()
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=self.task_bar.cancel)
        self.session.scanChanged.connect(self._update_workflow)
        self.session.preparedChanged.connect(self._update_workflow)
        self.session.volumesChanged.connect(self._update_workflow)
        self._restore_settings()
        self._update_workflow()
        self.show_welcome()
        # Hundreds of thousands of long-lived objects (Qt wrappers, NumPy/SciPy/Numba internals)
        # exist by now; a full garbage collection scanning them all takes 0.1–0.2 s on the GUI
        # thread, a visible freeze. Frozen, they are skipped by every later collection.
        gc.collect()
        gc.freeze()
        log.info("Fathom %s started; log file %s", __version__, self.log_path)

    # -- menus ----------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_file_action = QAction("&Open Scan File…", self, shortcut=QKeySequence.StandardKey.Open,
                                        triggered=self.open_scan_dialog)
        file_menu.addAction(self.open_file_action)
        file_menu.addAction(QAction("Open Scan &Folder…", self, shortcut=QKeySequence("Ctrl+Shift+O"),
                                    triggered=self.open_folder_dialog))
        file_menu.addAction(QAction("Open the &Demo Scan", self, triggered=self.open_demo))
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        file_menu.addAction(QAction("Open &Volume…", self, triggered=self._open_volume))
        file_menu.addAction(QAction("&Save Volume…", self, shortcut=QKeySequence.StandardKey.Save,
                                    triggered=self._save_volume))
        file_menu.addAction(QAction("Save &Recipe…", self,
                                    triggered=self.reconstruct_page.save_recipe_dialog))
        file_menu.addSeparator()
        file_menu.addAction(QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit,
                                    triggered=self.close))
        view_menu = self.menuBar().addMenu("&View")
        for k, name in enumerate(WorkflowBar.STEPS):
            action = QAction(f"{k + 1}  {name}", self, shortcut=QKeySequence(f"Ctrl+{k + 1}"),
                             triggered=lambda _c=False, i=k: self.go_to_step(i))
            view_menu.addAction(action)
        view_menu.addSeparator()
        log_action = self.log_dock.toggleViewAction()
        log_action.setText("&Log")
        log_action.setShortcut(QKeySequence("Ctrl+L"))
        view_menu.addAction(log_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(QAction("Open the &Log Folder", self, triggered=lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(self.log_path.parent)))))
        help_menu.addAction(QAction("&About Fathom", self, triggered=self._about))
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for path in files:
            label = "Demo scan" if path == "demo" else path
            action = QAction(label, self, triggered=lambda _c=False, p=path: self.open_scan(p))
            self.recent_menu.addAction(action)
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(QAction("Clear", self, triggered=self._clear_recent))
        self.recent_menu.setEnabled(bool(files))
        self.welcome.set_recent(files)

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self._refresh_recent()

    def _about(self) -> None:
        QMessageBox.about(self, "About Fathom",
                          f"<b>Fathom {__version__}</b><br>X-ray CT reconstruction for failure analysis.<br>"
                          f"Log file: {self.log_path}")

    # -- navigation -----------------------------------------------------------------------------
    def show_welcome(self) -> None:
        if not self.session.has_scan:
            self.stack.setCurrentWidget(self.welcome)
            self.workflow.set_current(-1)

    def go_to_step(self, step: int) -> None:
        if not self.session.has_scan:
            self.show_message("Open a scan first: the demo scan is one click away.", "info")
            self.workflow.set_current(-1)
            return
        if step == STEP_INSPECT:
            view = self.reconstruct_page.view
            if view.data is not None:  # open Inspect where the user was looking
                z = view.origin[0] + view.index[0] * view.voxel[0]
                y = view.origin[1] + view.index[1] * view.voxel[1]
                x = view.origin[2] + view.index[2] * view.voxel[2]
                self.inspect_page.set_cursor_hint(z, y, x)
        self.stack.setCurrentWidget(self.pages[step])
        self.workflow.set_current(step)

    def current_step(self) -> int:
        widget = self.stack.currentWidget()
        return self.pages.index(widget) if widget in self.pages else -1

    def _update_workflow(self, *_args) -> None:
        session = self.session
        has = session.has_scan
        self.workflow.set_enabled_steps(has)
        self.workflow.set_done(STEP_SCAN, has)
        self.workflow.set_done(STEP_PREPROCESS, session.cached_prepared() is not None)
        self.workflow.set_done(STEP_RECONSTRUCT, bool(session.volumes))
        if has:
            n, rows, cols = session.scan.projections.shape
            made = ", ".join(item.label.split(" (")[0] for item in session.volumes.values())
            self.workflow.summary.setText(f"{session.scan_name} · {n} projections of {cols} × {rows} px"
                                          + (f" · {made} ✓" if made else ""))
            self.setWindowTitle(f"{session.scan_name} — Fathom")
        else:
            self.workflow.summary.setText("No scan open")

    def _run_finished(self, method: str) -> None:
        self._update_workflow()

    # -- messages ---------------------------------------------------------------------------------
    def show_message(self, text: str, level: str = "info") -> None:
        action = ("Show log", "log") if level == "error" else None
        self.messages.show_message(text, level, action)
        if level in ("error", "warning"):
            log.warning("shown to the user: %s", text)

    def show_error(self, text: str) -> None:
        self.show_message(text, "error")

    def _message_action(self, key: str) -> None:
        if key == "log":
            self.log_dock.show()

    def _show_readout(self, info) -> None:
        if info is None:
            self.readout.setText("")
        else:
            self.readout.setText(f"z {info['z']:+.3f} mm  y {info['y']:+.3f} mm  x {info['x']:+.3f} mm   "
                                 f"μ = {info['value']:.4g} {info['unit']}")

    # -- opening scans ----------------------------------------------------------------------------
    def open_scan(self, path: str) -> Task | None:
        """Load a scan (any format the engine reads, or "demo") in a worker; returns the task."""
        if self.load_task is not None and self.load_task.is_active:
            self.load_task.cancel()
        if self.reconstruct_page.running:
            self.show_message("A reconstruction is running: cancel it before opening another scan.",
                              "warning")
            return None
        name = "Preparing the demo scan" if path == "demo" else f"Opening {Path(path).name}"
        task = self.tasks.run(name, load_scan_job, str(path))
        task.succeeded.connect(lambda result, requested=path: self._scan_loaded(requested, *result))
        task.failed.connect(self.show_error)
        self.load_task = task
        return task

    def open_demo(self) -> Task | None:
        return self.open_scan("demo")

    def _scan_loaded(self, requested: str, path: str, scan, overview) -> None:
        self.messages.hide()
        self.session.set_scan(path, scan, overview)
        self.settings.add_recent(requested if requested == "demo" else str(Path(path)))
        self._refresh_recent()
        n, rows, cols = scan.projections.shape
        self.show_message(f"Opened {self.session.scan_name}: {n} projections of {cols} × {rows} pixels "
                          f"({scan.values.replace('_', ' ')}).", "success")
        self.go_to_step(STEP_SCAN)

    def open_scan_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open scan", self.settings.last_folder(),
            "Scans (scan.json *.h5 *.hdf5 *.hdf *.nxs *.json);;All files (*)")
        if path:
            self.settings.set_last_folder(str(Path(path).parent))
            self.open_scan(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open scan folder", self.settings.last_folder())
        if path:
            self.settings.set_last_folder(str(Path(path).parent))
            self.open_scan(path)

    def _open_volume(self) -> None:
        self.inspect_page.open_volume_dialog()
        if self.session.has_scan:
            self.go_to_step(STEP_INSPECT)

    def _save_volume(self) -> None:
        if not self.session.volumes and not self.inspect_page.files:
            self.show_message("Nothing to save yet: reconstruct a volume first.", "info")
            return
        self.inspect_page.save_volume_dialog()

    # -- drag and drop ----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt naming
        urls = event.mimeData().urls()
        if urls and all(u.isLocalFile() for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt naming
        urls = event.mimeData().urls()
        if not urls:
            return
        event.acceptProposedAction()
        path = urls[0].toLocalFile()
        if Path(path).name in ("projections.tif", "flats.tif", "darks.tif"):
            path = str(Path(path).parent)
        self.open_scan(path)

    # -- settings and closing ---------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.get("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = s.get("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        values = s.params("preprocess")
        if values:
            try:
                self.session.preprocess_params = P.from_recipe(PreprocessParams, values)
                self.preprocess_page.form.set_params(self.session.preprocess_params)
            except (FathomInputError, TypeError):
                log.warning("ignoring saved preprocessing parameters that no longer fit")
        values = s.params("reconstruct")
        if values:
            self.reconstruct_page.restore_params(values)

    def save_settings(self) -> None:
        s = self.settings
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        s.set_params("preprocess", P.to_recipe(self.session.preprocess_params))
        s.set_params("reconstruct", self.reconstruct_page.params_state())
        s.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        if self._closing:
            event.accept()
            return
        self._closing = True
        try:
            self.save_settings()
        except Exception:  # noqa: BLE001 - never block closing on settings
            log.exception("could not save the settings")
        if not self.tasks.shutdown(timeout_s=15.0):
            log.warning("some tasks did not stop within 15 s")
        self.inspect_page.shutdown()
        log.info("Fathom closed")
        detach_bridge()
        event.accept()
        super().closeEvent(event)
