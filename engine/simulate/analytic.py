"""Analytic phantoms: shapes whose line integrals are computed exactly, not by a projector.

Ellipsoids, boxes and upright cylinders, each turned about z. A ray through an ellipsoid is a
ray through the unit sphere after the affine map that turns the ellipsoid into it, so the chord
follows from a quadratic; a box is the intersection of three slabs; a cylinder, of a disc's
quadratic and a slab. Overlapping shapes add their attenuation, so a void is a shape of
negative attenuation inside its host. Exact projections let the tests judge the reconstruction
and the projector independently.
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

    def bounding_radius(self) -> float:
        return float(max(self.semi_axes_mm))


def _rotation_z(degrees: float) -> np.ndarray:
    t = np.radians(degrees)
    return np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])


@dataclass(frozen=True)
class Box:
    """Attenuation ``mu`` inside a box; ``center_mm``, ``half_size_mm`` (x, y, z), turned about z."""

    center_mm: tuple[float, float, float]
    half_size_mm: tuple[float, float, float]
    mu: float
    rotation_deg: float = 0.0

    def _local(self, points: np.ndarray) -> np.ndarray:
        return (points - np.asarray(self.center_mm)) @ _rotation_z(self.rotation_deg)

    def chord(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        o = self._local(origins)
        d = directions @ _rotation_z(self.rotation_deg)
        d = np.where(np.abs(d) < 1e-12, 1e-12, d)
        half = np.asarray(self.half_size_mm)
        t1 = (-half - o) / d
        t2 = (half - o) / d
        enter = np.max(np.minimum(t1, t2), axis=-1)
        leave = np.min(np.maximum(t1, t2), axis=-1)
        return np.maximum(leave - enter, 0.0)

    def contains(self, points_xyz: np.ndarray) -> np.ndarray:
        return np.all(np.abs(self._local(points_xyz)) <= np.asarray(self.half_size_mm), axis=-1)

    def bounding_radius(self) -> float:
        return float(np.linalg.norm(self.half_size_mm))


@dataclass(frozen=True)
class Cylinder:
    """Attenuation ``mu`` inside an upright cylinder (axis along z), ``radius_mm``, ``half_height_mm``."""

    center_mm: tuple[float, float, float]
    radius_mm: float
    half_height_mm: float
    mu: float

    def chord(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        o = origins - np.asarray(self.center_mm)
        d = directions
        a = d[..., 0] ** 2 + d[..., 1] ** 2
        b = o[..., 0] * d[..., 0] + o[..., 1] * d[..., 1]
        c = o[..., 0] ** 2 + o[..., 1] ** 2 - self.radius_mm**2
        along_axis = a < 1e-18
        a_safe = np.where(along_axis, 1.0, a)
        root = np.sqrt(np.maximum(b * b - a * c, 0.0))
        hit = (b * b - a * c) > 0
        t_in = np.where(along_axis, np.where(c <= 0, -np.inf, np.inf), (-b - root) / a_safe)
        t_out = np.where(along_axis, np.where(c <= 0, np.inf, -np.inf), (-b + root) / a_safe)
        t_in = np.where(hit | along_axis, t_in, np.inf)
        dz = np.where(np.abs(d[..., 2]) < 1e-12, 1e-12, d[..., 2])
        z1 = (-self.half_height_mm - o[..., 2]) / dz
        z2 = (self.half_height_mm - o[..., 2]) / dz
        enter = np.maximum(t_in, np.minimum(z1, z2))
        leave = np.minimum(t_out, np.maximum(z1, z2))
        return np.maximum(leave - enter, 0.0)

    def contains(self, points_xyz: np.ndarray) -> np.ndarray:
        q = points_xyz - np.asarray(self.center_mm)
        return (q[..., 0] ** 2 + q[..., 1] ** 2 <= self.radius_mm**2) & (
            np.abs(q[..., 2]) <= self.half_height_mm
        )

    def bounding_radius(self) -> float:
        return float(np.hypot(self.radius_mm, self.half_height_mm))


Shape = Ellipsoid | Box | Cylinder


def detector_rays(
    geometry: ScanGeometry, index: int, offset: tuple[float, float] = (0.0, 0.0)
) -> tuple[np.ndarray, np.ndarray]:
    """Origins and unit directions (rows, cols, 3) of the rays to each pixel of projection ``index``.

    ``offset`` (row, column), in pixels, moves the target point away from the pixel centre.
    """
    vec = geometry.vectors()[index]
    first, det, u, v = vec[0:3], vec[3:6], vec[6:9], vec[9:12]
    rows, cols = geometry.detector_shape
    b = (np.arange(rows) - (rows - 1) / 2 + offset[0])[:, None, None]
    a = (np.arange(cols) - (cols - 1) / 2 + offset[1])[None, :, None]
    pixels = det + a * u + b * v
    if geometry.beam == "cone":
        directions = pixels - first
        origins = np.broadcast_to(first, pixels.shape)
    else:
        directions = np.broadcast_to(first, pixels.shape)
        origins = pixels
    directions = directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    return np.ascontiguousarray(origins), directions


def _footprints(shapes, geometry: ScanGeometry) -> np.ndarray:
    """(n_shapes, n_proj, 4) detector windows [row0, row1, col0, col1) that each shape can touch."""
    from ..geometry import VolumeGeometry
    from ..projectors.matrices import projection_matrices

    rows, cols = geometry.detector_shape
    # projection matrices for "voxel index" = world mm (a 1 mm grid centred at the origin)
    unit = VolumeGeometry((1, 1, 1), 1.0)
    mats = projection_matrices(geometry, unit)
    out = np.zeros((len(shapes), geometry.n_projections, 4), dtype=np.int64)
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    for k, shape in enumerate(shapes):
        radius = shape.bounding_radius()
        points = np.asarray(shape.center_mm) + radius * corners  # a cube around the sphere
        homogeneous = np.concatenate([points, np.ones((8, 1))], axis=1)
        projected = np.einsum("pij,kj->pki", mats, homogeneous)  # (n, 8, 3)
        depth = projected[..., 2]
        col = projected[..., 0] / depth
        row = projected[..., 1] / depth
        out[k, :, 0] = np.clip(np.floor(row.min(axis=1)) - 1, 0, rows)
        out[k, :, 1] = np.clip(np.ceil(row.max(axis=1)) + 2, 0, rows)
        out[k, :, 2] = np.clip(np.floor(col.min(axis=1)) - 1, 0, cols)
        out[k, :, 3] = np.clip(np.ceil(col.max(axis=1)) + 2, 0, cols)
        behind = np.any(depth <= 0, axis=1)  # the source inside the cube: use the whole detector
        out[k, behind] = (0, rows, 0, cols)
    return out


def project(
    shapes: list[Shape], geometry: ScanGeometry, supersample: tuple[int, int] = (1, 1),
    progress=None,
) -> np.ndarray:
    """Exact line integrals (n, rows, cols) float32, averaged over each pixel's area.

    ``supersample`` (rows, columns) rays per pixel, on a regular grid inside it: a real detector
    integrates over its pixels, and point samples of an object with sharp edges alias (the ramp
    filter turns that aliasing into streaks). (1, 1) gives the line integral at pixel centres.
    Each shape is evaluated only on the detector window its bounding sphere can reach.
    """
    rows, cols = geometry.detector_shape
    sub_r, sub_c = supersample
    offsets = [
        ((i + 0.5) / sub_r - 0.5, (j + 0.5) / sub_c - 0.5) for i in range(sub_r) for j in range(sub_c)
    ]
    windows = _footprints(shapes, geometry)
    out = np.zeros((geometry.n_projections, rows, cols), dtype=np.float32)
    for i in range(geometry.n_projections):
        total = np.zeros((rows, cols))
        for offset in offsets:
            origins, directions = detector_rays(geometry, i, offset)
            for k, shape in enumerate(shapes):
                r0, r1, c0, c1 = windows[k, i]
                if r1 <= r0 or c1 <= c0:
                    continue
                total[r0:r1, c0:c1] += shape.mu * shape.chord(
                    origins[r0:r1, c0:c1], directions[r0:r1, c0:c1]
                )
        out[i] = total / len(offsets)
        if progress is not None and i % 16 == 0:
            progress((i + 1) / geometry.n_projections, "simulating projections")
    return out


def voxelize(shapes: list[Shape], volume: VolumeGeometry, supersample: int = 1) -> np.ndarray:
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
