"""From geometry vectors to what the kernels consume: one projective map per projection.

A voxel index (ix, iy, iz) lands on the detector at column ``c = Pc·X / Pw·X`` and row
``r = Pr·X / Pw·X`` with ``X = (ix, iy, iz, 1)``: a cone beam is a projective transform, a
parallel beam the affine case (``Pw·X = 1``). The three rows are returned as one (n, 3, 4)
array. ``Pw·X`` is the voxel's depth from the source divided by the detector's (the inverse
local magnification); both kernels weight by its inverse square, which is the FDK distance
weight and, together with :func:`detector_scale`, what makes the splat forward projector an
approximation of line integrals.
"""

from __future__ import annotations

import numpy as np

from ..geometry import ScanGeometry, VolumeGeometry


def _dual(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectors ã, b̃ with ã·a = 1, ã·b = 0, ã·c = 0 and b̃·b = 1, b̃·a = 0, b̃·c = 0 (rows)."""
    bc = np.cross(b, c)
    ca = np.cross(c, a)
    a_dual = bc / np.sum(a * bc, axis=1, keepdims=True)
    b_dual = ca / np.sum(b * ca, axis=1, keepdims=True)
    return a_dual, b_dual


def projection_matrices(geometry: ScanGeometry, volume: VolumeGeometry) -> np.ndarray:
    """(n, 3, 4) float64: rows (column numerator, row numerator, depth ratio) per projection.

    The map takes voxel *indices* (ix, iy, iz, 1) to detector *indices* (column, row), with
    column 0 at the −u end and row 0 at the top, as in ``proj[angle, row, column]``.
    """
    vec = geometry.vectors()
    first, det, u, v = vec[:, 0:3], vec[:, 3:6], vec[:, 6:9], vec[:, 9:12]
    rows, cols = geometry.detector_shape
    c0, r0 = (cols - 1) / 2, (rows - 1) / 2

    # world (x, y, z) = origin + index * voxel, with VolumeGeometry in (z, y, x) order
    oz, oy, ox = volume.origin_mm
    vz, vy, vx = volume.voxel_size_mm
    to_world = np.array(
        [[vx, 0, 0, ox], [0, vy, 0, oy], [0, 0, vz, oz], [0, 0, 0, 1]], dtype=np.float64
    )

    n = vec.shape[0]
    mats = np.zeros((n, 3, 4))
    if geometry.beam == "cone":
        source = first
        normal = np.cross(u, v)
        u_dual, v_dual = _dual(u, v, normal)
        depth_det = np.sum((det - source) * normal, axis=1, keepdims=True)
        den = normal / depth_det                              # (X - s)·den = depth ratio
        num_c = u_dual + np.sum((source - det) * u_dual, axis=1, keepdims=True) * den
        num_r = v_dual + np.sum((source - det) * v_dual, axis=1, keepdims=True) * den
        for k, row in enumerate((num_c, num_r, den)):
            mats[:, k, :3] = row
            mats[:, k, 3] = -np.sum(row * source, axis=1)
    else:
        ray = first / np.linalg.norm(first, axis=1, keepdims=True)
        u_dual, v_dual = _dual(u, v, ray)
        for k, row in enumerate((u_dual, v_dual)):
            mats[:, k, :3] = row
            mats[:, k, 3] = -np.sum(row * det, axis=1)
        mats[:, 2, 3] = 1.0
    # shift from centred detector coordinates to indices: c = a + c0 → numerator + c0·den
    mats[:, 0, :] += c0 * mats[:, 2, :]
    mats[:, 1, :] += r0 * mats[:, 2, :]
    return mats @ to_world


def ray_obliquity(geometry: ScanGeometry, indices: np.ndarray | None = None) -> np.ndarray:
    """cos γ of the ray through each detector pixel against the detector normal, (n, rows, cols)."""
    vec = geometry.vectors() if indices is None else geometry.vectors()[indices]
    first, det, u, v = vec[:, 0:3], vec[:, 3:6], vec[:, 6:9], vec[:, 9:12]
    rows, cols = geometry.detector_shape
    normal = np.cross(u, v)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    if geometry.beam == "parallel":
        ray = first / np.linalg.norm(first, axis=1, keepdims=True)
        cos = np.abs(np.sum(ray * normal, axis=1))
        return np.broadcast_to(cos[:, None, None], (vec.shape[0], rows, cols))
    # |pixel − source|² expanded in per-projection scalars: no (n, rows, cols, 3) temporary
    w = det - first
    a = (np.arange(cols) - (cols - 1) / 2)[None, None, :]
    b = (np.arange(rows) - (rows - 1) / 2)[None, :, None]

    def per_projection(values):
        return values[:, None, None]

    dist2 = (
        per_projection(np.sum(w * w, axis=1))
        + a * a * per_projection(np.sum(u * u, axis=1))
        + b * b * per_projection(np.sum(v * v, axis=1))
        + 2 * a * per_projection(np.sum(w * u, axis=1))
        + 2 * b * per_projection(np.sum(w * v, axis=1))
        + 2 * a * b * per_projection(np.sum(u * v, axis=1))
    )
    depth = np.abs(np.sum(w * normal, axis=1))
    return (per_projection(depth) / np.sqrt(dist2)).astype(np.float32)


def detector_scale(geometry: ScanGeometry, volume: VolumeGeometry,
                   indices: np.ndarray | None = None) -> np.ndarray:
    """Per-pixel factor turning splatted voxel values into line integrals, (n, rows, cols) float32.

    A voxel of attenuation μ holds μ·V (V the voxel volume); spread over the detector it must
    integrate to μ·V/(depth ratio² · cos γ). The kernels apply the depth-ratio part; this is the
    rest: V / (pixel area · cos γ). Being diagonal on the detector, it keeps the pair matched.
    """
    vec = geometry.vectors() if indices is None else geometry.vectors()[indices]
    pixel_area = np.linalg.norm(np.cross(vec[:, 6:9], vec[:, 9:12]), axis=1)
    voxel_volume = float(np.prod(volume.voxel_size_mm))
    cos = ray_obliquity(geometry, indices)
    return (voxel_volume / pixel_area[:, None, None] / cos).astype(np.float32)


def footprint(geometry: ScanGeometry, volume: VolumeGeometry, margin: int = 2) -> tuple[int, int, int, int]:
    """The detector pixels any voxel of ``volume`` reaches in any projection.

    Returns ``(first_row, first_col, rows, cols)`` for :meth:`ScanGeometry.detector_window`,
    ``margin`` pixels wider than the box's shadow (the bilinear footprint reaches one pixel
    beyond a voxel's centre) and clipped to the detector. The shadow of a box is the hull of the
    shadows of its eight corners, in cone beam as well (every corner is in front of the source).
    """
    mats = projection_matrices(geometry, volume)
    nz, ny, nx = volume.shape
    corners = np.array(
        [[x, y, z, 1.0] for z in (-0.5, nz - 0.5) for y in (-0.5, ny - 0.5) for x in (-0.5, nx - 0.5)]
    )
    image = mats @ corners.T                     # (n, 3, 8)
    cols = image[:, 0] / image[:, 2]
    rows = image[:, 1] / image[:, 2]
    total_rows, total_cols = geometry.detector_shape
    r0 = int(np.clip(np.floor(rows.min()) - margin, 0, total_rows - 1))
    r1 = int(np.clip(np.ceil(rows.max()) + margin, r0, total_rows - 1))
    c0 = int(np.clip(np.floor(cols.min()) - margin, 0, total_cols - 1))
    c1 = int(np.clip(np.ceil(cols.max()) + margin, c0, total_cols - 1))
    return r0, c0, r1 - r0 + 1, c1 - c0 + 1
