"""Progress reporting and cooperative cancellation for long engine calls.

Every long engine function takes ``progress`` (a callable ``progress(fraction, message)``
or ``None``) and ``cancel`` (a :class:`CancelToken` or ``None``). Neither knows anything
about Qt: the GUI worker, the CLI progress bar and a batch worker all pass their own
callables. Compute code calls :func:`checkpoint` between chunks of work; a cancelled token
makes it raise :class:`Cancelled`, so work stops at the next chunk boundary.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

ProgressCallback = Callable[[float, str], None]


class Cancelled(Exception):
    """Raised inside an engine call when its :class:`CancelToken` was cancelled."""


class CancelToken:
    """A thread-safe flag that a caller sets to stop a running engine call."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


def checkpoint(
    cancel: CancelToken | None,
    progress: ProgressCallback | None,
    fraction: float,
    message: str = "",
) -> None:
    """Report ``fraction`` (0..1) of the work done and stop if cancellation was requested."""
    if cancel is not None and cancel.cancelled:
        raise Cancelled(message or "cancelled")
    if progress is not None:
        progress(min(max(float(fraction), 0.0), 1.0), message)


def sub_progress(
    progress: ProgressCallback | None, start: float, stop: float
) -> ProgressCallback | None:
    """Map a callee's 0..1 progress onto the ``start..stop`` part of the caller's."""
    if progress is None:
        return None

    def report(fraction: float, message: str) -> None:
        progress(start + (stop - start) * fraction, message)

    return report
