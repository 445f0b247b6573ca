"""Image stacks on and off disk: TIFF pages and HDF5 datasets as ``(images, rows, columns)``.

Every reader in :mod:`engine.io` goes through here, so all of them behave alike. Files are opened
read-only. A large uncompressed stack is memory-mapped read-only instead of read (the operating
system pages it in on demand, and a read-only map can never modify a raw scan); smaller or
compressed stacks are read into memory. Whatever a library raises on a damaged file becomes one
:class:`FathomInputError` naming the file and the fix. Floating-point data are checked for NaN
and infinity completely, chunk by chunk, because one bad pixel turns a whole reconstruction
into NaN and that must be reported at load time, not discovered in the result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import h5py
import numpy as np
import tifffile

from ..errors import FathomInputError
from ..progress import CancelToken, ProgressCallback, checkpoint

#: Stacks at least this large (bytes) are memory-mapped when their layout allows it.
MEMMAP_MIN_BYTES = 64 * 2**20

#: Bytes of data examined per step of the NaN/inf check (bounds memory and progress granularity).
FINITE_CHECK_CHUNK_BYTES = 32 * 2**20

TIFF_SUFFIXES = (".tif", ".tiff")

#: Classic TIFF addresses at most 4 GiB; larger stacks are written as BigTIFF (tifffile's margin).
BIGTIFF_ABOVE_BYTES = 2**32 - 2**25


def natural_sorted(paths: Iterable[Path]) -> list[Path]:
    """Paths sorted so that ``img_2`` comes before ``img_10`` (numbers compared as numbers)."""

    def key(path: Path) -> list:
        text = str(path)
        return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]

    return sorted(paths, key=key)


def require_file(path: Path, what: str, fix: str = "check the path") -> None:
    """Raise a :class:`FathomInputError` unless ``path`` is an existing regular file."""
    if not path.exists():
        raise FathomInputError(f"the {what} file {path} does not exist: {fix}")
    if not path.is_file():
        raise FathomInputError(f"the {what} path {path} is not a file: {fix}")


def unreadable(path: Path, kind: str, exc: BaseException) -> FathomInputError:
    """The one error for a file a library could not read."""
    return FathomInputError(
        f"cannot read {path} as {kind} ({exc}): the file is damaged, incomplete or not {kind}; "
        "copy or export it again"
    )


# -- TIFF ---------------------------------------------------------------------------------------
def _tiff_layout(tif: tifffile.TiffFile, path: Path, what: str) -> tuple[tuple[int, int, int], np.dtype]:
    """(images, rows, columns) and dtype of the one greyscale series a TIFF must hold."""
    if not tif.series:
        raise FathomInputError(
            f"the {what} file {path} holds no readable image (it may be damaged): export it again"
        )
    if len(tif.series) > 1:
        shapes = ", ".join(str(s.shape) for s in tif.series[:4])
        raise FathomInputError(
            f"the {what} file {path} holds images of different sizes or types ({shapes}): "
            "save one image per projection, all of the same size and type"
        )
    series = tif.series[0]
    if "S" in series.axes:
        raise FathomInputError(
            f"the {what} file {path} holds colour (RGB) images: save greyscale detector images"
        )
    shape = tuple(int(s) for s in series.shape)
    if len(shape) < 2:
        raise FathomInputError(f"the {what} file {path} holds no 2D image: export the images again")
    images = int(np.prod(shape[:-2], dtype=np.int64))
    return (images, shape[-2], shape[-1]), np.dtype(series.dtype)


def tiff_layout(path: Path, what: str) -> tuple[tuple[int, int, int], np.dtype]:
    """Shape ``(images, rows, columns)`` and dtype of a TIFF file, from its header only."""
    require_file(path, what)
    try:
        with tifffile.TiffFile(path) as tif:
            return _tiff_layout(tif, path, what)
    except FathomInputError:
        raise
    except Exception as exc:
        raise unreadable(path, "a TIFF file", exc) from exc


def read_tiff_stack(path: Path, what: str) -> np.ndarray:
    """All images of one TIFF file, shape ``(images, rows, columns)``, read-only.

    Parameters
    ----------
    path : the TIFF file (single- or multi-page).
    what : what the images are ("projections", "flats", ...), for error messages.

    Returns
    -------
    A read-only ``numpy.memmap`` when the file is at least :data:`MEMMAP_MIN_BYTES` and stored
    uncompressed and contiguous; otherwise an in-memory array. The file's dtype is kept.
    """
    require_file(path, what)
    try:
        with tifffile.TiffFile(path) as tif:
            shape, dtype = _tiff_layout(tif, path, what)
            nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if nbytes >= MEMMAP_MIN_BYTES and tif.series[0].dataoffset is not None:
                array = None
            else:
                array = tif.series[0].asarray()
        if array is None:
            try:
                array = tifffile.memmap(path, mode="r")
            except ValueError:
                # Not mappable after all (e.g. odd strip layout): a plain read still works.
                array = tifffile.imread(path)
    except FathomInputError:
        raise
    except Exception as exc:
        raise unreadable(path, "a TIFF file", exc) from exc
    array = array.reshape(shape)
    if not isinstance(array, np.memmap):
        array.flags.writeable = False
    return array


def read_tiff_files(
    paths: Sequence[Path],
    what: str,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """The images of several TIFF files stacked in the given order: ``(images, rows, columns)``.

    One file is returned as :func:`read_tiff_stack` gives it (possibly memory-mapped); several
    are read into one in-memory array. All images must share size and dtype.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise FathomInputError(f"no {what} files were given: name at least one TIFF file")
    if len(paths) == 1:
        stack = read_tiff_stack(paths[0], what)
        checkpoint(cancel, progress, 1.0, f"read {what}")
        return stack
    layouts = [tiff_layout(p, what) for p in paths]
    (_, rows, cols), dtype = layouts[0]
    for path, ((_, r, c), d) in zip(paths, layouts, strict=True):
        if (r, c) != (rows, cols) or d != dtype:
            raise FathomInputError(
                f"the {what} file {path} holds {r}×{c} {d} images but {paths[0].name} holds "
                f"{rows}×{cols} {dtype}: all {what} must have the same size and type"
            )
    total = sum(shape[0] for shape, _ in layouts)
    out = np.empty((total, rows, cols), dtype=dtype)
    start = 0
    for i, (path, (shape, _)) in enumerate(zip(paths, layouts, strict=True)):
        checkpoint(cancel, progress, i / len(paths), f"reading {what} {i + 1}/{len(paths)}")
        out[start : start + shape[0]] = read_tiff_stack(path, what)
        start += shape[0]
    checkpoint(cancel, progress, 1.0, f"read {what}")
    out.flags.writeable = False
    return out


