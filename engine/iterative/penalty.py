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

from .guide import GUIDE_CUT, GUIDE_STRENGTH

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


@numba.njit(inline="always")
def _neighbour_row(z, y, dz, dy, dx, nz, ny, nx):
    """(zz, yy, first, last): the row (zz, yy) at offset (dz, dy, dx) from row (z, y), and the
    range [first, last) of x where both x and x + dx lie in the volume; an empty range when the
    neighbour row is outside it. The one boundary rule of every pair loop below."""
    zz, yy = z + dz, y + dy
    if zz < 0 or zz >= nz or yy < 0 or yy >= ny:
        return zz, yy, 0, 0
    return zz, yy, max(0, -dx), min(nx, nx - dx)


@numba.njit(parallel=True, fastmath=True, cache=True)
def _value_cpu(x, delta, code, offsets, weights):
    """R(x), one contiguous pass along x per row and offset (which LLVM vectorizes), over the 13
    half-neighbourhood offsets: each unordered pair once. ψ in float32, each row's sum in float64."""
    nz, ny, nx = x.shape
    partial = np.zeros(nz)
    delta32 = np.float32(delta)
    half = np.float32(0.5)
    for z in numba.prange(nz):
        total = 0.0
        for y in range(ny):
            row = x[z, y]
            for k in range(offsets.shape[0]):
                dx = offsets[k, 2]
                zz, yy, first, last = _neighbour_row(z, y, offsets[k, 0], offsets[k, 1], dx, nz, ny, nx)
                if last <= first:
                    continue
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
def _guided_value_cpu(x, guide, delta, code, gamma, kappa, offsets, weights):
    """R(x) with each pair's weight scaled by the guide as in :func:`_guided_gradient_cpu`
    (``guide``: (3, nz, ny, nx)). The loop over pairs is :func:`_value_cpu`'s with the factor."""
    nz, ny, nx = x.shape
    partial = np.zeros(nz)
    delta32 = np.float32(delta)
    half = np.float32(0.5)
    one = np.float32(1.0)
    gamma32, kappa32 = np.float32(gamma), np.float32(kappa)
    for z in numba.prange(nz):
        total = 0.0
        for y in range(ny):
            row = x[z, y]
            for k in range(offsets.shape[0]):
                dx = offsets[k, 2]
                zz, yy, first, last = _neighbour_row(z, y, offsets[k, 0], offsets[k, 1], dx, nz, ny, nx)
                if last <= first:
                    continue
                half_unit = np.float32(0.5 / np.sqrt(offsets[k, 0] ** 2 + offsets[k, 1] ** 2 + dx * dx))
                uz = np.float32(offsets[k, 0]) * half_unit
                uy = np.float32(offsets[k, 1]) * half_unit
                ux = np.float32(dx) * half_unit
                mine, other = row[first:last], x[zz, yy, first + dx:last + dx]
                mz = guide[0, z, y, first:last]
                my = guide[1, z, y, first:last]
                mx = guide[2, z, y, first:last]
                fz = guide[0, zz, yy, first + dx:last + dx]
                fy = guide[1, zz, yy, first + dx:last + dx]
                fx = guide[2, zz, yy, first + dx:last + dx]
                pairs = 0.0
                for i in range(last - first):
                    dot = (mz[i] + fz[i]) * uz + (my[i] + fy[i]) * uy + (mx[i] + fx[i]) * ux
                    factor = one - gamma32 * min(one, kappa32 * dot * dot)
                    a = abs(mine[i] - other[i])
                    if code == 0:
                        m = min(a, delta32)
                        pairs += factor * m * (a - half * m)
                    else:
                        r = a / delta32
                        pairs += factor * delta32 * delta32 * (r - np.log1p(r))
                total += weights[k] * pairs
        partial[z] = total
    return partial.sum()


@numba.njit(inline="always", fastmath=True)
def _pair(scaled, v, u, delta32, fair):
    """(w·t, w) for the pair (v, u), t = v − u, with w = ω ψ'(t)/t and ``scaled`` = ωδ:
    ωδ / max(|t|, δ) for Huber, ωδ / (δ + |t|) for Fair (``fair`` = 1); no branch."""
    t = v - u
    a = abs(t)
    w = scaled / (max(a, delta32) + fair * min(a, delta32))
    return w * t, w


