"""Atomic output files: a reader never sees half a file, and a failed write leaves nothing.

Every writer in :mod:`engine.io` writes into a temporary file in the target's own folder (so the
final step is a rename on one file system, which the operating system performs atomically) and
renames it over the target only once the data are complete. Any exception on the way, a
:class:`~engine.progress.Cancelled` included, removes the temporary file; an existing file at
the target stays as it was.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from ..errors import FathomInputError


@contextlib.contextmanager
def atomic_output(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target``.

    Parameters
    ----------
    target : the file to produce. Its folder must exist.

    Yields
    ------
    Path of a not-yet-existing temporary file (same folder, same suffix) to write to.

    Raises
    ------
    FathomInputError
        If the folder is missing or not writable, the disk is full, or ``target`` is a folder.
    """
    target = Path(target)
    if target.is_dir():
        raise FathomInputError(f"{target} is a folder: give a file name for the output")
    folder = target.parent
    if not folder.is_dir():
        raise FathomInputError(
            f"cannot write {target}: the folder {folder} does not exist; create it or choose "
            "another output path"
        )
    # The suffix is kept so that libraries choosing behaviour by extension see the real one.
    temporary = folder / f".{target.name}.{uuid.uuid4().hex[:12]}.partial{target.suffix}"
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(exc, OSError):
            raise FathomInputError(
                f"cannot write {target} ({exc.strerror or exc}): check that the folder is "
                "writable and the disk has free space"
            ) from exc
        raise
