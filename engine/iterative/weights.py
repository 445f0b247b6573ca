"""Statistical weights of the data term: each ray weighted by the inverse of its noise variance.

A line integral y = −log(I / I₀) measured with I photons has variance ≈ 1 / I = exp(y) / I₀, so
w = I₀ · exp(−y): rays through much material (few photons) count less. I₀ (with the detector's
gain, read noise and whatever preprocessing did to the noise) is rarely known exactly, so it is
measured on the data itself: the second difference along detector rows,
r = y_c − (y_{c−1} + y_{c+1}) / 2, has variance 1.5 / w for white noise, and its median over the
scan (robust to the few edges of the object) gives the scale. The weights are then in noise
units: Σ w r² / rays ≈ 1 for an image that explains the data down to the noise, which is what
the discrepancy rule for the smoothing uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# median of a χ² variable with one degree of freedom
_CHI2_1_MEDIAN = 0.454936
# noise variance floor relative to a line integral of 1 (noise-free simulated data)
_MIN_VARIANCE = 1e-8


def relative_weights(line_integrals: np.ndarray) -> np.ndarray:
    """exp(−y), the weights up to the photon-count scale, float32 (same shape)."""
    y = np.asarray(line_integrals, dtype=np.float32)
    return np.exp(-np.clip(y, -1.0, 30.0)).astype(np.float32)


def noise_scale(line_integrals: np.ndarray, relative: np.ndarray) -> float:
    """I₀ such that I₀ · exp(−y) is the inverse noise variance of each ray (see module doc)."""
    y = np.asarray(line_integrals, dtype=np.float32)
    if y.shape[-1] < 3:
        return 1.0 / _MIN_VARIANCE
    second = y[..., 1:-1] - 0.5 * (y[..., :-2] + y[..., 2:])
    spread = np.median(relative[..., 1:-1] * second * second)
    variance_unit = max(float(spread) / (1.5 * _CHI2_1_MEDIAN), _MIN_VARIANCE)
    return 1.0 / variance_unit


@dataclass(frozen=True)
class NoiseModel:
    """The scan's photon scale I₀ (weights are I₀ · exp(−y)) and the typical weight of a ray
    through the sample (the median over rays whose line integral is above 5 % of the largest):
    measured once on the whole scan, so that a preview ROI and the full volume agree."""

    photon_scale: float
    typical_weight: float

    def weights(self, line_integrals: np.ndarray) -> np.ndarray:
        return relative_weights(line_integrals) * np.float32(self.photon_scale)

    def smoothing_unit(self, n_projections: int, voxel_size_mm: float) -> float:
        """The data term's curvature at a typical voxel, ≈ Σ_i a_ij² w_i ∝ projections × voxel² ×
        typical weight: what β = 1 is measured against. It depends on the scan and the voxel
        size but not on the extent of the volume, so a preview and the full run share it."""
        return float(n_projections * voxel_size_mm**2 * self.typical_weight)


def noise_model(line_integrals: np.ndarray) -> NoiseModel:
    """Measure :class:`NoiseModel` on a scan's line integrals (see the module doc)."""
    step = max(1, line_integrals.shape[0] // 64)
    sample = np.asarray(line_integrals[::step], dtype=np.float32)
    relative = relative_weights(sample)
    scale = noise_scale(sample, relative)
    through = sample > 0.05 * max(float(sample.max()), 1e-12)
    typical = float(np.median(relative[through])) if through.any() else 1.0
    return NoiseModel(photon_scale=scale, typical_weight=typical * scale)