@numba.njit(inline="always", fastmath=True)
def _add_row(sums, v, r, j, straight, diagonal, delta32, fair):
    """``sums`` (the (w·t, w) sums of the straight, left and right pairs, as a 6-tuple) plus the
    pairs of v with r[j] (ωδ = ``straight``), r[j − 1] and r[j + 1] (``diagonal``)."""
    gs, cs, gl, cl, gr, cr = sums
    dg, dc = _pair(straight, v, r[j], delta32, fair)
    lg, lc = _pair(diagonal, v, r[j - 1], delta32, fair)
    rg, rc = _pair(diagonal, v, r[j + 1], delta32, fair)
    return gs + dg, cs + dc, gl + lg, cl + lc, gr + rg, cr + rc


@numba.njit(parallel=True, fastmath=True, cache=True)
def _gradient_cpu(x, delta, code, gradient, curvature):
    """Row by row, each voxel's 26 pairs in one pass along x that LLVM vectorizes. The nine
    neighbouring rows are fixed per row (a missing one, outside the volume, is replaced by the
    row itself with zero weight) and read from a copy of x padded by one voxel at both ends of
    x; the pairs with x − 1 and x + 1 are summed apart and multiplied by 0 at the row's ends. So
    the loop has no bounds checks and no per-offset set-up."""
    nz, ny, nx = x.shape
    delta32 = np.float32(delta)
    fair = np.float32(code == 1)
    # ωδ for one, two and three unit steps
    s1 = delta32
    s2 = np.float32(1.0 / np.sqrt(2.0)) * delta32
    s3 = np.float32(1.0 / np.sqrt(3.0)) * delta32
    two = np.float32(2.0)
    padded = np.zeros((nz, ny, nx + 2), dtype=np.float32)
    for z in numba.prange(nz):
        padded[z, :, 1:nx + 1] = x[z]
    has_left = np.ones(nx, dtype=np.float32)
    has_right = np.ones(nx, dtype=np.float32)
    has_left[0] = 0.0
    has_right[nx - 1] = 0.0
    for task in numba.prange(nz * ny):
        z, y = task // ny, task % ny
        below, above = np.float32(z > 0), np.float32(z < nz - 1)
        front, back = np.float32(y > 0), np.float32(y < ny - 1)
        zm, zp = max(z - 1, 0), min(z + 1, nz - 1)
        ym, yp = max(y - 1, 0), min(y + 1, ny - 1)
        row = padded[z, y]
        # the eight other rows, with ωδ of their straight and diagonal pairs (zero when missing)
        r1, a1, b1 = padded[zm, ym], s2 * below * front, s3 * below * front
        r2, a2, b2 = padded[zm, y], s1 * below, s2 * below
        r3, a3, b3 = padded[zm, yp], s2 * below * back, s3 * below * back
        r4, a4, b4 = padded[z, ym], s1 * front, s2 * front
        r5, a5, b5 = padded[z, yp], s1 * back, s2 * back
        r6, a6, b6 = padded[zp, ym], s2 * above * front, s3 * above * front
        r7, a7, b7 = padded[zp, y], s1 * above, s2 * above
        r8, a8, b8 = padded[zp, yp], s2 * above * back, s3 * above * back
        g_row = gradient[z, y]
        c_row = curvature[z, y]
        for i in range(nx):
            j = i + 1
            v = row[j]
            gl, cl = _pair(s1, v, row[j - 1], delta32, fair)
            gr, cr = _pair(s1, v, row[j + 1], delta32, fair)
            sums = (np.float32(0.0), np.float32(0.0), gl, cl, gr, cr)
            # written out row by row: a loop over the rows (a tuple) is not unrolled, and the
            # pass along x then does not vectorize (measured 8× slower)
            sums = _add_row(sums, v, r1, j, a1, b1, delta32, fair)
            sums = _add_row(sums, v, r2, j, a2, b2, delta32, fair)
            sums = _add_row(sums, v, r3, j, a3, b3, delta32, fair)
            sums = _add_row(sums, v, r4, j, a4, b4, delta32, fair)
            sums = _add_row(sums, v, r5, j, a5, b5, delta32, fair)
            sums = _add_row(sums, v, r6, j, a6, b6, delta32, fair)
            sums = _add_row(sums, v, r7, j, a7, b7, delta32, fair)
            sums = _add_row(sums, v, r8, j, a8, b8, delta32, fair)
            gs, cs, gl, cl, gr, cr = sums
            g_row[i] = gs + has_left[i] * gl + has_right[i] * gr
            c_row[i] = two * (cs + has_left[i] * cl + has_right[i] * cr)


