"""Forward and back projection, cone and parallel beam, CPU and GPU: one matched operator.

``forward_project`` (A) approximates line integrals of a volume; ``back_project`` is its exact
adjoint Aᵀ, so ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ up to float32 rounding, which iterative solvers rely on. Both
work on any sub-volume (a :class:`VolumeGeometry` anywhere in the world: ROIs) and on any subset
of projections (``indices``: ordered subsets, chunks). The model is voxel-driven with bilinear
detector interpolation (the back-projector FDK uses), with the forward projector as its transpose;
see :mod:`.cpu` for the kernels and :mod:`.matrices` for the geometry and the amplitude scaling.

Arrays may be NumPy (CPU) or CuPy (GPU) arrays; results live on the device that computed them
unless ``to_host`` is set.
"""

from __future__ import annotations

import numpy as np

from ..backend import resolve_device
from ..geometry import ScanGeometry, VolumeGeometry
from . import cpu
from .matrices import detector_scale, footprint, projection_matrices, ray_obliquity

__all__ = [
    "forward_project",
    "back_project",
    "backproject_weighted",
    "projection_matrices",
    "detector_scale",
    "footprint",
    "ray_obliquity",
    "array_module",
]


def array_module(device: str):
    """``numpy`` for "cpu", ``cupy`` for "gpu"."""
    if device == "gpu":
        import cupy

        return cupy
    return np


def _kernels(device: str):
    if device == "gpu":
        from . import gpu

        return gpu
    return cpu


def _select(geometry: ScanGeometry, indices) -> tuple[ScanGeometry, np.ndarray | None]:
    if indices is None:
        return geometry, None
    idx = np.arange(geometry.n_projections)[indices]
    return geometry.subset(idx), idx


def backproject_weighted(
    projections,
    geometry: ScanGeometry,
    volume: VolumeGeometry,
    out,
    device: str = "cpu",
) -> None:
    """out += Σ_p interp(projections[p]) / depth² — the raw kernel, no detector scaling.

    ``projections`` (n, rows, cols) must match ``geometry`` (already subset); ``out`` is a
    float32 array of ``volume.shape`` on ``device``. FDK calls this with its filtered,
    pre-weighted projections; :func:`back_project` with the adjoint's detector scaling.
    """
    xp = array_module(device)
    n, rows, cols = projections.shape
    mats = projection_matrices(geometry, volume).astype(np.float32)
    if _use_columns(device, mats, volume):
        padded_t = np.zeros((n, cols + 3, rows + 3), dtype=np.float32)
        padded_t[:, 1 : cols + 1, 1 : rows + 1] = np.asarray(projections).transpose(0, 2, 1)
        cpu.backproject_columns(padded_t, mats, out)
        return
    padded = xp.zeros((n, rows + 3, cols + 3), dtype=xp.float32)
    padded[:, 1 : rows + 1, 1 : cols + 1] = xp.asarray(projections, dtype=xp.float32)
    _kernels(device).backproject_padded(padded, xp.asarray(mats), out)


# Below this many slices the column path's per-column setup costs more than it saves.
_MIN_SLICES_FOR_COLUMNS = 8


def _use_columns(device: str, mats: np.ndarray, volume: VolumeGeometry) -> bool:
    """Whether the CPU column fast path applies: the detector's columns are vertical (a voxel's
    column and depth do not depend on z) and the volume is thick enough to pay for it. Forward
    and back projection ask the same question, so the pair stays matched."""
    upright = not np.any(mats[:, 0, 2]) and not np.any(mats[:, 2, 2])
    return device == "cpu" and upright and volume.shape[0] >= _MIN_SLICES_FOR_COLUMNS


def forward_project(
    volume_data,
    volume: VolumeGeometry,
    geometry: ScanGeometry,
    *,
    indices=None,
    device: str = "auto",
    to_host: bool = False,
):
    """Line integrals of ``volume_data`` (1/mm) through ``volume``, for the projections of ``geometry``.

    Parameters
    ----------
    volume_data : (nz, ny, nx) array, attenuation in 1/mm.
    volume : where those voxels are.
    geometry : the scan geometry.
    indices : optional projection selection (slice, index array or mask): ordered subsets.
    device : "auto", "cpu" or "gpu".
    to_host : return a NumPy array even when the GPU computed it.

    Returns
    -------
    (n_selected, rows, cols) float32 line integrals (dimensionless).
    """
    if tuple(volume_data.shape) != tuple(volume.shape):
        raise ValueError(f"volume data {volume_data.shape} does not match geometry {volume.shape}")
    device = resolve_device(device)
    xp = array_module(device)
    sub, idx = _select(geometry, indices)
    rows, cols = geometry.detector_shape
    mats = projection_matrices(sub, volume).astype(np.float32)
    vol = xp.ascontiguousarray(xp.asarray(volume_data, dtype=xp.float32))
    if _use_columns(device, mats, volume):
        padded_t = np.zeros((sub.n_projections, cols + 3, rows + 3), dtype=np.float32)
        cpu.splat_columns(np.ascontiguousarray(vol.transpose(1, 2, 0)), mats, padded_t)
        splatted = padded_t[:, 1 : cols + 1, 1 : rows + 1].transpose(0, 2, 1)
    else:
        padded = xp.zeros((sub.n_projections, rows + 3, cols + 3), dtype=xp.float32)
        _kernels(device).splat_padded(vol, xp.asarray(mats), padded)
        splatted = padded[:, 1 : rows + 1, 1 : cols + 1]
    result = xp.ascontiguousarray(splatted * xp.asarray(detector_scale(sub, volume)))
    if to_host and device == "gpu":
        return result.get()
    return result


def back_project(
    projections,
    geometry: ScanGeometry,
    volume: VolumeGeometry,
    *,
    indices=None,
    device: str = "auto",
    out=None,
    to_host: bool = False,
):
    """The exact adjoint of :func:`forward_project`: Aᵀ applied to ``projections``.

    Parameters
    ----------
    projections : (n_selected, rows, cols) array, one image per selected projection.
    geometry, volume, indices, device : as in :func:`forward_project`.
    out : optional float32 volume to accumulate into (on the computing device).

    Returns
    -------
    (nz, ny, nx) float32 volume.
    """
    device = resolve_device(device)
    xp = array_module(device)
    sub, idx = _select(geometry, indices)
    if projections.shape[0] != sub.n_projections or tuple(projections.shape[1:]) != tuple(
        geometry.detector_shape
    ):
        raise ValueError(
            f"projections {projections.shape} do not match {sub.n_projections} selected "
            f"projections of {geometry.detector_shape}"
        )
    if out is None:
        out = xp.zeros(volume.shape, dtype=xp.float32)
    scaled = xp.asarray(projections, dtype=xp.float32) * xp.asarray(detector_scale(sub, volume))
    backproject_weighted(scaled, sub, volume, out, device)
    if to_host and device == "gpu":
        return out.get()
    return out
