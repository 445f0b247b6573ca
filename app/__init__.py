"""Fathom's PySide6 front end. It imports ``engine``; the engine never imports it.

Importing this package guards against a reference-counting bug seen with PySide6 6.12.0 on
CPython 3.11: ``SignalInstance.emit`` returns ``True`` without taking a new reference, so every
emit from Python lowers ``True``'s reference count by one, and after a few hundred emits the
interpreter aborts ("Fatal Python error: bool_dealloc"); ``None`` and ``False`` suffer the same
on other paths. From Python 3.12 these singletons are immortal and the bug is harmless; before
it, :func:`_make_singletons_immortal` gives them a reference count no program can exhaust.
"""

from __future__ import annotations

import sys


def _make_singletons_immortal() -> None:
    if sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount"):  # immortal, or a debug build
        return
    import ctypes

    for singleton in (True, False, None):
        # ob_refcnt is the first field of every object in a release build of CPython
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 48


_make_singletons_immortal()
