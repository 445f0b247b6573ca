"""How much each projection (and column) counts in the back-projection sum.

Every line through the object is measured once per 180° (parallel) or once per 180° plus the
fan angle (cone). The weights make each line count once in total:

* a full circle (or more): every projection counts π / (angular range);
* a short scan: Parker's weights (Parker 1982), with the overscan δ = (range − π) / 2, which
  smoothly fade the doubly measured lines at both ends; for parallel beam the same formula
  with fan angle 0;
* exactly 180° of parallel beam: weight 1.

Parker's paper measures the fan angle γ with the opposite sense to ours: here the ray through
column coordinate a (along +u) has γ = atan(a / SDD), and its conjugate is (β + π − 2γ, −γ) for
a source turning towards increasing angles. The formula below is Parker's with γ → −γ; for a
scan whose angles decrease, the sense flips back.

Each weight is multiplied by the angular step Δβ of its projection (midpoint rule, so uneven
steps are handled).
"""

from __future__ import annotations

import numpy as np

from ..geometry import ScanGeometry


def angular_steps(angles: np.ndarray) -> np.ndarray:
    """Δβ per projection (radians), midpoint rule over the sorted angles."""
    n = angles.size
    if n == 1:
        return np.array([np.pi])
    order = np.argsort(angles)
    a = angles[order]
    gaps = np.diff(a)
    edges = np.concatenate([[a[0] - gaps[0] / 2], (a[:-1] + a[1:]) / 2, [a[-1] + gaps[-1] / 2]])
    steps = np.empty(n)
    steps[order] = np.diff(edges)
    return steps


def column_fan_angles(geometry: ScanGeometry) -> np.ndarray:
    """Fan angle γ (rad) of each column, (n, cols): angle of the ray to the central ray, along u."""
    rows, cols = geometry.detector_shape
    if geometry.beam == "parallel":
        return np.zeros((geometry.n_projections, cols))
    vec = geometry.vectors()
    src, det, u, v = vec[:, 0:3], vec[:, 3:6], vec[:, 6:9], vec[:, 9:12]
    normal = np.cross(u, v)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    depth = np.sum((det - src) * normal, axis=1)
    u_len = np.linalg.norm(u, axis=1)
    # column coordinate (mm along u) of the foot of the perpendicular from the source
    foot = -np.sum((det - src) * u, axis=1) / u_len
    a = (np.arange(cols) - (cols - 1) / 2)[None, :] * u_len[:, None] - foot[:, None]
    return np.arctan2(a, depth[:, None])


def redundancy_weights(geometry: ScanGeometry) -> tuple[np.ndarray, str]:
    """(n, cols) weights including Δβ, and a note on which rule applied (for the recipe)."""
    angles = np.unwrap(geometry.angles_rad)
    n = angles.size
    steps = angular_steps(angles)
    step = float(np.median(np.abs(steps)))
    span = float(angles.max() - angles.min())
    coverage = span + step
    gamma = column_fan_angles(geometry)
    cols = gamma.shape[1]
    full = np.ones((n, cols))

    if coverage >= 2 * np.pi - 0.5 * step:
        return full * (steps * np.pi / coverage)[:, None], "full rotation: uniform weights"
    if geometry.beam == "parallel" and abs(coverage - np.pi) <= 0.5 * step:
        return full * steps[:, None], "180° parallel scan: uniform weights"

    increasing = angles[-1] >= angles[0]
    beta = (angles - angles.min()) if increasing else (angles.max() - angles)
    beta = beta + step / 2  # each projection stands for the middle of its angular bin
    g = gamma if increasing else -gamma
    delta = (coverage - np.pi) / 2
    note = f"short scan: Parker weights, overscan {np.degrees(2 * delta):.1f}°"
    max_fan = float(np.max(np.abs(gamma)))
    if delta < max_fan - 1e-9:
        note += (
            f" (too short: a {np.degrees(np.pi + 2 * max_fan):.1f}° scan is needed for complete data;"
            " expect streaks)"
        )
        delta = max(delta, 1e-6)
    b = beta[:, None]
    w = np.ones((n, cols))
    rise = np.maximum(delta + g, 1e-9)
    fall = np.maximum(delta - g, 1e-9)
    first = b < 2 * (delta + g)
    last = b > np.pi + 2 * g
    w = np.where(first, np.sin(np.pi / 4 * b / rise) ** 2, w)
    w = np.where(last, np.sin(np.pi / 4 * np.clip(np.pi + 2 * delta - b, 0, None) / fall) ** 2, w)
    return w * steps[:, None], note
