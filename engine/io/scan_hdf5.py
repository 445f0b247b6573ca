"""Fathom scan HDF5: the content of a scan folder in one HDF5 file.

Layout (all names fixed; extra groups, data sets and attributes are ignored):

* root attribute ``format`` = ``"fathom-scan/1"`` (how :func:`engine.io.load_scan` recognises it);
* root attributes ``geometry`` (the JSON of the ``geometry`` entry of ``scan.json``), ``values``
  (``"counts"`` or ``"line_integrals"``) and ``metadata`` (JSON object, optional);
* ``/projections`` (angles, rows, columns) in the scan's dtype;
* ``/angles_rad`` (angles,) float64;
* ``/flats``, ``/darks`` (k, rows, columns) and ``/flat_positions`` (k,) int64, each optional.

The conventions are Fathom's (DESIGN.md) and nothing is converted: ``/projections[i]`` is
projection i at ``/angles_rad[i]``, row 0 the top detector row. Data sets are written
contiguous and uncompressed, so a large file is memory-mapped read-only when loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..errors import FathomInputError
from ..progress import CancelToken, ProgressCallback, checkpoint, sub_progress
from ..scan import Scan
from .atomic import atomic_output
from .scan_json import (
    SCAN_FORMAT,
    check_angle_count,
    check_format,
    check_values,
    description_of,
    flat_positions_from_description,
    geometry_from_description,
    metadata_from_description,
    to_json,
)
from .stacks import check_finite, check_same_detector, open_hdf5, read_hdf5_stack

#: Data sets are written in blocks of about this many bytes, with progress and cancel between.
WRITE_BLOCK_BYTES = 32 * 2**20


def _text_attribute(file: h5py.File, name: str) -> str | None:
    value = file.attrs.get(name)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return None if value is None else str(value)


def is_fathom_hdf5(file: h5py.File) -> bool:
    """True if an open HDF5 file declares itself a Fathom scan."""
    fmt = _text_attribute(file, "format")
    return fmt is not None and fmt.startswith("fathom-scan/")


def _json_attribute(file: h5py.File, name: str, path: Path, required: bool):
    text = _text_attribute(file, name)
    if text is None:
        if required:
            raise FathomInputError(f"{path} has no '{name}' attribute: write the file with save_scan_h5")
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FathomInputError(
            f"{path}: the '{name}' attribute is not valid JSON ({exc.msg}): fix it"
        ) from None


def read_scan_h5(
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Scan:
    """Read a Fathom scan HDF5 file (layout in the module docstring).

    Returns
    -------
    Scan with ``projections`` (angles, rows, columns) in the file's dtype, memory-mapped
    read-only when large; flats, darks, flat positions and metadata when present.

    Raises
    ------
    FathomInputError
        For an unreadable file, missing parts, counts or sizes that disagree, NaN/inf pixels or
        an impossible geometry.
    """
    path = Path(path).expanduser()
    with open_hdf5(path) as file:
        check_format(_text_attribute(file, "format"), path)
        values = _text_attribute(file, "values")
        if values is None:
            raise FathomInputError(
                f'{path} has no \'values\' attribute: set it to "counts" or "line_integrals"'
            )
        values = check_values(values, path)
        geometry_doc = _json_attribute(file, "geometry", path, required=True)
        metadata = metadata_from_description(_json_attribute(file, "metadata", path, False), path)
        angles = read_hdf5_stack(file, "angles_rad", "angles", images=False)
        if angles.ndim != 1:
            raise FathomInputError(f"{path}: /angles_rad must be one angle per projection, shape (n,)")
        projections = read_hdf5_stack(file, "projections", "projections")
        checkpoint(cancel, progress, 0.4, "read projections")
        check_angle_count(angles.size, projections.shape[0], f"{path} (/angles_rad)", "/projections")
        loaded: dict[str, np.ndarray] = {}
        for key in ("flats", "darks"):
            if key in file:
                loaded[key] = read_hdf5_stack(file, key, key)
                check_same_detector(loaded[key], key, projections, f"{path} (/{key})")
        positions = file["flat_positions"][()] if "flat_positions" in file and "flats" in loaded else None
    geometry = geometry_from_description(
        geometry_doc, np.asarray(angles, dtype=np.float64), projections.shape[1:], path
    )
    flat_positions = None
    if positions is not None:
        flat_positions = flat_positions_from_description(positions.tolist(), loaded["flats"].shape[0], path)
    check_finite(projections, "projections", path, progress=sub_progress(progress, 0.45, 0.95), cancel=cancel)
    for key, stack in loaded.items():
        check_finite(stack, key, path, cancel=cancel)
    checkpoint(cancel, progress, 1.0, "scan loaded")
    metadata.update({"format": f"Fathom scan HDF5 ({SCAN_FORMAT})", "source": str(path)})
    return Scan(
        projections=projections,
        geometry=geometry,
        values=values,
        flats=loaded.get("flats"),
        darks=loaded.get("darks"),
        flat_positions=flat_positions,
        metadata=metadata,
    )


def _write_dataset(file: h5py.File, name: str, stack: np.ndarray, progress, cancel) -> None:
    dataset = file.create_dataset(name, shape=stack.shape, dtype=stack.dtype)
    per_block = max(1, WRITE_BLOCK_BYTES // max(1, stack[0].nbytes))
    n = stack.shape[0]
    for start in range(0, n, per_block):
        checkpoint(cancel, progress, start / n, f"writing /{name}")
        dataset[start : start + per_block] = np.asarray(stack[start : start + per_block])


def write_scan_h5(
    scan: Scan,
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write ``scan`` as one Fathom scan HDF5 file, atomically.

    Parameters
    ----------
    scan : the scan; arrays keep their dtypes (lossless).
    path : the ``.h5`` file to write; its folder must exist. An existing file is replaced only
        once the new one is complete.
    progress, cancel : see :mod:`engine.progress`.

    Returns
    -------
    ``path`` as a Path.
    """
    path = Path(path).expanduser()
    doc = description_of(scan)
    parts = [("projections", scan.projections)]
    parts += [(k, s) for k, s in (("flats", scan.flats), ("darks", scan.darks)) if s is not None]
    with atomic_output(path) as temporary, h5py.File(temporary, "w") as file:
        file.attrs["format"] = SCAN_FORMAT
        file.attrs["geometry"] = to_json(doc["geometry"])
        file.attrs["values"] = scan.values
        if "metadata" in doc:
            file.attrs["metadata"] = to_json(doc["metadata"])
        file.create_dataset("angles_rad", data=np.asarray(doc["angles_rad"], dtype=np.float64))
        for i, (key, stack) in enumerate(parts):
            share = sub_progress(progress, 0.95 * i / len(parts), 0.95 * (i + 1) / len(parts))
            _write_dataset(file, key, stack, share, cancel)
        if "flat_positions" in doc:
            file.create_dataset("flat_positions", data=np.asarray(doc["flat_positions"], dtype=np.int64))
    checkpoint(cancel, progress, 1.0, "scan written")
    return path
