"""Volume files: a reconstruction as float32 TIFF or HDF5, with its voxel size, origin and recipe.

Both forms are a contract (DESIGN.md, "The interchange formats"):

* ``.tif``/``.tiff``: a float32 multi-page TIFF, page k = slice ``vol[k]``, so page 0 is the
  lowest slice (z increases upward). The first page's ImageDescription holds a JSON object
  (tifffile's "shaped" description) with ``"fathom": "fathom-volume/1"``, ``voxel_size_mm``
  and ``origin_mm`` (both (z, y, x); the origin is the centre of voxel (0, 0, 0)) and
  ``recipe`` (a JSON string). The x/y resolution tags carry the voxel size too, so other viewers
  show a calibrated slice. Files are uncompressed and contiguous, so a large one is
  memory-mapped read-only when loaded.
* ``.h5``/``.hdf5``: data set ``/volume`` (z, y, x) float32, contiguous, with attributes
  ``voxel_size_mm`` and ``origin_mm`` (3 floats each, z, y, x), ``recipe`` (JSON string) and
  ``format`` = ``"fathom-volume/1"``.

A volume from another program (no Fathom metadata) still loads: voxel size 1 mm, centred at the
origin, and its recipe says so. Writes are atomic (:mod:`engine.io.atomic`).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import tifffile

from ..errors import FathomInputError
from ..geometry import VolumeGeometry
from ..progress import CancelToken, ProgressCallback, checkpoint
from ..volume import Volume
from .atomic import atomic_output
from .scan_json import to_json
from .stacks import open_hdf5, read_hdf5_stack, read_tiff_stack, require_file, unreadable, write_tiff_stack

VOLUME_FORMAT = "fathom-volume/1"
TIFF_SUFFIXES = (".tif", ".tiff")
HDF5_SUFFIXES = (".h5", ".hdf5")
SUPPORTED = "a .tif/.tiff (float32 multi-page TIFF) or .h5/.hdf5 (HDF5 with /volume) file"


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in TIFF_SUFFIXES:
        return "tiff"
    if suffix in HDF5_SUFFIXES:
        return "hdf5"
    raise FathomInputError(f"{path.name}: volume files must be {SUPPORTED}; change the file name's extension")


def _host_array(data) -> np.ndarray:
    # A volume reconstructed on the GPU may still hold a CuPy array; files need host memory.
    if not isinstance(data, np.ndarray) and hasattr(data, "get"):
        data = data.get()
    return np.asarray(data)


def save_volume(
    volume: Volume,
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write ``volume`` to ``path`` atomically, as TIFF or HDF5 by the extension.

    Parameters
    ----------
    volume : data (z, y, x) in 1/mm, written as float32, with geometry and recipe.
    path : ``.tif``/``.tiff`` or ``.h5``/``.hdf5``; its folder must exist. An existing file is
        replaced only once the new one is complete; on any failure nothing is left at ``path``
        that was not there before.
    progress, cancel : see :mod:`engine.progress`.

    Returns
    -------
    ``path`` as a Path.
    """
    path = Path(path).expanduser()
    kind = _kind(path)
    data = _host_array(volume.data)
    geometry = volume.geometry
    recipe = to_json(volume.recipe)
    if kind == "tiff":
        metadata = {
            "fathom": VOLUME_FORMAT,
            "voxel_size_mm": list(geometry.voxel_size_mm),
            "origin_mm": list(geometry.origin_mm),
            "recipe": recipe,
        }
        _, y_mm, x_mm = geometry.voxel_size_mm
        with atomic_output(path) as temporary:
            write_tiff_stack(
                temporary,
                data,
                dtype=np.float32,
                metadata=metadata,
                resolution=(10.0 / x_mm, 10.0 / y_mm),
                progress=progress,
                cancel=cancel,
            )
        return path
    with atomic_output(path) as temporary, h5py.File(temporary, "w") as file:
        file.attrs["format"] = VOLUME_FORMAT
        dataset = file.create_dataset("volume", shape=data.shape, dtype=np.float32)
        dataset.attrs["voxel_size_mm"] = np.asarray(geometry.voxel_size_mm, dtype=np.float64)
        dataset.attrs["origin_mm"] = np.asarray(geometry.origin_mm, dtype=np.float64)
        dataset.attrs["recipe"] = recipe
        n = data.shape[0]
        for k in range(n):
            checkpoint(cancel, progress, k / n, f"writing slice {k + 1}/{n}")
            dataset[k] = data[k]
    checkpoint(cancel, progress, 1.0, "volume written")
    return path