def write_tiff_stack(
    path: Path,
    stack: np.ndarray,
    *,
    dtype: np.dtype | None = None,
    metadata: dict | None = None,
    resolution: tuple[float, float] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> None:
    """Write ``stack[k]`` as page k of an uncompressed, contiguous (memory-mappable) TIFF.

    Pages are written one at a time, so a memory-mapped or GPU-sized stack is never copied
    whole, and ``cancel`` is honoured between pages. ``metadata`` (JSON-serialisable) goes into
    the ImageDescription of the first page; ``resolution`` is pixels per centimetre (x, y).
    ``path`` should be a temporary path from :func:`~engine.io.atomic.atomic_output`.
    """
    dtype = np.dtype(dtype or stack.dtype)
    n = stack.shape[0]

    def pages():
        for k in range(n):
            checkpoint(cancel, progress, k / n, f"writing page {k + 1}/{n}")
            yield np.ascontiguousarray(stack[k], dtype=dtype)

    extra = {}
    if resolution is not None:
        extra = {"resolution": resolution, "resolutionunit": "CENTIMETER"}
    nbytes = int(np.prod(stack.shape, dtype=np.int64)) * dtype.itemsize
    # minisblack always: tifffile would otherwise read a last axis of 3 or 4 as RGB samples.
    # BigTIFF is chosen here because tifffile cannot size data that arrive as an iterator.
    tifffile.imwrite(
        path,
        pages(),
        shape=tuple(stack.shape),
        dtype=dtype,
        photometric="minisblack",
        metadata=metadata or {},
        bigtiff=nbytes > BIGTIFF_ABOVE_BYTES,
        **extra,
    )
    checkpoint(cancel, progress, 1.0, "written")


# -- HDF5 ---------------------------------------------------------------------------------------
def open_hdf5(path: Path, what: str = "scan") -> h5py.File:
    """Open an HDF5 file read-only, or raise a :class:`FathomInputError` saying why not."""
    require_file(path, what)
    try:
        return h5py.File(path, "r")
    except Exception as exc:
        raise unreadable(path, "an HDF5 file", exc) from exc


def read_hdf5_stack(file: h5py.File, name: str, what: str, *, images: bool = True) -> np.ndarray:
    """Dataset ``name`` of an open HDF5 file as a read-only array.

    Parameters
    ----------
    file : an open ``h5py.File``.
    name : the dataset's path inside the file.
    what : what it holds, for error messages.
    images : if True the dataset must be (images, rows, columns); a single 2D image is
        returned as one image (1, rows, columns).

    Returns
    -------
    A read-only ``numpy.memmap`` of the file when the dataset is large, contiguous and unfiltered
    (the array stays valid after ``file`` is closed); otherwise an in-memory array.
    """
    path = Path(file.filename)
    try:
        dataset = file[name]
    except KeyError:
        raise FathomInputError(
            f"{path} has no {what} at /{name.lstrip('/')}: check the file's layout"
        ) from None
    except Exception as exc:
        # Broken external links land here: the file names a target that is not there.
        raise FathomInputError(
            f"cannot open /{name.lstrip('/')} ({what}) in {path} ({exc}): if it links to another "
            "file, keep that file beside this one"
        ) from exc
    if not isinstance(dataset, h5py.Dataset):
        raise FathomInputError(f"/{name.lstrip('/')} in {path} is a group, not the {what} data set")
    if images and dataset.ndim not in (2, 3):
        raise FathomInputError(
            f"the {what} in {path} (/{name.lstrip('/')}) have shape {dataset.shape}; expected "
            "(images, rows, columns)"
        )
    try:
        array = None
        offset = dataset.id.get_offset()
        if (
            # Filters (compression) need chunked storage, so contiguous means raw bytes on disk.
            dataset.nbytes >= MEMMAP_MIN_BYTES
            and dataset.chunks is None
            and offset is not None
            and dataset.dtype.kind in "uif"
        ):
            # An external link resolves to another file: map the file that holds the bytes.
            array = np.memmap(
                dataset.file.filename, dtype=dataset.dtype, mode="r", offset=offset, shape=dataset.shape
            )
        if array is None:
            array = np.asarray(dataset[()])
            array.flags.writeable = False
    except Exception as exc:
        raise unreadable(path, "an HDF5 file", exc) from exc
    if images and array.ndim == 2:
        array = array[np.newaxis]
    return array


# -- checks -------------------------------------------------------------------------------------
def check_finite(
    stack: np.ndarray,
    what: str,
    source: Path | str,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> None:
    """Raise a :class:`FathomInputError` if any pixel of ``stack`` is NaN or infinite.

    Every pixel is examined, a chunk of about :data:`FINITE_CHECK_CHUNK_BYTES` at a time, so a
    memory-mapped stack is streamed once from disk and never held whole. Integer stacks cannot
    hold NaN and are skipped.
    """
    if not np.issubdtype(stack.dtype, np.floating) or stack.shape[0] == 0:
        checkpoint(cancel, progress, 1.0, f"checked {what}")
        return
    n = stack.shape[0]
    per_chunk = max(1, FINITE_CHECK_CHUNK_BYTES // max(1, stack[0].nbytes))
    bad: list[int] = []
    for start in range(0, n, per_chunk):
        checkpoint(cancel, progress, start / n, f"checking {what} for NaN/inf")
        block = np.asarray(stack[start : start + per_chunk])
        finite = np.isfinite(block).reshape(block.shape[0], -1).all(axis=1)
        if not finite.all():
            bad.extend(int(i) + start for i in np.flatnonzero(~finite))
    checkpoint(cancel, progress, 1.0, f"checked {what}")
    if bad:
        plural = "image" if len(bad) == 1 else "images"
        raise FathomInputError(
            f"the {what} in {source} hold NaN or infinite pixel values in {len(bad)} {plural} "
            f"(first: index {bad[0]}): replace the bad pixels (e.g. export the scan again) or "
            "remove those images and their angles"
        )


def check_same_detector(stack: np.ndarray, what: str, projections: np.ndarray, source: Path | str) -> None:
    """Raise a :class:`FathomInputError` unless ``stack`` has the projections' image size."""
    if stack.ndim != 3 or tuple(stack.shape[1:]) != tuple(projections.shape[1:]):
        size = "×".join(str(s) for s in stack.shape[-2:])
        expected = "×".join(str(s) for s in projections.shape[1:])
        raise FathomInputError(
            f"the {what} in {source} are {size} pixels but the projections are {expected}: use "
            f"{what} taken with the same detector settings (binning, region of interest)"
        )
