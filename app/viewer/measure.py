"""Measurements and sensible defaults: lengths and angles in mm, scale-bar lengths, windows.

Plain NumPy. Points are world (x, y, z) millimetres; the slices are resampled with square
physical pixels, so a length measured on any slice, oblique included, is a true length.
"""

from __future__ import annotations

import numpy as np

#: Voxels examined for the automatic window (a strided subsample, so a 512³ volume costs little).
WINDOW_SAMPLE_VOXELS = 2_000_000


def distance_mm(p1, p2) -> float:
    return float(np.linalg.norm(np.asarray(p2, dtype=np.float64) - np.asarray(p1, dtype=np.float64)))


def angle_deg(p1, vertex, p3) -> float:
    """The angle p1–vertex–p3 in degrees (0–180)."""
    a = np.asarray(p1, dtype=np.float64) - np.asarray(vertex, dtype=np.float64)
    b = np.asarray(p3, dtype=np.float64) - np.asarray(vertex, dtype=np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-12 or nb < 1e-12:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0))))


def nice_length(longest_mm: float) -> float:
    """The largest 1, 2 or 5 × 10^k mm not longer than ``longest_mm`` (a scale bar's length)."""
    if not np.isfinite(longest_mm) or longest_mm <= 0:
        return 0.0
    power = 10.0 ** np.floor(np.log10(longest_mm))
    for step in (5.0, 2.0, 1.0):
        if step * power <= longest_mm * (1 + 1e-9):
            return float(step * power)
    return float(power)


def format_length(mm: float) -> str:
    """'250 µm', '1.5 mm' — micrometres below a millimetre, as FA reports write them."""
    if abs(mm) < 1.0:
        return f"{mm * 1000:.4g} µm"
    return f"{mm:.4g} mm"


def subsample_values(data: np.ndarray) -> np.ndarray:
    """About :data:`WINDOW_SAMPLE_VOXELS` finite values of ``data``, taken on a regular stride."""
    stride = max(1, int(np.ceil((data.size / WINDOW_SAMPLE_VOXELS) ** (1 / 3))))
    sample = np.asarray(data[::stride, ::stride, ::stride], dtype=np.float32).ravel()
    return sample[np.isfinite(sample)]


def window_presets(data: np.ndarray) -> dict[str, tuple[float, float]]:
    """Value ranges (low, high) that suit a package scan, from the volume's own histogram.

    * ``"Full range"`` (the default): 0.5th to 99.9th percentile; solder and copper bright, mold
      faint, voids in the balls dark.
    * ``"Metals"``: from about a fifth of the brightest level up, for voids and cracks inside
      balls, bumps and traces.
    * ``"Low density"``: air to the top of the low-attenuation materials (mold, silicon, board),
      for delamination and cracks in the die or the mold.
    """
    sample = subsample_values(data)
    if sample.size == 0:
        return {"Full range": (0.0, 1.0)}
    low, high = (float(v) for v in np.percentile(sample, [0.5, 99.9]))
    if high <= low:
        high = low + 1.0
    light = sample[sample < low + 0.15 * (high - low)]
    light_top = float(np.percentile(light, 99.5)) if light.size else low + 0.1 * (high - low)
    return {
        "Full range": (low, high),
        "Metals": (low + 0.2 * (high - low), float(np.percentile(sample, 99.99))),
        "Low density": (low, max(light_top, low + 1e-6)),
    }
