"""What the window is working on: the scan, its preprocessing, the volumes made from it.

One :class:`Session` per window, shared by the pages. It holds data and parameters, never
widgets, and says what changed through signals, so each page redraws only what it shows.
A preprocessed scan is kept with the key of what it was made from (scan, parameters, geometry)
and reused until one of those changes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from engine.fdk import FDKParams
from engine.geometry import ScanGeometry, VolumeGeometry, default_volume
from engine.preprocess import PreprocessParams
from engine.scan import Scan
from engine.volume import Volume

from .jobs import HAVE_ITERATIVE, IterativeParams, prepare_key, scan_overview


@dataclass
class NamedVolume:
    """A volume the window can show, with the name it goes by ("FDK", "Iterative", a file)."""

    key: str
    label: str
    volume: Volume
    levels: tuple[float, float] | None = None  # default grey window (1/mm)


class Session(QObject):
    scanChanged = Signal()  # a new scan, or its geometry edited
    preparedChanged = Signal()  # preprocessing done (or invalidated)
    volumesChanged = Signal(str)  # key of the volume added or replaced
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path: str | None = None
        self.scan: Scan | None = None
        self.overview = None  # jobs.ScanOverview: grey window and default sinogram row
        self.original_geometry: ScanGeometry | None = None
        self.prepared: Scan | None = None
        self.prepared_key: str = ""
        self.preprocess_params = PreprocessParams()
        self.fdk_params = FDKParams()
        self.iterative_params = IterativeParams() if HAVE_ITERATIVE else None
        self.voxel_size_mm: float | None = None
        self.output_path: str = ""
        self.volumes: dict[str, NamedVolume] = {}
        self._scan_serial = 0

    # -- the scan -----------------------------------------------------------------------------
    def set_scan(self, path: str, scan: Scan, overview=None) -> None:
        self.path = path
        self.scan = scan
        self.overview = overview if overview is not None else scan_overview(scan)
        self.original_geometry = scan.geometry
        self._scan_serial += 1
        self.prepared, self.prepared_key = None, ""
        self.volumes.clear()
        self.voxel_size_mm = None
        self.scanChanged.emit()
        self.preparedChanged.emit()
        self.volumesChanged.emit("")

    def set_geometry(self, geometry: ScanGeometry) -> None:
        """Replace the scan's geometry (validated by the caller); the raw data stay untouched."""
        if self.scan is None:
            return
        self.scan = dataclasses.replace(self.scan, geometry=geometry)
        self._scan_serial += 1
        self.invalidate_prepared()
        self.scanChanged.emit()

    @property
    def has_scan(self) -> bool:
        return self.scan is not None

    @property
    def scan_name(self) -> str:
        if not self.path:
            return ""
        from pathlib import Path

        p = Path(self.path)
        return p.parent.name if p.name == "scan.json" else p.name

    # -- preprocessing ------------------------------------------------------------------------
    def current_prepare_key(self) -> str:
        if self.scan is None:
            return ""
        return prepare_key(self._scan_serial, self.preprocess_params, self.scan.geometry)

    def cached_prepared(self) -> Scan | None:
        """The preprocessed scan if it matches the current parameters, else None."""
        if self.prepared is not None and self.prepared_key == self.current_prepare_key():
            return self.prepared
        return None

    def set_prepared(self, prepared: Scan, key: str) -> None:
        if key != self.current_prepare_key():
            return  # made from parameters that have changed since
        self.prepared, self.prepared_key = prepared, key
        self.preparedChanged.emit()

    def invalidate_prepared(self) -> None:
        if self.prepared is not None:
            self.prepared, self.prepared_key = None, ""
            self.preparedChanged.emit()

    def set_preprocess_params(self, params: PreprocessParams) -> None:
        if params != self.preprocess_params:
            self.preprocess_params = params
            self.preparedChanged.emit()

    # -- volumes ------------------------------------------------------------------------------
    def volume_geometry(self) -> VolumeGeometry | None:
        """The volume a run would make now (from the preprocessed geometry when there is one)."""
        if self.scan is None:
            return None
        geometry = (self.cached_prepared() or self.scan).geometry
        return default_volume(geometry, self.voxel_size_mm)

    def set_volume(self, key: str, label: str, volume: Volume,
                   levels: tuple[float, float] | None = None) -> None:
        self.volumes[key] = NamedVolume(key, label, volume, levels)
        self.volumesChanged.emit(key)

    def volume(self, key: str) -> Volume | None:
        item = self.volumes.get(key)
        return None if item is None else item.volume
