"""Analytic phantoms: shapes whose line integrals are computed exactly, not by a projector.

Ellipsoids, boxes and upright cylinders, each turned about z. Every shape is an affine image of
a unit shape (the unit ball, the cube [−1, 1]³, the cylinder of radius 1 and half-height 1): a
ray through the shape is a ray through the unit shape after that map, with the same ray
parameter, so a chord follows from a quadratic (ball, the cylinder's disc) or from slabs (cube,
the cylinder's caps). Overlapping shapes add their attenuation, so a void is a shape of negative
attenuation inside its host. Exact projections let the tests judge the reconstruction and the
projector independently.

The projection and voxelization loops are Numba kernels over all cores (one projection, or one
shape's bounding box, per task); each shape is evaluated only on the detector window, or the
voxel block, it can reach. The NumPy ``chord`` and ``contains`` methods of the shapes state the
same geometry for a few rays or points at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from ..geometry import ScanGeometry, VolumeGeometry

# the unit shapes of the kernels
_BALL, _CUBE, _CYLINDER = 0, 1, 2


def _rotation_z(degrees: float) -> np.ndarray:
    t = np.radians(degrees)
    return np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])


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
        """3×3 matrix taking world offsets from the centre to unit-ball coordinates."""
        scale = np.diag(1.0 / np.asarray(self.semi_axes_mm, dtype=np.float64))
        return scale @ _rotation_z(self.rotation_deg).T

    def unit_form(self) -> tuple[int, np.ndarray]:
        return _BALL, self._to_unit()

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


@dataclass(frozen=True)
class Box:
    """Attenuation ``mu`` inside a box; ``center_mm``, ``half_size_mm`` (x, y, z), turned about z."""

    center_mm: tuple[float, float, float]
    half_size_mm: tuple[float, float, float]
    mu: float
    rotation_deg: float = 0.0

    def unit_form(self) -> tuple[int, np.ndarray]:
        return _CUBE, np.diag(1.0 / np.asarray(self.half_size_mm, dtype=np.float64)) @ _rotation_z(
            self.rotation_deg).T

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

    def unit_form(self) -> tuple[int, np.ndarray]:
        return _CYLINDER, np.diag([1.0 / self.radius_mm, 1.0 / self.radius_mm, 1.0 / self.half_height_mm])

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


def _pack(shapes: list[Shape]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kernel form of the shapes: kinds, mu, centres (x, y, z), unit maps (3×3) and half extents.

    The half extents (x, y, z) bound each shape by an axis-aligned box about its centre: for a
    unit map M, world = centre + M⁻¹·q, so the reach along axis i is the norm of row i of M⁻¹
    over the unit shape (2-norm for the ball, 1-norm for the cube, both for the cylinder).
    """
    n = len(shapes)
    kinds = np.zeros(n, dtype=np.int64)
    mus = np.zeros(n)
    centers = np.zeros((n, 3))
    maps = np.zeros((n, 3, 3))
    half = np.zeros((n, 3))
    for k, shape in enumerate(shapes):
        kind, m = shape.unit_form()
        inverse = np.linalg.inv(m)
        kinds[k], mus[k], maps[k] = kind, shape.mu, m
        centers[k] = shape.center_mm
        if kind == _BALL:
            half[k] = np.linalg.norm(inverse, axis=1)
        elif kind == _CUBE:
            half[k] = np.abs(inverse).sum(axis=1)
        else:
            half[k] = np.linalg.norm(inverse[:, :2], axis=1) + np.abs(inverse[:, 2])
    return kinds, mus, centers, maps, half


@njit(inline="always")
def _chord(kind, m, center, ox, oy, oz, dx, dy, dz):
    """Length of the line ``o + t·d`` (|d| = 1) inside the unit shape ``kind`` mapped by ``m``."""
    px, py, pz = ox - center[0], oy - center[1], oz - center[2]
    q0 = m[0, 0] * px + m[0, 1] * py + m[0, 2] * pz
    q1 = m[1, 0] * px + m[1, 1] * py + m[1, 2] * pz
    q2 = m[2, 0] * px + m[2, 1] * py + m[2, 2] * pz
    e0 = m[0, 0] * dx + m[0, 1] * dy + m[0, 2] * dz
    e1 = m[1, 0] * dx + m[1, 1] * dy + m[1, 2] * dz
    e2 = m[2, 0] * dx + m[2, 1] * dy + m[2, 2] * dz
    if kind == _BALL:
        a = e0 * e0 + e1 * e1 + e2 * e2
        b = q0 * e0 + q1 * e1 + q2 * e2
        c = q0 * q0 + q1 * q1 + q2 * q2 - 1.0
        disc = b * b - a * c
        return 2.0 * np.sqrt(disc) / a if disc > 0.0 else 0.0
    enter, leave = -np.inf, np.inf
    if kind == _CYLINDER:
        a = e0 * e0 + e1 * e1
        c = q0 * q0 + q1 * q1 - 1.0
        if a < 1e-30:  # along the axis: inside the disc or not
            if c > 0.0:
                return 0.0
        else:
            b = q0 * e0 + q1 * e1
            disc = b * b - a * c
            if disc <= 0.0:
                return 0.0
            root = np.sqrt(disc)
            enter, leave = (-b - root) / a, (-b + root) / a
        first_slab = 2  # the caps
    else:
        first_slab = 0
    for axis in range(first_slab, 3):
        q = q0 if axis == 0 else (q1 if axis == 1 else q2)
        e = e0 if axis == 0 else (e1 if axis == 1 else e2)
        if e == 0.0:
            if q < -1.0 or q > 1.0:
                return 0.0
            continue
        t1 = (-1.0 - q) / e
        t2 = (1.0 - q) / e
        enter = max(enter, min(t1, t2))
        leave = min(leave, max(t1, t2))
    return max(leave - enter, 0.0)


