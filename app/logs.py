"""Logging for the app: every detail to a file in the data folder, the gist to the log panel.

Tracebacks go to the log file (and the panel), never to a dialog. :class:`LogBridge` turns log
records from any thread into a Qt signal that the log panel shows in the GUI thread.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from .settings import data_dir

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_FILE_HANDLER_NAME = "fathom-app-file"


class LogBridge(QObject):
    """Receives records from any thread and emits ``record(levelno, text)`` in the GUI thread."""

    record = Signal(int, str)


class _QtHandler(logging.Handler):
    def __init__(self, bridge: LogBridge) -> None:
        super().__init__(logging.INFO)
        self.bridge = bridge
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.bridge.record.emit(record.levelno, self.format(record))
        except RuntimeError:  # the bridge is gone (application closing)
            pass


def log_file_path() -> Path:
    return data_dir() / "fathom.log"


def setup_logging(bridge: LogBridge | None = None) -> Path:
    """Log "fathom" (engine and app) to the data folder's fathom.log; returns its path."""
    path = log_file_path()
    logger = logging.getLogger("fathom")
    logger.setLevel(logging.DEBUG)
    for h in list(logger.handlers):  # one file handler, writing to the current data folder
        if getattr(h, "name", "") == _FILE_HANDLER_NAME and Path(h.baseFilename) != path:
            logger.removeHandler(h)
            h.close()
    if not any(getattr(h, "name", "") == _FILE_HANDLER_NAME for h in logger.handlers):
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=2,
                                                       encoding="utf-8")
        handler.name = _FILE_HANDLER_NAME
        handler.setLevel(logging.DEBUG)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
    if bridge is not None:
        for h in list(logger.handlers):
            if isinstance(h, _QtHandler):
                logger.removeHandler(h)
        logger.addHandler(_QtHandler(bridge))
    return path


def detach_bridge() -> None:
    """Stop sending records to the panel (the window is closing)."""
    logger = logging.getLogger("fathom")
    for h in list(logger.handlers):
        if isinstance(h, _QtHandler):
            logger.removeHandler(h)


def install_excepthook(report) -> None:
    """Unexpected exceptions in GUI code: log the traceback, show one line via ``report(text)``."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        logging.getLogger("fathom.app").error("unexpected error in the window",
                                              exc_info=(exc_type, exc, tb))
        try:
            report(f"Internal error ({exc_type.__name__}: {exc}). The details are in the log "
                   "(View ▸ Log); the window keeps working.")
        except Exception:  # noqa: BLE001 - never raise from the hook
            pass

    sys.excepthook = hook
