"""Colour maps and window/level: how attenuation values become screen colours.

A colour map is a short list of control points (position 0–1, red, green, blue) interpolated
linearly; the same table feeds the VTK lookup table on screen and the PNG export, so a saved
image looks like the view. Window/level follows the usual CT convention: values from
``level − window/2`` (black) to ``level + window/2`` (white) span the map.
"""

from __future__ import annotations

import numpy as np

#: name → control points (position, r, g, b), positions increasing from 0 to 1.
COLORMAPS: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    "Grey": ((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0)),
    "Inverted grey": ((0.0, 1.0, 1.0, 1.0), (1.0, 0.0, 0.0, 0.0)),
    "Hot iron": ((0.0, 0.0, 0.0, 0.0), (0.35, 0.75, 0.05, 0.0), (0.7, 1.0, 0.65, 0.0), (1.0, 1.0, 1.0, 1.0)),
    "Viridis": (
        (0.0, 0.267, 0.005, 0.329),
        (0.25, 0.229, 0.322, 0.546),
        (0.5, 0.128, 0.567, 0.551),
        (0.75, 0.369, 0.789, 0.383),
        (1.0, 0.993, 0.906, 0.144),
    ),
    "Cool-warm": ((0.0, 0.23, 0.30, 0.75), (0.5, 0.87, 0.87, 0.87), (1.0, 0.71, 0.02, 0.15)),
}
DEFAULT_COLORMAP = "Grey"


def colormap_table(name: str, size: int = 256) -> np.ndarray:
    """(size, 3) float64 RGB in [0, 1] sampled evenly along the map ``name``."""
    if name not in COLORMAPS:
        raise ValueError(f"unknown colour map {name!r}: use one of {', '.join(COLORMAPS)}")
    points = np.array(COLORMAPS[name])
    x = np.linspace(0.0, 1.0, size)
    return np.stack([np.interp(x, points[:, 0], points[:, c]) for c in (1, 2, 3)], axis=1)


def window_to_range(window: float, level: float) -> tuple[float, float]:
    return level - window / 2, level + window / 2


def range_to_window(low: float, high: float) -> tuple[float, float]:
    """(window, level) of the value range low–high (a zero-width range gets a tiny window)."""
    window = max(float(high) - float(low), 1e-6)
    return window, (float(low) + float(high)) / 2


def normalize(values: np.ndarray, window: float, level: float) -> np.ndarray:
    """Values mapped to [0, 1] by window/level (clipped)."""
    low, _ = window_to_range(window, level)
    return np.clip((np.asarray(values, dtype=np.float64) - low) / max(window, 1e-12), 0.0, 1.0)


def to_rgb8(values: np.ndarray, window: float, level: float, name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """(rows, columns, 3) uint8 colours of a 2D slice, as the viewer shows it."""
    table = np.rint(colormap_table(name) * 255).astype(np.uint8)
    index = np.rint(normalize(values, window, level) * (len(table) - 1)).astype(np.intp)
    return table[index]