@njit(parallel=True, cache=True, nogil=True)
def _project_kernel(vectors, cone, rows, cols, offsets, kinds, mus, centers, maps, windows, out):
    n = vectors.shape[0]
    n_off = offsets.shape[0]
    for i in prange(n):
        src = vectors[i, 0:3]
        det = vectors[i, 3:6]
        u = vectors[i, 6:9]
        v = vectors[i, 9:12]
        total = np.zeros((rows, cols))
        for k in range(kinds.shape[0]):
            r0, r1, c0, c1 = windows[k, i, 0], windows[k, i, 1], windows[k, i, 2], windows[k, i, 3]
            kind, m, center, mu = kinds[k], maps[k], centers[k], mus[k]
            for r in range(r0, r1):
                for c in range(c0, c1):
                    acc = 0.0
                    for j in range(n_off):
                        b = r - (rows - 1) / 2 + offsets[j, 0]
                        a = c - (cols - 1) / 2 + offsets[j, 1]
                        px = det[0] + a * u[0] + b * v[0]
                        py = det[1] + a * u[1] + b * v[1]
                        pz = det[2] + a * u[2] + b * v[2]
                        if cone:
                            dx, dy, dz = px - src[0], py - src[1], pz - src[2]
                            ox, oy, oz = src[0], src[1], src[2]
                        else:
                            dx, dy, dz = src[0], src[1], src[2]
                            ox, oy, oz = px, py, pz
                        norm = np.sqrt(dx * dx + dy * dy + dz * dz)
                        acc += _chord(kind, m, center, ox, oy, oz, dx / norm, dy / norm, dz / norm)
                    total[r, c] += mu * acc
        for r in range(rows):
            for c in range(cols):
                out[i, r, c] = total[r, c] / n_off


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


