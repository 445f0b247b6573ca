"""Data Exchange HDF5 (APS, TomoPy, dxchange): ``/exchange/data`` with flats, darks and theta.

The format (De Carlo et al., J. Synchrotron Rad. 2014) keeps a parallel-beam synchrotron scan as
``/exchange/data`` (angles, rows, columns) raw counts, ``/exchange/data_white`` (flats) and
``/exchange/data_dark`` (darks), each (k, rows, columns) and optional, and ``/exchange/theta``,
one rotation angle per projection in degrees (radians only if its ``units`` attribute says so).

Mapping onto Fathom's convention: the beam is parallel; ``data[i]`` is projection i at
``theta[i]``, taken as Fathom's angle t (converted to radians) with no change of sign, and row 0
of each image as the top detector row, column 0 as the −u end. That is the convention TomoPy
and ASTRA use for these files, so a Fathom reconstruction is oriented like theirs. The file
does not record the physical sense of the stage rotation, so the absolute handedness cannot be
checked from it. The file records no effective pixel size either: 1.0 mm is used and
``metadata["pixel_size"]`` says so, which makes every length a length in pixels and the
reconstructed attenuation a value per pixel. Nor does it record the centre of rotation, which
is left at the detector centre for preprocessing to find. Title and sample name are kept in
the metadata when present.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ..errors import FathomInputError
from ..geometry import ScanGeometry
from ..progress import CancelToken, ProgressCallback, checkpoint, sub_progress
from ..scan import Scan
from .scan_json import check_angle_count
from .stacks import check_finite, check_same_detector, open_hdf5, read_hdf5_stack

PIXEL_SIZE_NOTE = (
    "unknown (not in the file): 1.0 mm assumed, so lengths are in pixels and attenuation is per pixel"
)


def is_data_exchange(file: h5py.File) -> bool:
    """True if an open HDF5 file has the Data Exchange projections ``/exchange/data``."""
    return "exchange" in file and isinstance(file["exchange"], h5py.Group) and "data" in file["exchange"]


def _text(file: h5py.File, name: str) -> str | None:
    if name not in file or not isinstance(file[name], h5py.Dataset):
        return None
    value = file[name][()]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return None if value is None else str(value)


def _angles_rad(file: h5py.File, path: Path) -> np.ndarray:
    if "exchange/theta" not in file:
        raise FathomInputError(
            f"{path} has no /exchange/theta: add the rotation angle of every projection (degrees) to the file"
        )
    theta = read_hdf5_stack(file, "exchange/theta", "angles", images=False)
    theta = np.asarray(theta, dtype=np.float64).reshape(-1)
    units = file["exchange/theta"].attrs.get("units", "degrees")
    units = units.decode() if isinstance(units, bytes) else str(units)
    return theta if units.strip().lower().startswith("rad") else np.radians(theta)


def read_data_exchange(
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Scan:
    """Read a Data Exchange HDF5 scan (conventions in the module docstring).

    Returns
    -------
    Scan of ``values="counts"`` with parallel-beam geometry, projections (angles, rows, columns)
    in the file's dtype (memory-mapped read-only when large and contiguous), flats and darks
    when the file has them, pixel size 1.0 mm (unknown; noted in ``metadata``).

    Raises
    ------
    FathomInputError
        For an unreadable file, missing ``/exchange/data`` or ``/exchange/theta``, counts or sizes
        that disagree, or NaN/inf pixels.
    """
    path = Path(path).expanduser()
    with open_hdf5(path) as file:
        if not is_data_exchange(file):
            raise FathomInputError(f"{path} has no /exchange/data: it is not a Data Exchange scan")
        projections = read_hdf5_stack(file, "exchange/data", "projections")
        checkpoint(cancel, progress, 0.4, "read projections")
        angles = _angles_rad(file, path)
        check_angle_count(angles.size, projections.shape[0], f"{path} (/exchange/theta)", "/exchange/data")
        loaded: dict[str, np.ndarray] = {}
        for key, name in (("flats", "exchange/data_white"), ("darks", "exchange/data_dark")):
            if name in file:
                stack = read_hdf5_stack(file, name, key)
                if stack.shape[0]:
                    check_same_detector(stack, key, projections, f"{path} (/{name})")
                    loaded[key] = stack
        metadata = {"format": "Data Exchange HDF5", "source": str(path), "pixel_size": PIXEL_SIZE_NOTE}
        for key, name in (("title", "exchange/title"), ("sample", "measurement/sample/name")):
            text = _text(file, name)
            if text:
                metadata[key] = text
    check_finite(projections, "projections", path, progress=sub_progress(progress, 0.45, 0.95), cancel=cancel)
    for key, stack in loaded.items():
        check_finite(stack, key, path, cancel=cancel)
    try:
        geometry = ScanGeometry(
            beam="parallel", angles_rad=angles, detector_shape=projections.shape[1:], pixel_size_mm=(1.0, 1.0)
        )
    except FathomInputError as exc:
        raise FathomInputError(f"{path}: {exc}") from None
    checkpoint(cancel, progress, 1.0, "scan loaded")
    return Scan(
        projections=projections,
        geometry=geometry,
        values="counts",
        flats=loaded.get("flats"),
        darks=loaded.get("darks"),
        metadata=metadata,
    )
