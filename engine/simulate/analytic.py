"""Analytic phantoms: ellipsoids whose line integrals are computed exactly, not by a projector.

A ray through an ellipsoid is a ray through the unit sphere after the affine map that turns the
ellipsoid into it; the chord length then follows from a quadratic. Overlapping ellipsoids add
their attenuation, so a void is an ellipsoid of negative attenuation inside its host. Exact
projections let the tests judge the reconstruction and the projector independently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import ScanGeometry, VolumeGeometry


@dataclass(frozen=True)
class Ellipsoid:
    """Attenuation ``mu`` (1/mm, added to what lies beneath) inside an ellipsoid.

    ``center_mm`` and ``semi_axes_mm`` are (x, y, z); ``rotation_deg`` turns the ellipsoid about z.
    """

    center_mm: tuple[float, float, float]
    semi_axes_mm: tuple[float, float, float]
    mu: float
    rotation_deg: float = 0.0

    def _to_unit(self) -> np.ndarray:
        """3×3 matrix taking world offsets from the centre to unit-sphere coordinates."""
        t = np.radians(self.rotation_deg)
        rot = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
        return np.diag(1.0 / np.asarray(self.semi_axes_mm, dtype=np.float64)) @ rot.T

    def chord(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Length (mm) of each ray's path inside; rays ``origins + t·directions`` with unit directions."""
        m = self._to_unit()
        s = (origins - np.asarray(self.center_mm)) @ m.T
        d = directions @ m.T
        a = np.sum(d * d, axis=-1)
        b = np.sum(s * d, axis=-1)
        c = np.sum(s * s, axis=-1) - 1.0
        disc = np.maximum(b * b - a * c, 0.0)
        return 2.0 * np.sqrt(disc) / a

    def contains(self, points_xyz: np.ndarray) -> np.ndarray:
        m = self._to_unit()
        q = (points_xyz - np.asarray(self.center_mm)) @ m.T
        return np.sum(q * q, axis=-1) <= 1.0


def detector_rays(geometry: ScanGeometry, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Origins and unit directions (rows, cols, 3) of the rays to each pixel centre of projection ``index``."""
    vec = geometry.vectors()[index]
    first, det, u, v = vec[0:3], vec[3:6], vec[6:9], vec[9:12]
    rows, cols = geometry.detector_shape
    b = (np.arange(rows) - (rows - 1) / 2)[:, None, None]
    a = (np.arange(cols) - (cols - 1) / 2)[None, :, None]
    pixels = det + a * u + b * v
    if geometry.beam == "cone":
        directions = pixels - first
        origins = np.broadcast_to(first, pixels.shape)
    else:
        directions = np.broadcast_to(first, pixels.shape)
        origins = pixels
    directions = directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    return np.ascontiguousarray(origins), directions


def project(shapes: list[Ellipsoid], geometry: ScanGeometry) -> np.ndarray:
    """Exact line integrals (n, rows, cols) float32 through the pixel centres."""
    rows, cols = geometry.detector_shape
    out = np.zeros((geometry.n_projections, rows, cols), dtype=np.float32)
    for i in range(geometry.n_projections):
        origins, directions = detector_rays(geometry, i)
        total = np.zeros((rows, cols))
        for shape in shapes:
            total += shape.mu * shape.chord(origins, directions)
        out[i] = total
    return out


def voxelize(shapes: list[Ellipsoid], volume: VolumeGeometry, supersample: int = 1) -> np.ndarray:
    """Mean attenuation over each voxel (z, y, x), from ``supersample``³ points per voxel."""
    out = np.zeros(volume.shape, dtype=np.float64)
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    z = volume.axis_mm(0)
    y = volume.axis_mm(1)
    x = volume.axis_mm(2)
    vz, vy, vx = volume.voxel_size_mm
    for oz in offsets:
        for oy in offsets:
            for ox in offsets:
                zz, yy, xx = np.meshgrid(z + oz * vz, y + oy * vy, x + ox * vx, indexing="ij")
                points = np.stack([xx, yy, zz], axis=-1)
                for shape in shapes:
                    out += shape.mu * shape.contains(points)
    return (out / supersample**3).astype(np.float32)
