"""Where the app keeps what outlives a session: settings, recent files, the log.

Settings are a ``QSettings`` INI file. Its folder is the platform's usual place unless
``FATHOM_SETTINGS_DIR`` names another (tests point it at a temporary folder, so they never touch
a user's settings); the data folder (the log file) is ``FATHOM_DATA_DIR`` or the platform's
application data folder. Nothing is written at import time.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

ORGANIZATION = "Fathom"
APPLICATION = "Fathom"
MAX_RECENT = 10

log = logging.getLogger("fathom.app.settings")


def settings_dir() -> Path | None:
    """The folder that holds the settings file, when overridden by ``FATHOM_SETTINGS_DIR``."""
    value = os.environ.get("FATHOM_SETTINGS_DIR")
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """The app's data folder (log file), created on demand."""
    value = os.environ.get("FATHOM_DATA_DIR")
    if value:
        folder = Path(value).expanduser()
    else:
        location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        folder = Path(location) if location else Path.home() / ".local" / "share" / "fathom"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_settings() -> QSettings:
    """The app's settings object (INI format, in the overridable folder)."""
    folder = settings_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        return QSettings(str(folder / "fathom.ini"), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


class AppSettings:
    """Typed access to the few things Fathom remembers between sessions."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings or open_settings()

    # -- recent scans -------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.q.value("recent/files", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str) -> list[str]:
        files = [p for p in self.recent_files() if p != path]
        files.insert(0, path)
        files = files[:MAX_RECENT]
        self.q.setValue("recent/files", files)
        return files

    def clear_recent(self) -> None:
        self.q.setValue("recent/files", [])

    # -- plain values -------------------------------------------------------------------------
    def last_folder(self) -> str:
        return str(self.q.value("paths/last_folder", str(Path.home())))

    def set_last_folder(self, folder: str) -> None:
        self.q.setValue("paths/last_folder", folder)

    def get(self, key: str, default=None):
        return self.q.value(key, default)

    def set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    # -- parameter sets (stored as the recipe's JSON) -------------------------------------------
    def params(self, name: str) -> dict | None:
        text = self.q.value(f"params/{name}", "")
        if not text:
            return None
        try:
            value = json.loads(str(text))
        except json.JSONDecodeError:
            log.warning("ignoring unreadable saved parameters %s", name)
            return None
        return value if isinstance(value, dict) else None

    def set_params(self, name: str, values: dict) -> None:
        self.q.setValue(f"params/{name}", json.dumps(values))

    def sync(self) -> None:
        self.q.sync()
