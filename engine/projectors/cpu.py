"""CPU kernels of the matched voxel-driven projector pair (Numba, all cores).

Back-projection gathers, for every voxel, the bilinearly interpolated detector value where the
voxel's centre projects, weighted by the inverse square depth ratio. Forward projection is its
exact transpose: every voxel splats its value with the same four bilinear weights and the same
depth weight. Both share one clamping rule: the projection arrays carry a zero border (one pixel
before, two after, on both axes) and coordinates are clamped into it, so a voxel that projects
off the detector reads zeros / writes into the discarded border. That makes the loops
branch-free, which lets LLVM vectorize the gather loop over x.

Arrays: ``padded[p, 1 + row, 1 + column]`` float32 of shape (n, rows + 3, columns + 3);
``mats`` (n, 3, 4) float32 from :func:`engine.projectors.matrices.projection_matrices`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(inline="always", fastmath=True)
def _row_bases(m, iy, iz):
    """The y and z terms of the projective map, constant along a row of x."""
    return (m[0, 1] * iy + m[0, 2] * iz + m[0, 3], m[1, 1] * iy + m[1, 2] * iz + m[1, 3],
            m[2, 1] * iy + m[2, 2] * iz + m[2, 3])


@njit(inline="always", fastmath=True)
def _voxel_setup(m, ix, bases, rows_p, cols_p):
    """(ir, ic, fr, fc, weight) where voxel ix of a row lands on a padded projection: the one
    clamping rule and the one weight that both general kernels use, so they stay transposes."""
    a0, b0, d0 = bases
    inv = np.float32(1.0) / (m[2, 0] * ix + d0)
    c = (m[0, 0] * ix + a0) * inv + np.float32(1.0)
    r = (m[1, 0] * ix + b0) * inv + np.float32(1.0)
    c = min(max(c, np.float32(0.0)), np.float32(cols_p - 2))
    r = min(max(r, np.float32(0.0)), np.float32(rows_p - 2))
    ic = np.int32(c)
    ir = np.int32(r)
    return ir, ic, r - ir, c - ic, inv * inv


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def backproject_padded(padded: np.ndarray, mats: np.ndarray, vol: np.ndarray) -> None:
    """vol[z, y, x] += Σ_p bilinear(padded[p], col, row) / depth²  (in place)."""
    nz, ny, nx = vol.shape
    n_proj, rows_p, cols_p = padded.shape
    for iz in prange(nz):
        acc = np.empty(nx, dtype=np.float32)
        for iy in range(ny):
            acc[:] = 0.0
            for p in range(n_proj):
                img = padded[p]
                m = mats[p]
                bases = _row_bases(m, iy, iz)
                for ix in range(nx):
                    ir, ic, fr, fc, w = _voxel_setup(m, ix, bases, rows_p, cols_p)
                    top = img[ir, ic] + fc * (img[ir, ic + 1] - img[ir, ic])
                    bottom = img[ir + 1, ic] + fc * (img[ir + 1, ic + 1] - img[ir + 1, ic])
                    acc[ix] += (top + fr * (bottom - top)) * w
            for ix in range(nx):
                vol[iz, iy, ix] += acc[ix]


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def splat_padded(vol: np.ndarray, mats: np.ndarray, padded: np.ndarray) -> None:
    """padded[p] += transpose of :func:`backproject_padded` applied to vol (in place)."""
    nz, ny, nx = vol.shape
    n_proj, rows_p, cols_p = padded.shape
    one = np.float32(1.0)
    for p in prange(n_proj):
        img = padded[p]
        m = mats[p]
        for iz in range(nz):
            for iy in range(ny):
                bases = _row_bases(m, iy, iz)
                for ix in range(nx):
                    value = vol[iz, iy, ix]
                    if value == 0.0:
                        continue
                    ir, ic, fr, fc, w = _voxel_setup(m, ix, bases, rows_p, cols_p)
                    w *= value
                    img[ir, ic] += w * (one - fr) * (one - fc)
                    img[ir, ic + 1] += w * (one - fr) * fc
                    img[ir + 1, ic] += w * fr * (one - fc)
                    img[ir + 1, ic + 1] += w * fr * fc


# --- The fast path: detectors whose columns are vertical (no roll or pitch) -----------------
#
# Then a voxel's column and depth do not depend on z, and its row is linear in z. For each
# (projection, x, y) the kernel interpolates the detector column once (a contiguous, vectorized
# pass over the rows it needs, in a transposed copy ``padded_t[p, column, row]``), then walks
# down z with a two-tap lookup and no division. The z range whose rows fall inside the padded
# detector is solved for directly, so the inner loop needs no clamping. Tiles of TILE × TILE
# (x, y) columns keep the detector columns they touch in cache. The splat is the exact
# transpose, loop for loop.

TILE = 16


@njit(inline="always", fastmath=True)
def _column_setup(m, ix, iy, nz, cols_p, rows_p):
    """(ic, fc, weight, r0, step, lo, hi, rlo, rhi) of voxel column (ix, iy); hi <= lo: misses."""
    inv = np.float32(1.0) / (m[2, 0] * ix + m[2, 1] * iy + m[2, 3])
    c = (m[0, 0] * ix + m[0, 1] * iy + m[0, 3]) * inv + np.float32(1.0)
    r0 = np.float64((m[1, 0] * ix + m[1, 1] * iy + m[1, 3]) * inv) + 1.0
    step = np.float64(m[1, 2] * inv)
    top = np.float32(rows_p - 2)
    if not (c > 0.0 and c < cols_p - 2):
        return 0, np.float32(0.0), inv * inv, r0, step, 0, 0, 0, 0  # off the detector
    ic = np.int32(c)
    fc = c - ic
    # z range with 0 <= r0 + step·z <= top, solved with one reciprocal
    if step != 0.0:
        inv_step = 1.0 / step
        z_a = -r0 * inv_step
        z_b = (top - r0) * inv_step
        z_first = min(z_a, z_b)
        z_last = max(z_a, z_b)
        lo = max(0, int(z_first) + (1 if z_first > int(z_first) else 0)) if z_first > 0 else 0
        hi = min(nz, int(z_last) + 1) if z_last >= 0 else 0
    else:
        lo, hi = (0, nz) if (r0 >= 0.0 and r0 <= top) else (0, 0)
    if hi <= lo:
        return ic, fc, inv * inv, r0, step, 0, 0, 0, 0
    ra = r0 + step * lo
    rb = r0 + step * (hi - 1)
    rlo = max(0, int(min(ra, rb)) - 1)
    rhi = min(rows_p - 1, int(max(ra, rb)) + 2)
    return ic, fc, inv * inv, r0, step, lo, hi, rlo, rhi


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def backproject_columns(padded_t: np.ndarray, mats: np.ndarray, vol: np.ndarray) -> None:
    """Fast-path twin of :func:`backproject_padded`; ``padded_t`` is (n, cols + 3, rows + 3)."""
    nz, ny, nx = vol.shape
    n_proj, cols_p, rows_p = padded_t.shape
    tiles_x = (nx + TILE - 1) // TILE
    tiles_y = (ny + TILE - 1) // TILE
    for tile in prange(tiles_x * tiles_y):
        y0 = (tile // tiles_x) * TILE
        x0 = (tile % tiles_x) * TILE
        y1 = min(y0 + TILE, ny)
        x1 = min(x0 + TILE, nx)
        acc = np.zeros((y1 - y0, x1 - x0, nz), dtype=np.float32)
        column = np.empty(rows_p, dtype=np.float32)
        for p in range(n_proj):
            m = mats[p]
            for iy in range(y0, y1):
                for ix in range(x0, x1):
                    ic, fc, w, r0, step, lo, hi, rlo, rhi = _column_setup(
                        m, ix, iy, nz, cols_p, rows_p
                    )
                    if hi <= lo:
                        continue
                    left = padded_t[p, ic]
                    right = padded_t[p, ic + 1]
                    for k in range(rlo, rhi + 1):
                        column[k] = w * (left[k] + fc * (right[k] - left[k]))
                    a = acc[iy - y0, ix - x0]
                    r = r0 + step * lo
                    for iz in range(lo, hi):
                        ir = int(r)
                        fr = np.float32(r - ir)
                        c0 = column[ir]
                        a[iz] += c0 + fr * (column[ir + 1] - c0)
                        r += step
        for iz in range(nz):
            for iy in range(y0, y1):
                for ix in range(x0, x1):
                    vol[iz, iy, ix] += acc[iy - y0, ix - x0, iz]


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def splat_columns(vol: np.ndarray, mats: np.ndarray, padded_t: np.ndarray) -> None:
    """Exact transpose of :func:`backproject_columns` (accumulates into ``padded_t``)."""
    nz, ny, nx = vol.shape
    n_proj, cols_p, rows_p = padded_t.shape
    for p in prange(n_proj):
        m = mats[p]
        column = np.zeros(rows_p, dtype=np.float32)
        img = padded_t[p]
        for iy in range(ny):
            for ix in range(nx):
                ic, fc, w, r0, step, lo, hi, rlo, rhi = _column_setup(m, ix, iy, nz, cols_p, rows_p)
                if hi <= lo:
                    continue
                for k in range(rlo, rhi + 1):
                    column[k] = 0.0
                r = r0 + step * lo
                for iz in range(lo, hi):
                    value = vol[iz, iy, ix]
                    ir = int(r)
                    fr = np.float32(r - ir)
                    column[ir] += value - fr * value
                    column[ir + 1] += fr * value
                    r += step
                left = img[ic]
                right = img[ic + 1]
                for k in range(rlo, rhi + 1):
                    t = w * column[k]
                    left[k] += t - fc * t
                    right[k] += fc * t
