"""The scan description shared by Fathom's two scan formats: geometry, angles, values, metadata.

The scan folder keeps it in ``scan.json``; the Fathom HDF5 scan keeps the same pieces as
attributes and data sets. Both are Fathom's own convention (DESIGN.md), so nothing here converts
anything: it checks what a file says and turns it into a :class:`ScanGeometry`, and back.
Every problem becomes a :class:`FathomInputError` that starts with the file it came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FathomInputError
from ..geometry import ScanGeometry
from ..scan import Scan

SCAN_FORMAT = "fathom-scan/1"
VALUES = ("counts", "line_integrals")

#: Metadata keys a reader fills in about the file itself; writers leave them out, since they
#: describe the file that was read, not the scan.
READER_KEYS = ("format", "source")


def json_default(value: Any) -> Any:
    """Make NumPy numbers and arrays, paths and tuples JSON-serialisable; anything else as text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, set, frozenset)):
        return str(value) if isinstance(value, Path) else sorted(value, key=str)
    return str(value)


def to_json(value: Any, **kwargs) -> str:
    return json.dumps(value, default=json_default, **kwargs)


def check_format(fmt: Any, source: Path | str) -> None:
    """Accept Fathom scan format version 1 (or no format key, for hand-written files)."""
    if fmt is None or fmt == SCAN_FORMAT:
        return
    if isinstance(fmt, str) and fmt.startswith("fathom-scan/"):
        raise FathomInputError(
            f"{source}: format {fmt!r} is newer than this Fathom reads ({SCAN_FORMAT}): update Fathom"
        )
    raise FathomInputError(f"{source}: format {fmt!r} is not a Fathom scan: expected {SCAN_FORMAT!r}")


def check_values(values: Any, source: Path | str) -> str:
    if values not in VALUES:
        raise FathomInputError(
            f'{source}: values {values!r} unknown: use "counts" (raw detector counts, with '
            'flats/darks) or "line_integrals" (-log already taken)'
        )
    return values


def _number_list(value: Any, key: str, source: Path | str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim != 1:
        raise FathomInputError(f"{source}: {key} must be a list of numbers, one per projection")
    return array


def angles_from_description(doc: dict, source: Path | str) -> np.ndarray:
    """Projection angles in radians from ``angles_rad`` or ``angles_deg``."""
    has_rad, has_deg = "angles_rad" in doc, "angles_deg" in doc
    if not (has_rad or has_deg):
        raise FathomInputError(
            f'{source}: no projection angles: add "angles_rad" (or "angles_deg"), one per projection'
        )
    rad = _number_list(doc["angles_rad"], "angles_rad", source) if has_rad else None
    deg = _number_list(doc["angles_deg"], "angles_deg", source) if has_deg else None
    if rad is not None and deg is not None:
        if rad.shape != deg.shape or not np.allclose(rad, np.radians(deg), rtol=0, atol=1e-6):
            raise FathomInputError(f"{source}: angles_rad and angles_deg disagree: keep only one of them")
    return rad if rad is not None else np.radians(deg)


def geometry_from_description(
    geometry: Any, angles_rad: np.ndarray, detector_shape: tuple[int, int], source: Path | str
) -> ScanGeometry:
    """A :class:`ScanGeometry` from the ``geometry`` entry, its errors prefixed with ``source``."""
    if not isinstance(geometry, dict):
        raise FathomInputError(f'{source}: "geometry" must be an object such as {{"type": "cone", ...}}')
    required = ["type", "pixel_size_mm"]
    if geometry.get("type") == "cone" and "vectors" not in geometry:
        required += ["source_object_mm", "source_detector_mm"]
    for key in required:
        if geometry.get(key) is None:
            raise FathomInputError(
                f'{source}: the geometry has no "{key}": add it (see the scan.json example in DESIGN.md)'
            )
    try:
        return ScanGeometry.from_dict(geometry, angles_rad, detector_shape)
    except FathomInputError as exc:
        raise FathomInputError(f"{source}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise FathomInputError(
            f'{source}: a geometry value is not a number ({exc}): fix the "geometry" entry'
        ) from None


def check_angle_count(
    n_angles: int, n_projections: int, source: Path | str, projections_source: Path | str
) -> None:
    if n_angles != n_projections:
        raise FathomInputError(
            f"{source} lists {n_angles} angles but {projections_source} holds {n_projections} "
            "projections: give one angle per projection, in projection order"
        )


def flat_positions_from_description(value: Any, n_flats: int, source: Path | str) -> np.ndarray | None:
    if value is None:
        return None
    positions = _number_list(value, "flat_positions", source)
    if positions.size != n_flats or not np.all(positions == np.round(positions)):
        raise FathomInputError(
            f"{source}: flat_positions must give one projection index (an integer) per flat"
        )
    return positions.astype(np.int64)


def metadata_from_description(value: Any, source: Path | str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FathomInputError(f'{source}: "metadata" must be an object (key: value pairs)')
    return dict(value)


def description_of(scan: Scan) -> dict:
    """The scan-description part of ``scan.json`` for ``scan`` (no file names)."""
    doc: dict = {
        "format": SCAN_FORMAT,
        "geometry": scan.geometry.to_dict(),
        "angles_rad": scan.geometry.angles_rad.tolist(),
        "values": scan.values,
    }
    if scan.flat_positions is not None and scan.flats is not None:
        doc["flat_positions"] = np.asarray(scan.flat_positions).astype(int).tolist()
    metadata = {k: v for k, v in scan.metadata.items() if k not in READER_KEYS}
    if metadata:
        doc["metadata"] = metadata
    return doc
