"""The edge-preserving roughness penalty: potentials over the 26-neighbourhood.

R(x) = Σ over neighbour pairs {j, k} of ω_jk · ψ(x_j − x_k), each unordered pair counted once,
with ω_jk = 1 / distance (1, 1/√2, 1/√3 in voxels) so that the penalty is close to isotropic.
ψ is convex with ψ''(0) = 1, so the smoothing strength β means the same for every potential:

- Huber (the default): ψ(t) = t²/2 for |t| ≤ δ, δ|t| − δ²/2 beyond. Differences below the edge
  preservation δ are smoothed as by a quadratic penalty, larger ones (edges) cost only linearly,
  so they survive. Chosen because δ then has the plain meaning FA engineers are told — "grey
  steps below δ are noise, above δ are edges" — and its curvature ψ'(t)/t is exactly 1 below δ,
  which keeps the separable surrogate tight where the noise is.
- Fair: ψ(t) = δ²(|t|/δ − log(1 + |t|/δ)), smooth everywhere (no kink at δ): a softer choice.

For the solver each voxel needs the gradient Σ_k ω_jk ψ'(x_j − x_k) and the separable quadratic
surrogate's curvature 2 Σ_k ω_jk ψ'(t)/t (Huber's curvature, De Pierro's convexity trick halves
each pair's difference, whence the 2). Neighbours outside the volume are left out (a free
boundary), which is also what a preview ROI does at its faces.

Reference: Erdoğan & Fessler, Phys. Med. Biol. 44 (1999) 2835 (separable surrogates);
Huber, *Robust Statistics* (1981); Fair, via Lange, IEEE TMI 9 (1990) 439.
"""

from __future__ import annotations

import numba
import numpy as np

POTENTIALS = ("huber", "fair")