@numba.njit(parallel=True, fastmath=True, cache=True)
def _guided_gradient_cpu(x, guide, delta, code, gamma, kappa, offsets, weights, gradient, curvature):
    """:func:`_gradient_cpu` with each pair's ωδ scaled by the guide, 1 − γ min(1, κ (ξ̄ · d)²) with
    ξ̄ the mean of the pair's two guide vectors (``guide``: (3, nz, ny, nx)) and d its unit
    direction. Offset by offset, each a contiguous pass along x that LLVM vectorizes (the
    row-by-row form of the unguided kernel needs 27 more guide rows at once and then does not)."""
    nz, ny, nx = x.shape
    delta32 = np.float32(delta)
    fair = np.float32(code == 1)
    one = np.float32(1.0)
    gamma32, kappa32 = np.float32(gamma), np.float32(kappa)
    for task in numba.prange(nz * ny):
        z, y = task // ny, task % ny
        own = x[z, y]
        ez, ey, ex = guide[0, z, y], guide[1, z, y], guide[2, z, y]
        sum_g = np.zeros(nx, dtype=np.float32)
        sum_c = np.zeros(nx, dtype=np.float32)
        for k in range(offsets.shape[0]):
            for sign in (-1, 1):
                dz, dy, dx = sign * offsets[k, 0], sign * offsets[k, 1], sign * offsets[k, 2]
                zz, yy, first, last = _neighbour_row(z, y, dz, dy, dx, nz, ny, nx)
                if last <= first:
                    continue
                # half the unit direction: the dot product with ξ_j + ξ_k is then with their mean
                half = np.float32(0.5 / np.sqrt(dz * dz + dy * dy + dx * dx))
                uz, uy, ux = np.float32(dz) * half, np.float32(dy) * half, np.float32(dx) * half
                scaled = np.float32(weights[k]) * delta32
                count = last - first
                mine, other = own[first:last], x[zz, yy, first + dx:last + dx]
                mz, my, mx = ez[first:last], ey[first:last], ex[first:last]
                fz = guide[0, zz, yy, first + dx:last + dx]
                fy = guide[1, zz, yy, first + dx:last + dx]
                fx = guide[2, zz, yy, first + dx:last + dx]
                acc_g, acc_c = sum_g[first:last], sum_c[first:last]
                for i in range(count):
                    dot = (mz[i] + fz[i]) * uz + (my[i] + fy[i]) * uy + (mx[i] + fx[i]) * ux
                    t = mine[i] - other[i]
                    a = abs(t)
                    w = scaled * (one - gamma32 * min(one, kappa32 * dot * dot)) / (
                        max(a, delta32) + fair * min(a, delta32))
                    acc_g[i] += w * t
                    acc_c[i] += w
        gradient[z, y] = sum_g
        curvature[z, y] = np.float32(2.0) * sum_c


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
// the guide's factor of the pair (i, j) along offset k: 1 − γ min(1, κ (ξ̄ · d)²); guide holds the
// three components one after the other (3 × n floats); guided = 0: no guide, factor 1
extern "C" __device__ float guide_factor(const float* guide, int guided, long long n, long long i,
        long long j, const int* offsets, int k, float gamma, float kappa) {
    if (!guided) return 1.0f;
    float dz = offsets[3 * k], dy = offsets[3 * k + 1], dx = offsets[3 * k + 2];
    float dot = 0.5f * rsqrtf(dz * dz + dy * dy + dx * dx)
              * ((guide[i] + guide[j]) * dz + (guide[n + i] + guide[n + j]) * dy
                 + (guide[2 * n + i] + guide[2 * n + j]) * dx);
    return 1.0f - gamma * fminf(1.0f, kappa * dot * dot);
}
extern "C" __global__ void penalty_gradient(const float* x, int nz, int ny, int nx, float delta,
        int code, const int* offsets, const float* weights, const float* guide, int guided,
        float gamma, float kappa, float* gradient, float* curvature) {
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
            long long j = ((long long)zz * ny + yy) * nx + xx;
            float t = v - x[j];
            float w = weights[k] * curv(t, delta, code)
                    * guide_factor(guide, guided, n, i, j, offsets, k, gamma, kappa);
            g += w * t; c += w;
        }
    }
    gradient[i] = g; curvature[i] = 2.0f * c;
}
extern "C" __global__ void penalty_value(const float* x, int nz, int ny, int nx, float delta,
        int code, const int* offsets, const float* weights, const float* guide, int guided,
        float gamma, float kappa, float* out) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long n = (long long)nz * ny * nx;
    if (i >= n) return;
    int xi = i % nx; int y = (i / nx) % ny; int z = i / ((long long)nx * ny);
    float v = x[i]; float total = 0.0f;
    for (int k = 0; k < 13; ++k) {
        int zz = z + offsets[3 * k], yy = y + offsets[3 * k + 1], xx = xi + offsets[3 * k + 2];
        if (zz < 0 || zz >= nz || yy < 0 || yy >= ny || xx < 0 || xx >= nx) continue;
        long long j = ((long long)zz * ny + yy) * nx + xx;
        total += weights[k] * psi(v - x[j], delta, code)
               * guide_factor(guide, guided, n, i, j, offsets, k, gamma, kappa);
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


def _kernels():
    if not _gpu_cache:
        _gpu_cache.append(_gpu_kernels())
    return _gpu_cache[0]


def prepare_guide(field, like):
    """A guide field (3, nz, ny, nx), see :mod:`.guide`, as the penalty kernels of the device of
    ``like`` (an image) read it: a contiguous float32 array on the host or on the GPU."""
    if isinstance(like, np.ndarray):
        return np.ascontiguousarray(field, dtype=np.float32)
    import cupy as cp

    return cp.ascontiguousarray(cp.asarray(field, dtype=cp.float32))


def _gpu_guide_arguments(guide):
    import cupy as cp

    if guide is None:
        return cp.zeros(1, dtype=cp.float32), np.int32(0), np.float32(0.0), np.float32(0.0)
    return guide, np.int32(1), np.float32(GUIDE_STRENGTH), np.float32(GUIDE_CUT)


def penalty_value(x, delta: float, potential: str = "huber", guide=None) -> float:
    """R(x) for a (nz, ny, nx) float32 volume (NumPy or CuPy); ``guide``: a field from
    :func:`prepare_guide` that scales each pair's weight (None: unguided)."""
    code = _potential_code(potential)
    if isinstance(x, np.ndarray):
        if guide is not None:
            return float(_guided_value_cpu(x, guide, float(delta), code, GUIDE_STRENGTH, GUIDE_CUT,
                                           HALF_NEIGHBOURHOOD, NEIGHBOUR_WEIGHTS))
        return float(_value_cpu(x, float(delta), code, HALF_NEIGHBOURHOOD, NEIGHBOUR_WEIGHTS))
    import cupy as cp

    _, value_kernel, offsets, weights = _kernels()
    out = cp.empty(x.shape, dtype=cp.float32)
    n = x.size
    nz, ny, nx = x.shape
    value_kernel(((n + 255) // 256,), (256,), (x, np.int32(nz), np.int32(ny), np.int32(nx),
                 np.float32(delta), np.int32(code), offsets, weights, *_gpu_guide_arguments(guide), out))
    return float(out.sum(dtype=cp.float64))


def penalty_gradient(x, delta: float, potential: str = "huber", out=None, guide=None):
    """(gradient, curvature) of R at x: Σ_k ω ψ'(x_j − x_k) and 2 Σ_k ω ψ'(t)/t, per voxel,
    written into ``out`` (two float32 arrays shaped like x) when given; ``guide``: a field from
    :func:`prepare_guide` that scales each pair's ω (None: unguided)."""
    code = _potential_code(potential)
    if isinstance(x, np.ndarray):
        gradient, curvature = out if out is not None else (np.empty_like(x), np.empty_like(x))
        if guide is not None:
            _guided_gradient_cpu(x, guide, float(delta), code, GUIDE_STRENGTH, GUIDE_CUT, HALF_NEIGHBOURHOOD,
                                 NEIGHBOUR_WEIGHTS, gradient, curvature)
        else:
            _gradient_cpu(x, float(delta), code, gradient, curvature)
        return gradient, curvature
    import cupy as cp

    gradient_kernel, _, offsets, weights = _kernels()
    if out is not None:
        gradient, curvature = out
    else:
        gradient = cp.empty(x.shape, dtype=cp.float32)
        curvature = cp.empty(x.shape, dtype=cp.float32)
    n = x.size
    nz, ny, nx = x.shape
    gradient_kernel(((n + 255) // 256,), (256,), (x, np.int32(nz), np.int32(ny), np.int32(nx),
                    np.float32(delta), np.int32(code), offsets, weights, *_gpu_guide_arguments(guide),
                    gradient, curvature))
    return gradient, curvature
