"""Fathom scan folder: ``scan.json`` plus projections, flats and darks as multi-page TIFFs.

This is Fathom's own lossless scan format (DESIGN.md, "The interchange formats") and what
``fathom simulate`` writes. ``scan.json`` holds the geometry, the angles (``angles_rad``, or
``angles_deg`` converted here to radians), what the values are (``counts`` or
``line_integrals``) and the file names, relative to the folder (absolute paths also work).
``projections`` is one multi-page TIFF, a list of files, or a glob pattern such as
``"proj_*.tif"`` (matches taken in natural order: ``proj_2`` before ``proj_10``); ``flats`` and
``darks`` are optional and take the same forms. Optional extra keys: ``flat_positions`` (the
projection index at which each flat was taken) and ``metadata`` (an object kept in
``Scan.metadata``); any other key is ignored.

The conventions are Fathom's, so nothing is converted: TIFF page i is projection i at angle i,
row 0 of each page is the top detector row and column 0 the −u end, as DESIGN.md states.
Projections keep their dtype; a large uncompressed TIFF is memory-mapped read-only rather than
read. The writer produces exactly this layout with uncompressed TIFFs (so they map again), each
file written atomically and ``scan.json`` last, so a folder with a ``scan.json`` is complete.
"""

from __future__ import annotations

import glob
import json
import shutil
from pathlib import Path

import numpy as np

from ..errors import FathomInputError
from ..progress import CancelToken, ProgressCallback, checkpoint, sub_progress
from ..scan import Scan
from .atomic import atomic_output
from .scan_json import (
    angles_from_description,
    check_angle_count,
    check_format,
    check_values,
    description_of,
    flat_positions_from_description,
    geometry_from_description,
    metadata_from_description,
    to_json,
)
from .stacks import check_finite, check_same_detector, natural_sorted, read_tiff_files, write_tiff_stack

SCAN_JSON = "scan.json"
REQUIRED_KEYS = ("geometry", "values", "projections")


def is_scan_folder(path: Path) -> bool:
    """True if ``path`` is a folder holding a ``scan.json``."""
    return path.is_dir() and (path / SCAN_JSON).is_file()


