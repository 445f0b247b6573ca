"""A folder of single-image TIFFs with an angle list (Savu / Diamond Light Source style).

Many beamlines and lab tools export one TIFF per image: projections (``raw_00000.tiff`` …),
flat fields and dark fields as further files, and the rotation angles as a text file. Fathom
reads such a folder when it has no ``scan.json``:

* **Projections** are the TIFF files in the folder itself, or, if there are none there, in its
  one subfolder that holds TIFFs (``tiffs/``, ``data/``, …), in natural name order
  (``raw_2`` before ``raw_10``). Files (or subfolders) whose names start with
  ``flat``/``white``/``bright`` are flat fields and ``dark``/``black`` are dark fields, wherever
  they sit; they are never projections. A file may hold several pages: each page is one image.
* **Angles** come from ``angles.txt`` (or the one ``*angle*.txt`` file) in the folder or the
  projection subfolder: one number per line, in **degrees**; blank lines and ``#`` comments
  are skipped. When the file has exactly one line per projection, line i is projection i.
  Savu-style files list every image of the acquisition, darks and flats included (in
  ``savu_tiffs_parallel``: 10 lines at the start angle, then the 91 projection lines 11–101,
  then 10 at the end angle). The projection angles are then the one run of as many consecutive
  lines as there are projections in which every step between neighbouring lines is the scan's
  angular step (the median of the steps larger than 0.001°, within 25 %): the repeats before and
  after, which belong to flats and darks taken at a standing stage, break the run. If there is
  no such run, or more than one, the reader stops and asks for a file with one angle per
  projection.

Mapping onto Fathom's convention: the beam is parallel; angle i is Fathom's angle t (converted
to radians, no change of sign), the convention Savu and ASTRA use for these files; row 0 of each
image is the top detector row and column 0 the −u end, as stored. The pixel size is not recorded:
1.0 mm is used and ``metadata["pixel_size"]`` says so (lengths in pixels, attenuation per pixel).
Values are raw counts.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import FathomInputError
from ..geometry import ScanGeometry
from ..progress import CancelToken, ProgressCallback, checkpoint, sub_progress
from ..scan import Scan
from .stacks import (
    TIFF_SUFFIXES,
    check_finite,
    check_same_detector,
    natural_sorted,
    read_tiff_files,
    tiff_layout,
)

PIXEL_SIZE_NOTE = (
    "unknown (not in the files): 1.0 mm assumed, so lengths are in pixels and attenuation is per pixel"
)
FLAT_NAME = re.compile(r"^(flat|white|bright)", re.IGNORECASE)
DARK_NAME = re.compile(r"^(dark|black)", re.IGNORECASE)

#: How far a step may differ from the scan's angular step and still count as one (fraction).
STEP_TOLERANCE = 0.25

#: Steps smaller than this (degrees) are a standing stage, not a rotation.
STANDING_NOISE_DEG = 1e-3


def _tiffs(folder: Path) -> list[Path]:
    return natural_sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in TIFF_SUFFIXES and not p.name.startswith(".")
    )


def _role(path: Path) -> str:
    if FLAT_NAME.match(path.name):
        return "flats"
    if DARK_NAME.match(path.name):
        return "darks"
    return "projections"


def is_tiff_folder(path: Path) -> bool:
    """True if ``path`` is a folder with TIFF files in it or in one of its subfolders."""
    if not path.is_dir():
        return False
    if _tiffs(path):
        return True
    return any(_tiffs(sub) for sub in path.iterdir() if sub.is_dir() and not sub.name.startswith("."))


def _find_files(folder: Path) -> tuple[list[Path], list[Path], list[Path], Path]:
    """Projection, flat and dark files, and the folder the projections are in."""
    files: dict[str, list[Path]] = {"projections": [], "flats": [], "darks": []}
    for path in _tiffs(folder):
        files[_role(path)].append(path)
    candidates: list[Path] = [folder] if files["projections"] else []
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    for sub in subfolders:
        inside = _tiffs(sub)
        if not inside:
            continue
        role = _role(sub)
        if role != "projections":
            files[role].extend(inside)
            continue
        for path in inside:
            if _role(path) != "projections":
                files[_role(path)].append(path)
        if any(_role(p) == "projections" for p in inside):
            candidates.append(sub)
    if not candidates:
        raise FathomInputError(
            f"{folder} holds no projection TIFFs (only flats/darks, or nothing): put the projections "
            "in the folder or in one subfolder of it"
        )
    if len(candidates) > 1:
        names = ", ".join(str(c) for c in candidates)
        raise FathomInputError(
            f"{folder} has projection TIFFs in several places ({names}): keep the projections in one "
            "folder, or name flat and dark files flat*/dark*"
        )
    projection_folder = candidates[0]
    projections = [p for p in _tiffs(projection_folder) if _role(p) == "projections"]
    return projections, natural_sorted(files["flats"]), natural_sorted(files["darks"]), projection_folder


def _find_angles_file(folder: Path, projection_folder: Path) -> Path:
    for place in dict.fromkeys((folder, projection_folder)):
        exact = place / "angles.txt"
        if exact.is_file():
            return exact
        others = [p for p in place.glob("*.txt") if "angle" in p.name.lower()]
        if len(others) == 1:
            return others[0]
    raise FathomInputError(
        f"{folder} has no angles.txt: add one with the rotation angle of every projection in degrees, "
        "one per line"
    )


def read_angle_list(path: Path) -> np.ndarray:
    """The numbers of an angle file, one per line (``#`` comments and blank lines skipped)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise FathomInputError(f"cannot read {path} ({exc.strerror or exc}): check the file") from exc
    values = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip().rstrip(",")
        if not text:
            continue
        try:
            values.append(float(text))
        except ValueError:
            raise FathomInputError(
                f"{path} line {number} ({line.strip()!r}) is not one number: list one angle in "
                "degrees per line"
            ) from None
    return np.asarray(values, dtype=np.float64)


def projection_angles(listed: np.ndarray, n_projections: int, source: Path | str) -> tuple[np.ndarray, int]:
    """Pick the projection angles out of an acquisition's angle list (rule in the module doc).

    Parameters
    ----------
    listed : every angle of the file, in file order.
    n_projections : how many projections there are.
    source : the file, for error messages.

    Returns
    -------
    (angles, first) : the ``n_projections`` angles, and the index in ``listed`` of the first.
    """
    n_listed = listed.size
    if n_listed == n_projections:
        return listed, 0
    if n_listed < n_projections:
        raise FathomInputError(
            f"{source} lists {n_listed} angles but there are {n_projections} projections: give one "
            "angle per projection"
        )
    ambiguous = FathomInputError(
        f"{source} lists {n_listed} angles for {n_projections} projections and it is not clear which "
        "belong to the projections: list only the projection angles, one per line, in projection order"
    )
    if n_projections < 2:
        raise ambiguous
    steps = np.diff(listed)
    # Repeats at a standing stage differ by encoder noise (0.0001° in Savu's file), far below any
    # real angular step.
    moving = np.abs(steps) > STANDING_NOISE_DEG
    if not moving.any():
        raise ambiguous
    step = np.median(steps[moving])
    regular = np.abs(steps - step) <= STEP_TOLERANCE * abs(step)
    # A run of n angles has n - 1 regular steps; count them in every window at once.
    counts = np.convolve(regular.astype(np.int64), np.ones(n_projections - 1, dtype=np.int64), "valid")
    starts = np.flatnonzero(counts == n_projections - 1)
    if starts.size != 1:
        raise ambiguous
    first = int(starts[0])
    return listed[first : first + n_projections], first


def read_tiff_folder(
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Scan:
    """Read a folder of TIFF images with an angle list (rules in the module docstring).

    Returns
    -------
    Scan of ``values="counts"`` with parallel-beam geometry, projections (angles, rows,
    columns) in the files' dtype, flats and darks when present, pixel size 1.0 mm (unknown;
    noted in ``metadata``).

    Raises
    ------
    FathomInputError
        If projections or angles cannot be found or told apart, a file is unreadable, sizes or
        counts disagree, or a pixel is NaN/inf.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FathomInputError(f"{folder} is not a folder: give the folder that holds the TIFF images")
    proj_files, flat_files, dark_files, projection_folder = _find_files(folder)
    angles_file = _find_angles_file(folder, projection_folder)
    listed = read_angle_list(angles_file)
    n = sum(tiff_layout(p, "projections")[0][0] for p in proj_files)
    angles_deg, first = projection_angles(listed, n, angles_file)

    projections = read_tiff_files(
        proj_files, "projections", progress=sub_progress(progress, 0.0, 0.5), cancel=cancel
    )
    source = projection_folder
    loaded: dict[str, np.ndarray] = {}
    for key, files in (("flats", flat_files), ("darks", dark_files)):
        if files:
            loaded[key] = read_tiff_files(files, key, cancel=cancel)
            check_same_detector(loaded[key], key, projections, files[0].parent)
    check_progress = sub_progress(progress, 0.5, 0.95)
    check_finite(projections, "projections", source, progress=check_progress, cancel=cancel)
    for key, stack in loaded.items():
        check_finite(stack, key, folder, cancel=cancel)
    try:
        geometry = ScanGeometry(
            beam="parallel",
            angles_rad=np.radians(angles_deg),
            detector_shape=projections.shape[1:],
            pixel_size_mm=(1.0, 1.0),
        )
    except FathomInputError as exc:
        raise FathomInputError(f"{angles_file}: {exc}") from None
    if first or listed.size != n:
        angle_note = (
            f"{angles_file.name} entries {first + 1}–{first + n} of the {listed.size} listed (the "
            "others belong to flats and darks)"
        )
    else:
        angle_note = f"{angles_file.name}, one line per projection"
    checkpoint(cancel, progress, 1.0, "scan loaded")
    return Scan(
        projections=projections,
        geometry=geometry,
        values="counts",
        flats=loaded.get("flats"),
        darks=loaded.get("darks"),
        metadata={
            "format": "folder of TIFF images",
            "source": str(folder),
            "angles": f"from {angle_note}, in degrees",
            "pixel_size": PIXEL_SIZE_NOTE,
        },
    )