def _footprints(centers: np.ndarray, half: np.ndarray, geometry: ScanGeometry) -> np.ndarray:
    """(n_shapes, n_proj, 4) detector windows [row0, row1, col0, col1) that each shape can touch.

    The corners of each shape's bounding box are projected; a margin of a pixel on each side
    covers the sub-pixel ray offsets.
    """
    from ..projectors.matrices import projection_matrices

    rows, cols = geometry.detector_shape
    # projection matrices for "voxel index" = world mm (a 1 mm grid centred at the origin)
    mats = projection_matrices(geometry, VolumeGeometry((1, 1, 1), 1.0))
    out = np.zeros((len(centers), geometry.n_projections, 4), dtype=np.int64)
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    for k in range(len(centers)):
        points = centers[k] + signs * half[k]
        homogeneous = np.concatenate([points, np.ones((8, 1))], axis=1)
        projected = np.einsum("pij,kj->pki", mats, homogeneous)  # (n, 8, 3)
        depth = projected[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            col = projected[..., 0] / depth
            row = projected[..., 1] / depth
        behind = np.any(depth <= 0, axis=1)  # the source inside the box: use the whole detector
        col[behind], row[behind] = 0.0, 0.0
        out[k, :, 0] = np.clip(np.floor(row.min(axis=1)) - 1, 0, rows)
        out[k, :, 1] = np.clip(np.ceil(row.max(axis=1)) + 2, 0, rows)
        out[k, :, 2] = np.clip(np.floor(col.min(axis=1)) - 1, 0, cols)
        out[k, :, 3] = np.clip(np.ceil(col.max(axis=1)) + 2, 0, cols)
        out[k, behind] = (0, rows, 0, cols)
    return out


def project(
    shapes: list[Shape], geometry: ScanGeometry, supersample: tuple[int, int] = (1, 1),
    progress=None,
) -> np.ndarray:
    """Exact line integrals (n, rows, cols) float32, averaged over each pixel's area.

    Parameters
    ----------
    shapes : the phantom; attenuation in 1/mm, lengths in mm.
    geometry : any cone or parallel geometry (its per-projection vectors are used).
    supersample : (rows, columns) rays per pixel, on a regular grid inside it: a real detector
        integrates over its pixels, and point samples of an object with sharp edges alias (the
        ramp filter turns that aliasing into streaks). (1, 1) gives the line integral at pixel
        centres.
    progress : optional ``progress(fraction, message)``, called between blocks of projections.

    Returns
    -------
    (n_projections, rows, columns) float32 line integrals (dimensionless), computed in float64.
    """
    rows, cols = geometry.detector_shape
    sub_r, sub_c = supersample
    offsets = np.array(
        [((i + 0.5) / sub_r - 0.5, (j + 0.5) / sub_c - 0.5) for i in range(sub_r) for j in range(sub_c)]
    )
    out = np.zeros((geometry.n_projections, rows, cols), dtype=np.float32)
    if not shapes:
        return out
    kinds, mus, centers, maps, half = _pack(shapes)
    vectors = geometry.vectors()
    cone = geometry.beam == "cone"
    windows = _footprints(centers, half, geometry)
    block = 64  # projections per kernel call: progress a few times a second
    for start in range(0, geometry.n_projections, block):
        stop = min(start + block, geometry.n_projections)
        _project_kernel(vectors[start:stop], cone, rows, cols, offsets, kinds, mus, centers, maps,
                        np.ascontiguousarray(windows[:, start:stop]), out[start:stop])
        if progress is not None:
            progress(stop / geometry.n_projections, "simulating projections")
    return out


@njit(inline="always")
def _inside(kind, m, center, x, y, z):
    px, py, pz = x - center[0], y - center[1], z - center[2]
    q0 = m[0, 0] * px + m[0, 1] * py + m[0, 2] * pz
    q1 = m[1, 0] * px + m[1, 1] * py + m[1, 2] * pz
    q2 = m[2, 0] * px + m[2, 1] * py + m[2, 2] * pz
    if kind == _BALL:
        return q0 * q0 + q1 * q1 + q2 * q2 <= 1.0
    if kind == _CYLINDER:
        return q0 * q0 + q1 * q1 <= 1.0 and abs(q2) <= 1.0
    return abs(q0) <= 1.0 and abs(q1) <= 1.0 and abs(q2) <= 1.0


@njit(parallel=True, cache=True, nogil=True)
def _voxelize_kernel(kind, m, center, mu, origin, voxel, start, stop, offsets, out):
    """out[z, y, x] += mu · (fraction of the sub-points of each voxel inside), over a block."""
    n_off = offsets.shape[0]
    scale = mu / n_off**3
    for iz in prange(start[0], stop[0]):
        for iy in range(start[1], stop[1]):
            for ix in range(start[2], stop[2]):
                count = 0
                for a in range(n_off):
                    z = origin[0] + (iz + offsets[a]) * voxel[0]
                    for b in range(n_off):
                        y = origin[1] + (iy + offsets[b]) * voxel[1]
                        for c in range(n_off):
                            x = origin[2] + (ix + offsets[c]) * voxel[2]
                            if _inside(kind, m, center, x, y, z):
                                count += 1
                if count:
                    out[iz, iy, ix] += scale * count


def voxelize(shapes: list[Shape], volume: VolumeGeometry, supersample: int = 1) -> np.ndarray:
    """Mean attenuation over each voxel (z, y, x) float32, from ``supersample``³ points per voxel.

    Points lie on a regular grid inside each voxel (the voxel centre alone for 1); each shape is
    tested only inside the block of voxels its bounding box reaches.
    """
    out = np.zeros(volume.shape, dtype=np.float64)
    if not shapes:
        return out.astype(np.float32)
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    kinds, mus, centers, maps, half = _pack(shapes)
    origin = np.asarray(volume.origin_mm)
    voxel = np.asarray(volume.voxel_size_mm)
    shape = np.asarray(volume.shape)
    for k in range(len(shapes)):
        low_zyx = (centers[k] - half[k])[::-1]
        high_zyx = (centers[k] + half[k])[::-1]
        start = np.clip(np.floor((low_zyx - origin) / voxel - 0.5), 0, shape).astype(np.int64)
        stop = np.clip(np.ceil((high_zyx - origin) / voxel + 1.5), 0, shape).astype(np.int64)
        if np.any(stop <= start):
            continue
        _voxelize_kernel(kinds[k], maps[k], centers[k], mus[k], origin, voxel, start, stop, offsets, out)
    return out.astype(np.float32)
