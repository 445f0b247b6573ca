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
    "Projector",
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
    mats = projection_matrices(geometry, volume).astype(np.float32)
    _backproject(projections, mats, _use_columns(device, mats, volume), out, device)


def _backproject(projections, mats: np.ndarray, columns: bool, out, device: str, work=None) -> None:
    """out += the raw kernel's back-projection of ``projections`` with maps ``mats``; the column
    path copies them into ``work`` (see :func:`cpu.to_columns`) when given."""
    xp = array_module(device)
    n, rows, cols = projections.shape
    if columns:
        cpu.backproject_columns(cpu.to_columns(projections, work), mats, out, cpu.LANES)
        return
    padded = xp.zeros((n, rows + 3, cols + 3), dtype=xp.float32)
    padded[:, 1 : rows + 1, 1 : cols + 1] = xp.asarray(projections, dtype=xp.float32)
    _kernels(device).backproject_padded(padded, xp.asarray(mats), out)


# Below this many slices the column path's per-column setup costs more than it saves (measured:
# the two paths tie at 2 slices; at 4 the column path takes half the time).
_MIN_SLICES_FOR_COLUMNS = 3


def _use_columns(device: str, mats: np.ndarray, volume: VolumeGeometry) -> bool:
    """Whether the CPU column fast path applies: the detector's columns are vertical (a voxel's
    column and depth do not depend on z) and the volume is thick enough to pay for it. Forward
    and back projection ask the same question, so the pair stays matched."""
    upright = not np.any(mats[:, 0, 2]) and not np.any(mats[:, 2, 2])
    return device == "cpu" and upright and volume.shape[0] >= _MIN_SLICES_FOR_COLUMNS


class Projector:
    """The operator A (and Aᵀ) of one scan geometry and one volume on one device.

    Iterative solvers call the same projection subsets over and over; the projector keeps each
    subset's projective maps and detector scaling (keyed by its projection indices) instead of
    deriving them from the geometry on every call. :func:`forward_project` and
    :func:`back_project` are the one-call forms.
    """

    def __init__(self, geometry: ScanGeometry, volume: VolumeGeometry, device: str = "auto"):
        self.geometry = geometry
        self.volume = volume
        self.device = resolve_device(device)
        self.xp = array_module(self.device)
        self._plans: dict = {}
        self._work: dict = {}

    def _work_array(self, kind: str, n: int, subset: bool, make):
        """A work array of the column kernels for ``n`` projections, ``make(n)`` the first time.
        A solver calls with the same subsets over and over, and a fresh array per call costs
        the system faulting in and zeroing its pages (``numpy.zeros`` took 0.1 s of a 5 s
        preview), so for subsets it is kept, sized for the largest so far, and the first ``n``
        are reused (a projector is therefore not for two threads at once). Calls on all
        projections, rare and the largest, get a fresh one, so that no solve holds a copy of
        the whole scan for nothing."""
        if not subset:
            return make(n)
        array = self._work.get(kind)
        if array is None or array.shape[0] < n:
            array = self._work[kind] = make(n)
        return array[:n]

    def _plan(self, indices):
        """(selected geometry, float32 maps, detector scale on the device, fast path?)."""
        key = None if indices is None else np.arange(self.geometry.n_projections)[indices].tobytes()
        plan = self._plans.get(key)
        if plan is None:
            sub, _ = _select(self.geometry, indices)
            mats = projection_matrices(sub, self.volume).astype(np.float32)
            scale = self.xp.asarray(detector_scale(sub, self.volume))
            plan = (sub, mats, scale, _use_columns(self.device, mats, self.volume))
            self._plans[key] = plan
        return plan

    def forward(self, volume_data, indices=None):
        """A x for the selected projections: (n_selected, rows, cols) float32 line integrals."""
        if tuple(volume_data.shape) != tuple(self.volume.shape):
            raise ValueError(f"volume data {volume_data.shape} does not match geometry {self.volume.shape}")
        xp = self.xp
        sub, mats, scale, columns = self._plan(indices)
        rows, cols = self.geometry.detector_shape
        if columns:  # lane_major copies (and converts to float32) anyway
            columns_out = self._work_array("splat", sub.n_projections, indices is not None,
                                           lambda n: cpu.detector_columns(n, rows, cols))
            columns_out.fill(0.0)
            # the volume's lane-major copy is the volume's size, whatever the projections: kept
            lanes = self._work["lanes"] = cpu.lane_major(volume_data, self._work.get("lanes"))
            cpu.splat_columns(lanes, self.volume.shape[2], mats, columns_out, cpu.LANES)
            splatted = cpu.from_columns(columns_out, rows, cols)
        else:
            vol = xp.ascontiguousarray(xp.asarray(volume_data, dtype=xp.float32))
            padded = xp.zeros((sub.n_projections, rows + 3, cols + 3), dtype=xp.float32)
            _kernels(self.device).splat_padded(vol, xp.asarray(mats), padded)
            splatted = padded[:, 1 : rows + 1, 1 : cols + 1]
        return xp.ascontiguousarray(splatted * scale)

    def back(self, projections, indices=None, out=None):
        """Aᵀ y for images of the selected projections, accumulated into ``out`` if given."""
        xp = self.xp
        sub, mats, scale, columns = self._plan(indices)
        if projections.shape[0] != sub.n_projections or tuple(projections.shape[1:]) != tuple(
            self.geometry.detector_shape
        ):
            raise ValueError(
                f"projections {projections.shape} do not match {sub.n_projections} selected "
                f"projections of {self.geometry.detector_shape}"
            )
        if out is None:
            out = xp.zeros(self.volume.shape, dtype=xp.float32)
        scaled = xp.asarray(projections, dtype=xp.float32) * scale
        rows, cols = self.geometry.detector_shape
        work = (self._work_array("back", sub.n_projections, indices is not None,
                                 lambda n: cpu.detector_columns(n, rows, cols)) if columns else None)
        _backproject(scaled, mats, columns, out, self.device, work)
        return out


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
    projector = Projector(geometry, volume, device)
    result = projector.forward(volume_data, indices)
    return result.get() if to_host and projector.device == "gpu" else result


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
    projector = Projector(geometry, volume, device)
    out = projector.back(projections, indices, out)
    return out.get() if to_host and projector.device == "gpu" else out