def _read_description(json_path: Path) -> dict:
    try:
        text = json_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FathomInputError(f"cannot read {json_path} ({exc.strerror or exc}): check the path") from exc
    except UnicodeDecodeError:
        raise FathomInputError(
            f"{json_path} is not a text file: it must hold the scan description in JSON"
        ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FathomInputError(
            f"{json_path} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): "
            "fix the file"
        ) from None
    if not isinstance(doc, dict):
        raise FathomInputError(f'{json_path} must hold one JSON object ({{"geometry": ..., ...}})')
    missing = [k for k in REQUIRED_KEYS if k not in doc]
    if missing:
        listed = ", ".join(f'"{k}"' for k in missing)
        raise FathomInputError(
            f"{json_path} lacks the required key(s) {listed}: add them (see the scan.json example "
            "in DESIGN.md)"
        )
    return doc


def _resolve_files(entry, key: str, folder: Path, json_path: Path) -> list[Path]:
    """The files a ``projections``/``flats``/``darks`` entry names, in order."""
    entries = [entry] if isinstance(entry, str) else entry
    if not isinstance(entries, list) or not entries or not all(isinstance(e, str) for e in entries):
        raise FathomInputError(
            f'{json_path}: "{key}" must be a file name, a glob pattern or a list of file names'
        )
    paths: list[Path] = []
    for name in entries:
        given = Path(name).expanduser()
        path = given if given.is_absolute() else folder / given
        if glob.has_magic(name):
            # Relative patterns are matched inside the folder, so brackets in its own name are
            # not taken for pattern characters.
            base = Path(path.anchor) if given.is_absolute() else folder
            pattern = str(path.relative_to(base))
            matches = natural_sorted(
                base / p for p in glob.glob(pattern, root_dir=base) if (base / p).is_file()
            )
            if not matches:
                raise FathomInputError(
                    f"{json_path}: the {key} pattern {name!r} matches no file in {path.parent}: fix "
                    f'the "{key}" entry or put the files there'
                )
            paths.extend(matches)
        elif not path.is_file():
            raise FathomInputError(
                f"{json_path} names the {key} file {name!r}, but {path} does not exist: put the file "
                f'beside scan.json or fix the "{key}" entry'
            )
        else:
            paths.append(path)
    return paths


def _describe_files(paths: list[Path]) -> str:
    return str(paths[0]) if len(paths) == 1 else f"{len(paths)} files {paths[0].name}…{paths[-1].name}"


def read_scan_folder(
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Scan:
    """Read a Fathom scan folder.

    Parameters
    ----------
    path : the folder, or its ``scan.json`` (any JSON file naming its data files).
    progress, cancel : see :mod:`engine.progress`.

    Returns
    -------
    Scan with ``projections`` (angles, rows, columns) in the file's dtype (memory-mapped
    read-only when large), flats/darks if named, the geometry and ``metadata``.

    Raises
    ------
    FathomInputError
        For a missing or malformed ``scan.json``, missing or unreadable data files, angle counts
        or image sizes that disagree, NaN/inf pixels, or an impossible geometry.
    """
    path = Path(path).expanduser()
    json_path = path / SCAN_JSON if path.is_dir() else path
    if not json_path.is_file():
        raise FathomInputError(f"{json_path} does not exist: point to a folder that holds scan.json")
    folder = json_path.parent
    doc = _read_description(json_path)
    check_format(doc.get("format"), json_path)
    values = check_values(doc["values"], json_path)
    angles = angles_from_description(doc, json_path)

    proj_files = _resolve_files(doc["projections"], "projections", folder, json_path)
    stacks: dict[str, list[Path]] = {}
    for key in ("flats", "darks"):
        if doc.get(key) is not None:
            stacks[key] = _resolve_files(doc[key], key, folder, json_path)

    projections = read_tiff_files(
        proj_files, "projections", progress=sub_progress(progress, 0.0, 0.4), cancel=cancel
    )
    proj_source = _describe_files(proj_files)
    check_angle_count(angles.size, projections.shape[0], json_path, proj_source)
    loaded: dict[str, np.ndarray] = {}
    for key, files in stacks.items():
        loaded[key] = read_tiff_files(files, key, cancel=cancel)
        check_same_detector(loaded[key], key, projections, _describe_files(files))
    checkpoint(cancel, progress, 0.45, "read flats and darks")

    geometry = geometry_from_description(doc["geometry"], angles, projections.shape[1:], json_path)
    flat_positions = None
    if "flats" in loaded:
        flat_positions = flat_positions_from_description(
            doc.get("flat_positions"), loaded["flats"].shape[0], json_path
        )
    metadata = metadata_from_description(doc.get("metadata"), json_path)

    check_progress = sub_progress(progress, 0.45, 0.95)
    check_finite(projections, "projections", proj_source, progress=check_progress, cancel=cancel)
    for key, stack in loaded.items():
        check_finite(stack, key, _describe_files(stacks[key]), cancel=cancel)
    checkpoint(cancel, progress, 1.0, "scan loaded")

    metadata.update({"format": "Fathom scan folder (fathom-scan/1)", "source": str(folder)})
    return Scan(
        projections=projections,
        geometry=geometry,
        values=values,
        flats=loaded.get("flats"),
        darks=loaded.get("darks"),
        flat_positions=flat_positions,
        metadata=metadata,
    )


def write_scan_folder(
    scan: Scan,
    folder: str | Path,
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write ``scan`` as a Fathom scan folder (``scan.json``, ``projections.tif``, …).

    Parameters
    ----------
    scan : the scan; projections, flats and darks keep their dtypes (lossless).
    folder : the folder to write; created (with its parents) if missing.
    overwrite : replace the scan already in ``folder``. Off by default, because what is there
        may be a raw scan that must never be modified.
    progress, cancel : see :mod:`engine.progress`.

    Returns
    -------
    Path of the written ``scan.json``.

    Raises
    ------
    FathomInputError
        If ``folder`` is a file, already holds ``scan.json`` or one of the TIFFs to be written
        and ``overwrite`` is False, or cannot be written. On any failure the files this call
        created are removed again.
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise FathomInputError(f"{folder} is a file: give a folder to write the scan into")
    parts = [("projections", scan.projections)]
    parts += [(k, s) for k, s in (("flats", scan.flats), ("darks", scan.darks)) if s is not None]
    # Any of these files may be raw data (a stack waiting for its scan.json): never replace
    # one unless asked.
    taken = [name for name in [SCAN_JSON] + [f"{k}.tif" for k, _ in parts] if (folder / name).exists()]
    if taken and not overwrite:
        raise FathomInputError(
            f"{folder} already holds {', '.join(taken)}: choose another folder, or pass "
            "overwrite=True to replace the scan there"
        )
    created_folder = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FathomInputError(f"cannot create {folder} ({exc.strerror or exc}): check the path") from exc

    doc = description_of(scan)
    created: list[Path] = []
    try:
        for i, (key, stack) in enumerate(parts):
            target = folder / f"{key}.tif"
            existed = target.exists()
            share = (0.9 * i / len(parts), 0.9 * (i + 1) / len(parts))
            with atomic_output(target) as temporary:
                write_tiff_stack(temporary, stack, progress=sub_progress(progress, *share), cancel=cancel)
            if not existed:
                created.append(target)
            doc[key] = target.name
        # File names before the free-form metadata, so the file reads top-down as DESIGN.md shows.
        metadata = doc.pop("metadata", None)
        if metadata is not None:
            doc["metadata"] = metadata
        with atomic_output(folder / SCAN_JSON) as temporary:
            temporary.write_text(to_json(doc, indent=1) + "\n", encoding="utf-8")
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        if created_folder:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    checkpoint(cancel, progress, 1.0, "scan written")
    return folder / SCAN_JSON
