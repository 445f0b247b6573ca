"""Which device computes: an NVIDIA GPU through CuPy when one works, the CPU otherwise.

``resolve_device("auto")`` tries CuPy once per process (import, a device, a tiny kernel) and
remembers the answer. A missing GPU is never an error for "auto": the run is slower and
:func:`device_note` gives one line saying so. Asking for "gpu" explicitly when none works is a
:class:`FathomInputError` that says why and what to use instead.
"""

from __future__ import annotations

import functools
from typing import Literal

from .errors import FathomInputError

Device = Literal["cpu", "gpu"]


@functools.lru_cache(maxsize=1)
def gpu_status() -> tuple[bool, str]:
    """(works, reason): whether CuPy can run a kernel on a GPU here, and why not."""
    try:
        import cupy as cp
    except Exception as exc:  # ImportError, or a CUDA library failing to load
        return False, f"CuPy is not installed ({type(exc).__name__}); install fathom[gpu]"
    try:
        count = cp.cuda.runtime.getDeviceCount()
        if count < 1:
            return False, "no NVIDIA GPU found"
        x = cp.arange(4, dtype=cp.float32)
        float((x * 2).sum())
        name = cp.cuda.runtime.getDeviceProperties(0)["name"]
        name = name.decode() if isinstance(name, bytes) else name
        return True, name
    except Exception as exc:
        return False, f"the GPU could not be used ({exc})"


def resolve_device(device: str = "auto") -> Device:
    """Turn "auto" | "cpu" | "gpu" into the device that will run."""
    if device not in ("auto", "cpu", "gpu"):
        raise FathomInputError(f"device {device!r} unknown: use auto, cpu or gpu")
    if device == "cpu":
        return "cpu"
    works, reason = gpu_status()
    if works:
        return "gpu"
    if device == "gpu":
        raise FathomInputError(f"--device gpu was asked for but {reason}: use --device cpu or auto")
    return "cpu"


def device_note(device: str = "auto") -> str:
    """One line for logs and the CLI: which device runs and, if not the GPU, why."""
    works, reason = gpu_status()
    if resolve_device(device) == "gpu":
        return f"computing on the GPU ({reason})"
    if device == "cpu":
        return "computing on the CPU (as asked)"
    return f"computing on the CPU: {reason}; this is slower but gives the same result"
