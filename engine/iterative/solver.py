"""Penalized weighted least squares by ordered-subsets separable quadratic surrogates with momentum.

Minimizes Φ(x) = ½ Σ_i w_i ((A x)_i − y_i)² + β R(x) over x ≥ 0, with A the matched projector
pair of :mod:`engine.projectors`, w the statistical weights (:mod:`.weights`) and R the
edge-preserving penalty (:mod:`.penalty`). Each sub-iteration takes one subset of projections
(every M-th angle), scales its gradient by M, and steps by the inverse of a separable quadratic
surrogate's curvature, D = Aᵀ W A 1 + β · (penalty curvature); Nesterov's momentum accelerates it
and an adaptive restart (when the step turns against the momentum) keeps ordered subsets stable.

Each iteration (one pass over all subsets) is recorded: the objective (the data term summed over
the subsets as they were visited, plus β R at the end of the pass) and the data residual
Σ w r² / (rays), which is about 1 when the image explains the data down to the noise (the
weights are calibrated in noise units). The run stops after the given number of iterations or
when an iteration changes the image by less than ``tolerance`` (relative, RMS).

Reference: Erdoğan & Fessler, Phys. Med. Biol. 44 (1999) 2835; Kim, Ramani & Fessler, IEEE TMI
34 (2015) 167 (ordered subsets with momentum); O'Donoghue & Candès, Found. Comput. Math. 15
(2015) 715 (adaptive restart).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numba
import numpy as np

from ..geometry import ScanGeometry, VolumeGeometry
from ..progress import CancelToken, ProgressCallback, checkpoint
from ..projectors import Projector, array_module
from .guide import EdgeGuide
from .penalty import TOTAL_NEIGHBOUR_WEIGHT, penalty_gradient, penalty_value, prepare_guide


@dataclass(frozen=True)
class IterationRecord:
    """One pass over all subsets: what a convergence plot shows."""

    iteration: int
    objective: float
    data_residual: float
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def subset_order(n_projections: int, subsets: int) -> list[np.ndarray]:
    """Projection indices of each subset (every M-th angle), in a spread-out visiting order.

    Consecutive subsets are far apart in angle (bit-reversal-like order), which is what makes
    ordered subsets converge quickly.
    """
    subsets = max(1, min(int(subsets), n_projections))
    order: list[int] = [0]
    while len(order) < subsets:
        # next: the subset farthest (circularly) from those already chosen
        taken = np.array(order)
        candidates = np.setdiff1d(np.arange(subsets), taken)
        distance = np.min(np.abs(candidates[:, None] - taken[None, :]), axis=1)
        distance = np.minimum(distance, subsets - distance)
        order.append(int(candidates[np.argmax(distance)]))
    return [np.arange(m, n_projections, subsets) for m in order]


def default_subsets(n_projections: int) -> int:
    """About 30 projections per subset, between 1 and 12 subsets: fast early progress without
    the noise of tiny subsets."""
    return int(np.clip(round(n_projections / 30), 1, 12))


class WeightedLeastSquares:
    """The data term ½ Σ w (A x − y)² of one scan (or an ROI's share of it) on one device.

    ``data`` and ``weights`` are (n, rows, cols) arrays matching ``geometry``; rays with zero
    weight carry no information (they miss the volume, or were masked) and are not counted in
    the residual.
    """

    def __init__(self, data, weights, geometry: ScanGeometry, volume: VolumeGeometry, device: str,
                 smoothing_unit: float):
        xp = array_module(device)
        self.xp = xp
        self.device = device
        self.geometry = geometry
        self.volume = volume
        self.data = xp.asarray(data, dtype=xp.float32)
        self.weights = xp.asarray(weights, dtype=xp.float32)
        self.smoothing_unit = float(smoothing_unit)
        self._denominator = None
        self._projector = Projector(geometry, volume, device)

    def forward(self, x, indices=None):
        return self._projector.forward(x, indices)

    def back(self, p, indices=None, out=None):
        return self._projector.back(p, indices, out)

    @property
    def rays(self) -> int:
        """How many rays carry information (non-zero weight), counted once with the denominator."""
        self.denominator()
        return self._rays

    def denominator(self):
        """Aᵀ W A 1: the data term's separable surrogate curvature (computed once).

        On the way, rays that miss the volume (A 1 = 0) get zero weight: they carry no
        information about it and must not count in the residual.
        """
        if self._denominator is None:
            xp = self.xp
            reach = self.forward(xp.ones(self.volume.shape, dtype=xp.float32))
            self.weights = xp.where(reach > 0, self.weights, 0).astype(xp.float32)
            self._rays = max(1, int(xp.count_nonzero(self.weights)))
            self._denominator = self.back(self.weights * reach)
        return self._denominator

    def residual(self, x, indices=None):
        """(A x − y) for the selected projections."""
        y = self.data if indices is None else self.data[indices]
        return self.forward(x, indices) - y

    def discrepancy(self, x) -> float:
        """Σ w r² / rays: about 1 when x explains the data down to the noise."""
        r = self.residual(x)
        return float(self.xp.sum(self.weights * r * r, dtype=self.xp.float64)) / self.rays


@numba.njit(parallel=True, fastmath=True, cache=True)
def _sqs_step_cpu(z, x, gradient, scale, data_curvature, pg, pc, beta, out):
    nz = z.shape[0]
    partial = np.zeros(nz)
    zero = np.float32(0.0)
    beta32 = np.float32(beta)
    scale32 = np.float32(scale)
    for i in numba.prange(nz):
        total = 0.0
        for j in range(z.shape[1]):
            for k in range(z.shape[2]):
                g = scale32 * gradient[i, j, k]
                d = data_curvature[i, j, k]
                if beta32 > zero:
                    g += beta32 * pg[i, j, k]
                    d += beta32 * pc[i, j, k]
                v = z[i, j, k]
                new = max(v - g / d, zero) if d > zero else max(v, zero)
                total += (v - new) * (new - x[i, j, k])
                out[i, j, k] = new
        partial[i] = total
    return partial.sum()


@numba.njit(parallel=True, fastmath=True, cache=True)
def _extrapolate_cpu(x, previous, coefficient, out):
    c = np.float32(coefficient)
    for i in numba.prange(x.shape[0]):
        for j in range(x.shape[1]):
            for k in range(x.shape[2]):
                out[i, j, k] = x[i, j, k] + c * (x[i, j, k] - previous[i, j, k])


def sqs_step(z, x, gradient, scale, data_curvature, penalty_parts, beta, out) -> float:
    """One separable-surrogate step from z into ``out``: [z − ∇Φ / D]₊ with ∇Φ = scale · gradient
    + β · (penalty gradient) and D = data curvature + β · (penalty curvature); where D = 0 the
    voxel keeps z. Returns Σ (z − out)(out − x), positive when the step turns against the
    momentum (the adaptive-restart test). One fused pass on the CPU."""
    if isinstance(z, np.ndarray):
        pg, pc = penalty_parts if penalty_parts is not None else (z, z)
        return float(_sqs_step_cpu(z, x, gradient, scale, data_curvature, pg, pc,
                                   beta if penalty_parts is not None else 0.0, out))
    xp = array_module("gpu")
    numerator = gradient * scale
    denominator = data_curvature.copy()
    if penalty_parts is not None:
        numerator += beta * penalty_parts[0]
        denominator += beta * penalty_parts[1]
    positive = denominator > 0
    update = xp.where(positive, numerator / xp.where(positive, denominator, 1), 0)
    xp.maximum(z - update, 0, out=out)
    return float(xp.sum((z - out) * (out - x), dtype=xp.float64))


def extrapolate(x, previous, coefficient: float, out) -> None:
    """out = x + coefficient · (x − previous): Nesterov's momentum."""
    if isinstance(x, np.ndarray):
        _extrapolate_cpu(x, previous, coefficient, out)
    else:
        out[...] = x + coefficient * (x - previous)


def solve(
    problem: WeightedLeastSquares,
    initial,
    *,
    smoothing: float,
    edge_preservation: float,
    potential: str = "huber",
    iterations: int = 20,
    subsets: int = 0,
    tolerance: float = 0.0,
    guide: EdgeGuide | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_iteration: Callable[[IterationRecord, np.ndarray], None] | None = None,
):
    """Run OS-SQS with momentum from ``initial``; return (image, list of IterationRecord).

    ``smoothing`` is β in units of the data's typical curvature (``problem.smoothing_unit``,
    see :meth:`.weights.NoiseModel.smoothing_unit`): β = 1 makes the penalty's largest curvature
    equal to it, whatever the scan's photon counts, projection count or voxel size.
    ``guide`` (see :mod:`.guide`, on the image's grid) makes the penalty smooth along its edges
    only. ``on_iteration`` gets each record and a host copy of the image.
    """
    xp = problem.xp
    started = time.perf_counter()
    n = problem.geometry.n_projections
    groups = subset_order(n, subsets or default_subsets(n))
    m = len(groups)
    beta = smoothing * problem.smoothing_unit / (2.0 * TOTAL_NEIGHBOUR_WEIGHT)
    data_curvature = problem.denominator()

    x = xp.maximum(xp.asarray(initial, dtype=xp.float32), 0)
    z = x.copy()
    spare = xp.empty_like(x)  # where the next x is written; buffers rotate, nothing is reallocated
    penalty_parts = (xp.empty_like(x), xp.empty_like(x)) if beta > 0 else None
    if guide is not None and tuple(guide.field.shape[1:]) != tuple(x.shape):
        raise ValueError(f"the edge guide is {guide.field.shape[1:]} voxels but the image is {x.shape}")
    field = prepare_guide(guide.field, x) if guide is not None and beta > 0 else None
    gradient = xp.empty_like(x)
    t = 1.0
    history: list[IterationRecord] = []
    previous = x.copy()
    total_steps = iterations * m
    for iteration in range(1, iterations + 1):
        data_term = 0.0
        for k, idx in enumerate(groups):
            step = (iteration - 1) * m + k
            checkpoint(cancel, progress, step / total_steps,
                       f"iteration {iteration}/{iterations}, subset {k + 1}/{m}")
            r = problem.residual(z, idx)
            wr = problem.weights[idx] * r
            data_term += 0.5 * float(xp.sum(wr * r, dtype=xp.float64))
            gradient.fill(0.0)
            problem.back(wr, idx, out=gradient)
            if penalty_parts is not None:
                penalty_gradient(z, edge_preservation, potential, out=penalty_parts, guide=field)
            # adaptive restart: the new step points against the momentum → drop the momentum
            if sqs_step(z, x, gradient, m, data_curvature, penalty_parts, beta, out=spare) > 0:
                t = 1.0
            t_next = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
            x, spare = spare, x
            extrapolate(x, spare, (t - 1.0) / t_next, out=z)
            t = t_next
        penalty = penalty_value(x, edge_preservation, potential, field) if beta > 0 else 0.0
        objective = data_term + beta * penalty
        record = IterationRecord(
            iteration=iteration,
            objective=objective,
            data_residual=2.0 * data_term / problem.rays,
            seconds=round(time.perf_counter() - started, 3),
        )
        history.append(record)
        if on_iteration is not None:
            on_iteration(record, x.get() if hasattr(x, "get") else x.copy())
        change = float(xp.linalg.norm(x - previous)) / max(float(xp.linalg.norm(x)), 1e-30)
        previous = x.copy()
        if tolerance > 0 and change < tolerance:
            break
    checkpoint(cancel, progress, 1.0, f"{len(history)} iterations")
    return x, history
