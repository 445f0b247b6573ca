"""Reading scans and writing/reading volumes: every file format meets Fathom's convention here.

:func:`load_scan` looks at a path and hands it to the reader of its format; each reader's module
says what its format is and how its conventions map onto Fathom's (DESIGN.md), so that what
comes out is always a :class:`~engine.scan.Scan` in one convention. Files are only ever opened
read-only; large uncompressed stacks are memory-mapped; bad input raises one
:class:`~engine.errors.FathomInputError` that names the problem and the fix. Writers are atomic.

Formats read:

* Fathom scan folder (``scan.json`` + TIFFs) — :mod:`engine.io.scan_folder` (also written);
* Fathom scan HDF5 (root attribute ``format = "fathom-scan/1"``) — :mod:`engine.io.scan_hdf5`
  (also written);
* Data Exchange HDF5 (``/exchange/data``, APS/TomoPy) — :mod:`engine.io.data_exchange`;
* CIL NeXus (``AcquisitionData`` from CIL's NEXUSDataWriter) — :mod:`engine.io.cil_nexus`;
* a folder of TIFF images with ``angles.txt`` (Savu/Diamond style) — :mod:`engine.io.tiff_folder`.

Volumes (``.tif``/``.h5``): :mod:`engine.io.volume_files`.
"""

from __future__ import annotations

from pathlib import Path

import h5py

from ..errors import FathomInputError
from ..progress import CancelToken, ProgressCallback
from ..scan import Scan
from .atomic import atomic_output
from .cil_nexus import is_cil_nexus, read_cil_nexus
from .data_exchange import is_data_exchange, read_data_exchange
from .scan_folder import SCAN_JSON, is_scan_folder, read_scan_folder, write_scan_folder
from .scan_hdf5 import is_fathom_hdf5, read_scan_h5, write_scan_h5
from .scan_json import to_json
from .stacks import open_hdf5
from .tiff_folder import is_tiff_folder, read_tiff_folder
from .volume_files import load_volume, save_volume

__all__ = [
    "SUPPORTED_SCAN_FORMATS",
    "load_scan",
    "save_json",
    "load_volume",
    "save_scan_folder",
    "save_scan_h5",
    "save_volume",
]

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs")

SUPPORTED_SCAN_FORMATS = (
    "a Fathom scan folder (scan.json with TIFF projections), a Fathom scan HDF5 file "
    "(format attribute 'fathom-scan/1'), a Data Exchange HDF5 file (/exchange/data, "
    "/exchange/theta), a CIL NeXus file (AcquisitionData), or a folder of TIFF projections with "
    "angles.txt"
)


def save_json(content: dict, path: str | Path) -> Path:
    """Write ``content`` (NumPy values allowed) as indented JSON, atomically: a recipe, a truth."""
    path = Path(path).expanduser()
    with atomic_output(path) as temporary:
        temporary.write_text(to_json(content, indent=2))
    return path


def _is_hdf5(path: Path) -> bool:
    if path.suffix.lower() in HDF5_SUFFIXES:
        return True
    try:
        return h5py.is_hdf5(path)
    except OSError:
        return False


def load_scan(
    path: str | Path,
    *,
    frame: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Scan:
    """Read a scan in any supported format, detected from the path and, for HDF5, its content.

    Parameters
    ----------
    path : a scan folder or its ``scan.json``; an ``.h5``/``.hdf5``/``.hdf``/``.nxs`` file
        (Fathom scan, Data Exchange or CIL NeXus); or a folder of TIFF images with ``angles.txt``.
    frame : which channel (time frame, energy bin) of a file that holds several to read (CIL
        NeXus); None reads the first. Formats with one frame refuse any other than 0.
    progress : optional ``progress(fraction, message)`` callback.
    cancel : optional :class:`~engine.progress.CancelToken`; cancelling raises
        :class:`~engine.progress.Cancelled` at the next chunk.

    Returns
    -------
    Scan with ``projections[angle, row, column]`` in Fathom's convention (DESIGN.md): raw
    counts with flats/darks or line integrals, the geometry (angles in radians, lengths in mm),
    and ``metadata`` naming the format and source and noting anything assumed.

    Raises
    ------
    FathomInputError
        If the path is missing, its format is not one of :data:`SUPPORTED_SCAN_FORMATS`, or its
        content is inconsistent; the message names the problem and the fix.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FathomInputError(f"{path} does not exist: check the path")
    hdf5 = not path.is_dir() and _is_hdf5(path)
    if hdf5:
        with open_hdf5(path) as file:
            fathom, exchange, cil = is_fathom_hdf5(file), is_data_exchange(file), is_cil_nexus(file)
        if cil:
            return read_cil_nexus(path, frame=frame, progress=progress, cancel=cancel)
    if frame not in (None, 0):
        raise FathomInputError(f"{path} holds one frame: frame {frame} does not exist; leave --frame out")
    if path.is_dir():
        if is_scan_folder(path):
            return read_scan_folder(path, progress=progress, cancel=cancel)
        if is_tiff_folder(path):
            return read_tiff_folder(path, progress=progress, cancel=cancel)
        raise FathomInputError(
            f"{path} holds no {SCAN_JSON} and no TIFF images: point to {SUPPORTED_SCAN_FORMATS}"
        )
    if path.suffix.lower() == ".json":
        return read_scan_folder(path, progress=progress, cancel=cancel)
    if hdf5:
        if fathom:
            return read_scan_h5(path, progress=progress, cancel=cancel)
        if exchange:
            return read_data_exchange(path, progress=progress, cancel=cancel)
        raise FathomInputError(
            f"{path} is an HDF5 file of a layout Fathom does not read (no 'fathom-scan/1' format "
            f"attribute, /exchange/data or CIL AcquisitionData): convert it to {SUPPORTED_SCAN_FORMATS}"
        )
    raise FathomInputError(
        f"{path.name} is not a scan format Fathom reads: use {SUPPORTED_SCAN_FORMATS}. A single "
        "TIFF stack needs a scan.json beside it naming it and giving the geometry and angles"
    )


def save_scan_folder(
    scan: Scan,
    folder: str | Path,
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write ``scan`` as a Fathom scan folder; returns the path of its ``scan.json``.

    See :func:`engine.io.scan_folder.write_scan_folder`. ``overwrite`` must be True to replace a
    scan already in ``folder`` (raw scans are never replaced by accident).
    """
    return write_scan_folder(scan, folder, overwrite=overwrite, progress=progress, cancel=cancel)


def save_scan_h5(
    scan: Scan,
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write ``scan`` as one Fathom scan HDF5 file, atomically; returns ``path``.

    See :mod:`engine.io.scan_hdf5` for the layout.
    """
    return write_scan_h5(scan, path, progress=progress, cancel=cancel)