def _geometry(shape: tuple[int, ...], voxel, origin, path: Path) -> VolumeGeometry:
    """Geometry from a stored voxel size and origin (None: the volume is centred at 0)."""
    try:
        voxel = np.broadcast_to(np.asarray(voxel, dtype=np.float64), (3,))
        half = (np.asarray(shape, dtype=np.float64) - 1) / 2 * voxel
        origin = -half if origin is None else np.broadcast_to(np.asarray(origin, dtype=np.float64), (3,))
        return VolumeGeometry(tuple(shape), tuple(voxel.tolist()), tuple((origin + half).tolist()))
    except FathomInputError as exc:
        raise FathomInputError(f"{path}: {exc}: fix the file's voxel size and origin") from None
    except (TypeError, ValueError):
        raise FathomInputError(
            f"{path}: voxel_size_mm and origin_mm must be three numbers each (z, y, x): fix the file"
        ) from None


def _recipe(text, path: Path) -> dict:
    if text is None:
        return {}
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    try:
        recipe = json.loads(str(text))
    except json.JSONDecodeError:
        raise FathomInputError(f"{path}: the stored recipe is not valid JSON: fix or remove it") from None
    return recipe if isinstance(recipe, dict) else {"recipe": recipe}


def _foreign(path: Path) -> dict:
    return {
        "source_file": str(path),
        "note": "no Fathom metadata in the file: voxel size 1 mm and centre (0, 0, 0) assumed",
    }


def _as_volume_array(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.float32:
        return array
    return array.astype(np.float32)


def load_volume(path: str | Path) -> Volume:
    """Read a volume file written by :func:`save_volume` (or any float/integer TIFF or HDF5 stack).

    Parameters
    ----------
    path : ``.tif``/``.tiff`` or ``.h5``/``.hdf5``.

    Returns
    -------
    Volume with float32 ``data[z, y, x]`` (memory-mapped read-only when large, float32 and
    uncompressed), its geometry and recipe.

    Raises
    ------
    FathomInputError
        For a missing, unreadable or malformed file.
    """
    path = Path(path).expanduser()
    kind = _kind(path)
    require_file(path, "volume")
    if kind == "tiff":
        data = read_tiff_stack(path, "volume slices")
        try:
            with tifffile.TiffFile(path) as tif:
                shaped = tif.shaped_metadata
                meta = dict(shaped[0]) if shaped else {}
        except Exception as exc:
            raise unreadable(path, "a TIFF file", exc) from exc
        if meta.get("fathom") == VOLUME_FORMAT:
            geometry = _geometry(data.shape, meta.get("voxel_size_mm"), meta.get("origin_mm"), path)
            recipe = _recipe(meta.get("recipe"), path)
        else:
            geometry, recipe = VolumeGeometry(data.shape, 1.0), _foreign(path)
        return Volume(_as_volume_array(data), geometry, recipe)

    with open_hdf5(path, "volume") as file:
        data = read_hdf5_stack(file, "volume", "volume", images=False)
        if data.ndim == 2:
            data = data[np.newaxis]
        if data.ndim != 3:
            raise FathomInputError(f"{path}: /volume has shape {data.shape}; expected (z, y, x)")
        attrs = dict(file["volume"].attrs)
    if "voxel_size_mm" in attrs:
        geometry = _geometry(data.shape, attrs["voxel_size_mm"], attrs.get("origin_mm"), path)
        recipe = _recipe(attrs.get("recipe"), path)
    else:
        geometry, recipe = VolumeGeometry(data.shape, 1.0), _foreign(path)
    return Volume(_as_volume_array(data), geometry, recipe)
