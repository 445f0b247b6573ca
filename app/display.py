"""Qt-free display helpers: the default grey window and number formatting with units.

Kept apart from the widgets so that workers can compute a window on big data off the GUI thread.
"""

from __future__ import annotations

import math

import numpy as np


def robust_levels(data: np.ndarray, low: float = 0.5, high: float = 99.8,
                  max_samples: int = 1_000_000) -> tuple[float, float]:
    """Window (low, high) from percentiles of a sample of ``data`` (finite values only).

    The 0.5–99.8 % span keeps a few very bright voxels (metal, solder) from washing out the rest.
    """
    flat = np.asarray(data).reshape(-1)
    if flat.size > max_samples:
        flat = flat[:: int(math.ceil(flat.size / max_samples))]
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(flat, [low, high])
    if not hi > lo:
        lo, hi = float(flat.min()), float(flat.max())
        if not hi > lo:
            hi = lo + 1.0
    return float(lo), float(hi)


def format_value(value: float | None, unit: str) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    text = f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"
    return f"{text} {unit}".strip()