# The 13 offsets (dz, dy, dx) that, with their negatives, make the 26-neighbourhood.
HALF_NEIGHBOURHOOD = np.array(
    [(dz, dy, dx) for dz in (-1, 0, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
     if (dz, dy, dx) > (0, 0, 0)],
    dtype=np.int64,
)
NEIGHBOUR_WEIGHTS = (1.0 / np.sqrt(np.sum(HALF_NEIGHBOURHOOD**2, axis=1))).astype(np.float64)
# Σ_k ω_jk over all 26 neighbours of an interior voxel
TOTAL_NEIGHBOUR_WEIGHT = float(2 * NEIGHBOUR_WEIGHTS.sum())


def _potential_code(potential: str) -> int:
    if potential not in POTENTIALS:
        raise ValueError(f"potential {potential!r} is not one of {POTENTIALS}")
    return POTENTIALS.index(potential)


@numba.njit(parallel=True, fastmath=True, cache=True)
def _value_cpu(x, delta, code, offsets, weights):
    """R(x), laid out like :func:`_gradient_cpu` (one contiguous pass along x per row and
    offset, which LLVM vectorizes), over the 13 half-neighbourhood offsets: each unordered pair
    once. ψ in float32, each row's sum in float64."""
    nz, ny, nx = x.shape
    partial = np.zeros(nz)
    delta32 = np.float32(delta)
    half = np.float32(0.5)
    for z in numba.prange(nz):
        total = 0.0
        for y in range(ny):
            row = x[z, y]
            for k in range(offsets.shape[0]):
                zz = z + offsets[k, 0]
                yy = y + offsets[k, 1]
                if zz < 0 or zz >= nz or yy < 0 or yy >= ny:
                    continue
                dx = offsets[k, 2]
                first, last = max(0, -dx), min(nx, nx - dx)
                mine = row[first:last]
                other = x[zz, yy, first + dx:last + dx]
                pairs = 0.0
                if code == 0:  # Huber, branch-free: with m = min(|t|, δ), ψ = m (|t| − m/2)
                    for i in range(last - first):
                        a = abs(mine[i] - other[i])
                        m = min(a, delta32)
                        pairs += m * (a - half * m)
                else:
                    for i in range(last - first):
                        r = abs(mine[i] - other[i]) / delta32
                        pairs += delta32 * delta32 * (r - np.log1p(r))
                total += weights[k] * pairs
        partial[z] = total
    return partial.sum()


@numba.njit(parallel=True, fastmath=True, cache=True)
def _gradient_cpu(x, delta, code, offsets, weights, gradient, curvature):
    """Row by row: for each of the 26 neighbour offsets, one contiguous pass along x over the
    voxels whose neighbour exists (bounds settled per row, none in the inner loop), which LLVM
    vectorizes."""
    nz, ny, nx = x.shape
    delta32 = np.float32(delta)
    one = np.float32(1.0)
    for z in numba.prange(nz):
        g = np.empty(nx, dtype=np.float32)
        c = np.empty(nx, dtype=np.float32)
        for y in range(ny):
            g[:] = 0.0
            c[:] = 0.0
            row = x[z, y]
            for k in range(offsets.shape[0]):
                weight = np.float32(weights[k])
                for sign in (-1, 1):
                    zz = z + sign * offsets[k, 0]
                    yy = y + sign * offsets[k, 1]
                    if zz < 0 or zz >= nz or yy < 0 or yy >= ny:
                        continue
                    dx = sign * offsets[k, 2]
                    first, last = max(0, -dx), min(nx, nx - dx)
                    # views that all start at index 0: no negative index to wrap, so it vectorizes
                    mine = row[first:last]
                    other = x[zz, yy, first + dx:last + dx]
                    g_part = g[first:last]
                    c_part = c[first:last]
                    if code == 0:  # Huber: ψ'(t)/t = min(1, δ/|t|), branch-free
                        scaled = weight * delta32
                        for i in range(last - first):
                            t = mine[i] - other[i]
                            w = scaled / max(abs(t), delta32)
                            g_part[i] += w * t
                            c_part[i] += w
                    else:  # Fair: ψ'(t)/t = 1 / (1 + |t|/δ)
                        for i in range(last - first):
                            t = mine[i] - other[i]
                            w = weight / (one + abs(t) / delta32)
                            g_part[i] += w * t
                            c_part[i] += w
            for xi in range(nx):
                gradient[z, y, xi] = g[xi]
                curvature[z, y, xi] = np.float32(2.0) * c[xi]


_GPU_SOURCE = r"""
extern "C" __device__ float curv(float t, float delta, int code) {
    float a = fabsf(t);
    if (code == 0) return a <= delta ? 1.0f : delta / a;
    return 1.0f / (1.0f + a / delta);
}
extern "C" __device__ float psi(float t, float delta, int code) {
    float a = fabsf(t);
    if (code == 0) return a <= delta ? 0.5f * t * t : delta * a - 0.5f * delta * delta;
    float r = a / delta;
    return delta * delta * (r - log1pf(r));
}
extern "C" __global__ void penalty_gradient(const float* x, int nz, int ny, int nx, float delta,
        int code, const int* offsets, const float* weights, float* gradient, float* curvature) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long n = (long long)nz * ny * nx;
    if (i >= n) return;
    int xi = i % nx; int y = (i / nx) % ny; int z = i / ((long long)nx * ny);
    float v = x[i]; float g = 0.0f; float c = 0.0f;
    for (int k = 0; k < 13; ++k) {
        for (int sign = -1; sign <= 1; sign += 2) {
            int zz = z + sign * offsets[3 * k], yy = y + sign * offsets[3 * k + 1];
            int xx = xi + sign * offsets[3 * k + 2];
            if (zz < 0 || zz >= nz || yy < 0 || yy >= ny || xx < 0 || xx >= nx) continue;
            float t = v - x[((long long)zz * ny + yy) * nx + xx];
            float w = weights[k] * curv(t, delta, code);
            g += w * t; c += w;
        }
    }
    gradient[i] = g; curvature[i] = 2.0f * c;
}
extern "C" __global__ void penalty_value(const float* x, int nz, int ny, int nx, float delta,
        int code, const int* offsets, const float* weights, float* out) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long n = (long long)nz * ny * nx;
    if (i >= n) return;
    int xi = i % nx; int y = (i / nx) % ny; int z = i / ((long long)nx * ny);
    float v = x[i]; float total = 0.0f;
    for (int k = 0; k < 13; ++k) {
        int zz = z + offsets[3 * k], yy = y + offsets[3 * k + 1], xx = xi + offsets[3 * k + 2];
        if (zz < 0 || zz >= nz || yy < 0 || yy >= ny || xx < 0 || xx >= nx) continue;
        total += weights[k] * psi(v - x[((long long)zz * ny + yy) * nx + xx], delta, code);
    }
    out[i] = total;
}
"""


def _gpu_kernels():
    import cupy as cp

    module = cp.RawModule(code=_GPU_SOURCE)
    return (module.get_function("penalty_gradient"), module.get_function("penalty_value"),
            cp.asarray(HALF_NEIGHBOURHOOD.astype(np.int32)),
            cp.asarray(NEIGHBOUR_WEIGHTS.astype(np.float32)))


_gpu_cache: list = []


def penalty_value(x, delta: float, potential: str = "huber") -> float:
    """R(x) for a (nz, ny, nx) float32 volume (NumPy or CuPy)."""
    code = _potential_code(potential)
    if isinstance(x, np.ndarray):
        return float(_value_cpu(x, float(delta), code, HALF_NEIGHBOURHOOD, NEIGHBOUR_WEIGHTS))
    import cupy as cp

    if not _gpu_cache:
        _gpu_cache.append(_gpu_kernels())
    _, value_kernel, offsets, weights = _gpu_cache[0]
    out = cp.empty(x.shape, dtype=cp.float32)
    n = x.size
    nz, ny, nx = x.shape
    value_kernel(((n + 255) // 256,), (256,), (x, np.int32(nz), np.int32(ny), np.int32(nx),
                 np.float32(delta), np.int32(code), offsets, weights, out))
    return float(out.sum(dtype=cp.float64))


def penalty_gradient(x, delta: float, potential: str = "huber", out=None):
    """(gradient, curvature) of R at x: Σ_k ω ψ'(x_j − x_k) and 2 Σ_k ω ψ'(t)/t, per voxel,
    written into ``out`` (two float32 arrays shaped like x) when given."""
    code = _potential_code(potential)
    if isinstance(x, np.ndarray):
        gradient, curvature = out if out is not None else (np.empty_like(x), np.empty_like(x))
        _gradient_cpu(x, float(delta), code, HALF_NEIGHBOURHOOD, NEIGHBOUR_WEIGHTS, gradient, curvature)
        return gradient, curvature
    import cupy as cp

    if not _gpu_cache:
        _gpu_cache.append(_gpu_kernels())
    gradient_kernel, _, offsets, weights = _gpu_cache[0]
    if out is not None:
        gradient, curvature = out
    else:
        gradient = cp.empty(x.shape, dtype=cp.float32)
        curvature = cp.empty(x.shape, dtype=cp.float32)
    n = x.size
    nz, ny, nx = x.shape
    gradient_kernel(((n + 255) // 256,), (256,), (x, np.int32(nz), np.int32(ny), np.int32(nx),
                    np.float32(delta), np.int32(code), offsets, weights, gradient, curvature))
    return gradient, curvature
